// The Node host against a scripted server on loopback, for what a real
// server will not do on demand: bytes injected before the STARTTLS
// handshake, a greeting that never comes, a connection dropped mid-answer.
// Runs without Dovecot.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConnectionClosedError, ProtocolViolationError, TimeoutError, open } from '../lib/index.js';
import { scripted } from './scripted.js';

const options = (port, extra = {}) => ({
  server: '127.0.0.1',
  port,
  username: 'u',
  password: 'secret-password',
  timeout: 2,
  ...extra,
});

describe('the Node host against a hostile server', () => {
  it('never upgrades when bytes follow the server’s OK to STARTTLS', async () => {
    // Sent with the OK, the component finds them in its own buffer. (The
    // host's own check — bytes that arrive after the component read the OK
    // — needs a server that speaks TLS after all: against a scripted one
    // the handshake fails either way, so it would be no test of that check.)
    const server = await scripted('* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n', (socket, line) => {
      const [tag, command] = line.split(' ');
      if (command?.toUpperCase() === 'STARTTLS') {
        // The injection of CVE-2011-0411: a response the client would take
        // as sent over TLS.
        socket.write(`${tag} OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n`);
      } else if (command?.toUpperCase() === 'CAPABILITY') {
        socket.write(`* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n${tag} OK done\r\n`);
      } else {
        socket.write(`${tag} BAD unexpected\r\n`);
      }
    });
    try {
      await assert.rejects(open(options(server.port, { secure: 'starttls' })), (e) => {
        assert.ok(e instanceof ProtocolViolationError, `${e}`);
        assert.match(e.message, /injection/);
        assert.ok(!e.message.includes('secret-password'));
        return true;
      });
    } finally {
      server.close();
    }
  });

  it('gives up on a greeting that never comes, within the timeout', async () => {
    const server = await scripted(null, () => {});
    try {
      const started = Date.now();
      await assert.rejects(open(options(server.port, { secure: 'none', timeout: 1 })), TimeoutError);
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 5000, `took ${took} ms`);
    } finally {
      server.close();
    }
  });

  it('says the connection closed when the server drops it mid-answer', async () => {
    const server = await scripted('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n', (socket, line) => {
      const [tag, command] = line.split(' ');
      if (command?.toUpperCase() === 'LOGIN' || command?.toUpperCase() === 'AUTHENTICATE') {
        socket.end('* CAPABILITY IMAP4rev1\r\n');
      } else {
        socket.write(`${tag} OK done\r\n`);
      }
    });
    try {
      // Said at once, not after the timeout.
      const started = Date.now();
      await assert.rejects(open(options(server.port, { secure: 'none', timeout: 10 })), ConnectionClosedError);
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    } finally {
      server.close();
    }
  });
});
