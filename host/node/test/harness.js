// The Node host's test harness: the private Dovecot that
// `cfimap-testbed demo --accounts N` started (CFIMAP_DEMO_* variables),
// accounts claimed one test at a time across the test processes, both
// CLIs run as a user runs them, and bulk mail appended over IMAP.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Node CLI. */
export const NODE_CLI = fileURLToPath(new URL('../bin/cfimap.mjs', import.meta.url));

const env = process.env;

/**
 * Why the suite cannot run here, or null. With CFIMAP_TEST_REQUIRE_ALL=1
 * (CI) a missing server is a failure, never a skip.
 */
export const unavailable = (() => {
  const missing = ['CFIMAP_DEMO_SERVER', 'CFIMAP_DEMO_PORT', 'CFIMAP_DEMO_CAFILE', 'CFIMAP_DEMO_ACCOUNTS', 'CFIMAP_BIN'].filter(
    (k) => !env[k],
  );
  if (missing.length === 0) return null;
  const why = `no private Dovecot (${missing.join(', ')} unset): run \`make node-test\``;
  if (env.CFIMAP_TEST_REQUIRE_ALL === '1') throw new Error(why);
  return why;
})();

/** The server: host, ports and CA. */
export const server = unavailable
  ? null
  : {
      host: env.CFIMAP_DEMO_SERVER,
      port: Number(env.CFIMAP_DEMO_PORT),
      tlsPort: Number(env.CFIMAP_DEMO_TLS_PORT),
      cafile: env.CFIMAP_DEMO_CAFILE,
      rustCli: env.CFIMAP_BIN,
    };

/**
 * An account of its own for one test, seeded with the demo mail (INBOX: 4
 * messages, Archive/2024: 2, Entwürfe: 1, Projekte/日本語: 2). Claimed by
 * creating a file exclusively, so test files running in parallel never
 * share one.
 */
export function claimAccount() {
  const accounts = env.CFIMAP_DEMO_ACCOUNTS.split(/\s+/).filter(Boolean);
  // Inside the testbed's own directory: gone with the server.
  const dir = path.join(path.dirname(env.CFIMAP_DEMO_CAFILE), 'node-claims');
  fs.mkdirSync(dir, { recursive: true });
  for (const entry of accounts) {
    const colon = entry.indexOf(':');
    const username = entry.slice(0, colon);
    try {
      fs.writeFileSync(path.join(dir, username), String(process.pid), { flag: 'wx' });
    } catch (e) {
      if (e.code === 'EEXIST') continue;
      throw e;
    }
    return { username, password: entry.slice(colon + 1) };
  }
  throw new Error(`all ${accounts.length} accounts are taken: raise --accounts in the Makefile's node-test`);
}

/** The connection flags for `account` over STARTTLS, verified against the CA. */
export function connectionArgs(account) {
  return [
    '--server',
    server.host,
    '--port',
    String(server.port),
    '--username',
    account.username,
    '--cafile',
    server.cafile,
  ];
}

/** API options for `account` over STARTTLS. */
export function openOptions(account, extra = {}) {
  return {
    server: server.host,
    port: server.port,
    username: account.username,
    password: account.password,
    cafile: server.cafile,
    ...extra,
  };
}

/**
 * Runs a CLI (`which`: 'node' or 'rust') with `args`, the password in
 * CFIMAP_PASSWORD; resolves to `{status, stdout, stderr}`.
 */
export function runCli(which, args, { password, input, cwd } = {}) {
  const [command, argv] =
    which === 'node' ? [process.execPath, [NODE_CLI, ...args]] : [server.rustCli, args];
  const childEnv = { PATH: env.PATH, HOME: env.HOME ?? '/root' };
  if (password !== undefined) childEnv.CFIMAP_PASSWORD = password;
  // Neither CLI may find a profile of the machine's.
  childEnv.CFIMAP_CONFIG = '/nonexistent/cfimap-config.toml';
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env: childEnv, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    // A CLI that exits before reading its stdin is no failure of the harness.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/**
 * Appends `count` small messages to `folder` of `account` (plain IMAP over
 * loopback, LITERAL+ pipelined): mail for a long read.
 */
export function appendMessages(account, folder, count) {
  const messages = [];
  for (let i = 1; i <= count; i++) {
    messages.push(
      `From: Bulk Sender <bulk@example.org>\r\nTo: ${account.username}@example.org\r\n` +
        `Subject: Bulk message ${i}\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n` +
        `Message-ID: <bulk-${i}@cfimap.test>\r\n\r\nBody of message ${i}.\r\n`,
    );
  }
  return appendRaw(account, folder, messages.map((m) => Buffer.from(m, 'latin1')));
}

/** Appends `messages` (Buffers, as they are) to `folder` of `account`. */
export function appendRaw(account, folder, messages) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, server.host);
    let received = '';
    let sent = false;
    const quote = (s) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      received += chunk;
      if (!sent && received.includes('\r\n')) {
        sent = true;
        socket.write(`L LOGIN ${quote(account.username)} ${quote(account.password)}\r\n`);
        messages.forEach((message, i) => {
          socket.write(`A${i + 1} APPEND ${quote(folder)} {${message.length}+}\r\n`);
          socket.write(message);
          socket.write('\r\n');
        });
        socket.write('Z LOGOUT\r\n');
      }
      const bad = /^(L|A[0-9]+) (NO|BAD) .*$/m.exec(received);
      if (bad) {
        socket.destroy();
        reject(new Error(`APPEND failed: ${bad[0]}`));
      }
      if (/^Z OK/m.test(received)) {
        socket.end();
        resolve();
      }
    });
  });
}

/** A fresh directory under the system's temporary directory. */
export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
