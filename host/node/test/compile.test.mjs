// The component is compiled once per process and shared by its sessions
// (lib/index.js, coreModules): counted here by wrapping the process's
// WebAssembly.compile, against a scripted server on loopback that lets
// anyone log in. A file of its own, so that no other test compiled first.
// Runs without Dovecot.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { ComponentFailedError, open } from '../lib/index.js';
import { scripted } from './scripted.js';

const coreModules = readdirSync(new URL('../gen/', import.meta.url)).filter((n) => n.endsWith('.wasm'));

/** Calls of WebAssembly.compile; `failNext` makes the next one reject. */
const compiles = { count: 0, failNext: false };
const compile = WebAssembly.compile;
WebAssembly.compile = (bytes) => {
  compiles.count += 1;
  if (compiles.failNext) {
    compiles.failNext = false;
    return Promise.reject(new Error('no compiling today'));
  }
  return compile(bytes);
};

/** Promise rejections nobody handled while the tests ran. */
const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

/**
 * Lets anyone log in, answers CAPABILITY and NAMESPACE, every other command
 * with a bare OK, and ends the session on LOGOUT.
 */
function lenient(socket, line) {
  const [tag, command] = line.split(' ');
  switch (command?.toUpperCase()) {
    case 'LOGOUT':
      socket.end(`* BYE bye\r\n${tag} OK done\r\n`);
      break;
    case 'CAPABILITY':
      socket.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
      break;
    case 'NAMESPACE':
      socket.write(`* NAMESPACE (("" "/")) NIL NIL\r\n${tag} OK done\r\n`);
      break;
    default:
      socket.write(`${tag} OK done\r\n`);
  }
}

describe('the component’s compile', () => {
  let server;
  before(async () => {
    server = await scripted('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n', lenient);
  });
  after(() => server.close());
  const options = () => ({
    server: '127.0.0.1',
    port: server.port,
    username: 'u',
    password: 'p',
    secure: 'none',
    timeout: 5,
  });

  it('fails an open as component-failed when it fails, and is not kept', { timeout: 30_000 }, async () => {
    compiles.failNext = true;
    await assert.rejects(open(options()), (e) => {
      assert.ok(e instanceof ComponentFailedError, `${e}`);
      assert.match(e.message, /cannot compile the component/);
      return true;
    });
    // The failed compile's other modules are still read and compiled: wait
    // until each was asked for, so that the next test counts its own.
    while (compiles.count < coreModules.length) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });

  it('happens once for sessions opened side by side, and not again for those after', async () => {
    compiles.count = 0;
    const sessions = await Promise.all([1, 2, 3].map(() => open(options())));
    assert.equal(compiles.count, coreModules.length, 'one compile of each core module for three sessions');
    const later = await open(options());
    assert.equal(compiles.count, coreModules.length, 'a later session compiles nothing');
    // Each stands alone: closing one leaves the others working.
    await sessions[0].close();
    for (const session of [...sessions.slice(1), later]) {
      assert.deepEqual(await session.listAllFolders(), []);
      await session.close();
    }
  });

  it('leaves no promise rejection unhandled', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
  });
});
