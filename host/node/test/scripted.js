// A scripted IMAP server on loopback for the tests that need no Dovecot:
// what a real server will not do on demand.

import net from 'node:net';

/**
 * A server on a free port: `greeting` (if any) on each connection, then
 * `script(socket, line)` answers each line the client sends. Resolves to
 * `{port, close}`.
 */
export function scripted(greeting, script) {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      if (greeting) socket.write(greeting);
      let pending = '';
      socket.on('data', (chunk) => {
        pending += chunk.toString('latin1');
        let end;
        while ((end = pending.indexOf('\r\n')) >= 0) {
          const line = pending.slice(0, end);
          pending = pending.slice(end + 2);
          script(socket, line);
        }
      });
      socket.on('error', () => {});
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: server.address().port, close: () => server.close() }),
    );
  });
}
