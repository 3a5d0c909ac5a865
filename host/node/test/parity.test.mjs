// The Node CLI against the Rust CLI on the private Dovecot: the same rows
// and reports, byte for byte (reads on one account), or after normalising
// the one column two accounts cannot share (RXDDATE, the time a message was
// appended) for changes run on two accounts seeded alike; and the same exit
// statuses for the same bad inputs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { claimAccount, connectionArgs, runCli, server, tempDir, unavailable } from './harness.js';

/** Both CLIs with `args` on `account`, one after the other. */
async function both(account, args, options = {}) {
  const full = [...args, ...connectionArgs(account)];
  const node = await runCli('node', full, { password: account.password, ...options });
  const rust = await runCli('rust', full, { password: account.password, ...options });
  return { node, rust };
}

/**
 * `\\Marked` and `\\Unmarked` (RFC 3348) are the server's guess at which
 * folders got mail lately: Dovecot adds them once a folder's state is
 * cached, so two listings a moment apart may differ in them alone.
 */
function unmarked(stdout) {
  return stdout.replace(/,"\\\\(Un)?[Mm]arked"/g, '');
}

/** Asserts the two runs printed the same and ended alike. */
function assertSame({ node, rust }, what) {
  assert.equal(node.status, rust.status, `${what}: exit status (node stderr: ${node.stderr}; rust stderr: ${rust.stderr})`);
  assert.equal(unmarked(node.stdout), unmarked(rust.stdout), `${what}: output`);
  assert.equal(node.stderr === '', rust.stderr === '', `${what}: one of them explained a failure, the other did not`);
}

/** RXDDATE, the arrival time, differs between two accounts seeded apart. */
function normalised(stdout) {
  return stdout.replace(/"RXDDATE":"[^"]*"/g, '"RXDDATE":"…"');
}

describe('the Node CLI prints what the Rust CLI prints', { skip: unavailable ?? false }, () => {
  const reads = [
    ['getHeaderOnly'],
    ['getHeaderOnly', '--format', 'ndjson'],
    ['getHeaderOnly', '--maxrows', '2', '--startrow', '2'],
    ['getHeaderOnly', '--uid', '4,1:2'],
    ['getHeaderOnly', '--messagenumber', '3-4'],
    ['getHeaderOnly', '--newest', '--maxrows', '3'],
    ['getHeaderOnly', '--filter', 'flag=unseen', '--exclude', 'subject=Lunch'],
    ['getHeaderOnly', '--filter', 'timeSent=2024-01-09..2024-01-10'],
    ['getHeaderOnly', '--folder', 'Projekte/日本語'],
    ['getHeaderOnly', '--folder', 'Entwürfe', '--format', 'ndjson'],
    ['getAll'],
    ['getAll', '--uid', '4', '--format', 'ndjson'],
    ['listAllFolders'],
    ['listAllFolders', '--recurse'],
    ['listAllFolders', '--recurse', '--format', 'ndjson'],
    ['listAllFolders', '--folder', 'Archive'],
    ['open'],
  ];
  it('for every read, on one account', async () => {
    const account = claimAccount();
    for (const args of reads) {
      const runs = await both(account, args);
      assert.equal(runs.node.status, 0, `${args.join(' ')}: ${runs.node.stderr}`);
      assertSame(runs, args.join(' '));
    }
    // close: each run is a connection of its own, so there is nothing to
    // close, and it takes no connection settings.
    const close = { node: await runCli('node', ['close']), rust: await runCli('rust', ['close']) };
    assert.equal(close.node.status, 0, close.node.stderr);
    assertSame(close, 'close');
  });

  it('for getAll with attachments saved (the same files, the same paths)', async () => {
    const account = claimAccount();
    const dir = tempDir('cfimap-parity-files-');
    const args = ['getAll', '--uid', '3', '--attachmentpath', dir];
    const node = await runCli('node', [...args, ...connectionArgs(account)], { password: account.password });
    const nodeFile = fs.readFileSync(path.join(dir, 'report-Q4.pdf'));
    fs.rmSync(path.join(dir, 'report-Q4.pdf'));
    const rust = await runCli('rust', [...args, ...connectionArgs(account)], { password: account.password });
    assertSame({ node, rust }, 'getAll --attachmentpath');
    assert.deepEqual(JSON.parse(node.stdout)[0].ATTACHMENTFILES, [path.join(dir, 'report-Q4.pdf')]);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'report-Q4.pdf')), nodeFile);
    assert.match(nodeFile.toString('latin1'), /^%PDF-1\.4/);
  });

  it('for a sequence of changes, on two accounts seeded alike', async () => {
    const nodeAccount = claimAccount();
    const rustAccount = claimAccount();
    const steps = [
      ['createFolder', '--folder', 'Reports/2024'],
      ['moveMail', '--uid', '2,3', '--newfolder', 'Reports/2024'],
      ['markRead', '--folder', 'Reports/2024', '--all'],
      ['markUnread', '--uid', '1'],
      ['delete', '--folder', 'Reports/2024', '--uid', '1'],
      ['renameFolder', '--folder', 'Reports', '--newfolder', 'Old Reports'],
      ['getHeaderOnly', '--folder', 'Old Reports/2024'],
      ['listAllFolders', '--recurse'],
      ['deleteFolder', '--folder', 'Old Reports', '--recurse'],
      ['getHeaderOnly'],
    ];
    for (const args of steps) {
      const node = await runCli('node', [...args, ...connectionArgs(nodeAccount)], { password: nodeAccount.password });
      const rust = await runCli('rust', [...args, ...connectionArgs(rustAccount)], { password: rustAccount.password });
      const what = args.join(' ');
      assert.equal(node.status, 0, `${what}: ${node.stderr}`);
      assert.equal(rust.status, 0, `${what}: ${rust.stderr}`);
      assert.equal(unmarked(normalised(node.stdout)), unmarked(normalised(rust.stdout)), what);
    }
  });

  it('with the same exit status for the same bad input', async () => {
    const account = claimAccount();
    const cases = [
      // Usage (2), found before anything is sent.
      [2, ['frobnicate']],
      [2, ['getHeaderOnly', '--newfolder', 'x']],
      [2, ['getHeaderOnly', '--uid', 'one']],
      [2, ['getHeaderOnly', '--all', '--uid', '1']],
      [2, ['getHeaderOnly', '--startrow', '0']],
      [2, ['getHeaderOnly', '--filter', 'colour=red']],
      [2, ['getHeaderOnly', '--filter', 'timeSent=last week']],
      [2, ['getHeaderOnly', '--secure', 'maybe']],
      [2, ['getHeaderOnly', '--timeout', '0']],
      [2, ['getHeaderOnly', '--folder', 'a\nb']],
      [2, ['delete', '--folder', 'INBOX']],
      [2, ['moveMail', '--uid', '1']],
      [2, ['createFolder']],
      [2, ['renameFolder', '--folder', 'Archive']],
      // Refused by the server or the component's rules (5).
      [5, ['getHeaderOnly', '--folder', 'Nope']],
      [5, ['delete', '--folder', 'Nope', '--uid', '1']],
      [5, ['createFolder', '--folder', 'Archive']],
      [5, ['deleteFolder', '--folder', 'Archive']],
      [5, ['deleteFolder', '--folder', 'Nope']],
      [5, ['renameFolder', '--folder', 'INBOX', '--newfolder', 'Elsewhere']],
      [5, ['renameFolder', '--folder', 'Archive', '--newfolder', 'Entwürfe']],
      [5, ['moveMail', '--uid', '1', '--newfolder', 'Nope']],
    ];
    for (const [expected, args] of cases) {
      const runs = await both(account, args);
      const what = args.join(' ');
      assert.equal(runs.rust.status, expected, `rust ${what}: ${runs.rust.stderr}`);
      assert.equal(runs.node.status, expected, `node ${what}: ${runs.node.stderr}`);
      assert.equal(runs.node.stdout, '', `node ${what} printed a result`);
      assert.match(runs.node.stderr, /^cfimap: \S/, `node ${what} says why`);
    }
    // The mailbox is as it was: nothing above changed anything.
    const after = await both(account, ['listAllFolders', '--recurse']);
    assertSame(after, 'listAllFolders after the failures');
    assert.deepEqual(
      JSON.parse(after.node.stdout).map((f) => `${f.FULLNAME}:${f.TOTALMESSAGES}`).filter((f) => !/^(Drafts|Junk|Sent|Trash)/.test(f)),
      ['INBOX:4', 'Archive:0', 'Archive/2024:2', 'Entwürfe:1', 'Projekte:0', 'Projekte/日本語:2'],
    );
  });

  it('with the same exit status for connection mistakes', async () => {
    const account = claimAccount();
    const base = ['listAllFolders', '--server', server.host, '--username', account.username];
    const cases = [
      // Authentication failed (4).
      [4, [...base, '--port', String(server.port), '--cafile', server.cafile], 'not-the-password'],
      // Network, TLS, timeouts (3): a closed port, TLS without the CA,
      // implicit TLS spoken to the STARTTLS port.
      [3, [...base, '--port', '1', '--cafile', server.cafile], account.password],
      [3, [...base, '--port', String(server.tlsPort), '--secure', 'yes'], account.password],
      [3, [...base, '--port', String(server.port), '--secure', 'yes', '--cafile', server.cafile, '--timeout', '3'], account.password],
      // A host:port where the host belongs (2).
      [2, ['listAllFolders', '--server', `${server.host}:${server.port}`, '--username', account.username], account.password],
    ];
    for (const [expected, args, password] of cases) {
      const node = await runCli('node', args, { password });
      const rust = await runCli('rust', args, { password });
      const what = args.join(' ');
      assert.equal(rust.status, expected, `rust ${what}: ${rust.stderr}`);
      assert.equal(node.status, expected, `node ${what}: ${node.stderr}`);
      assert.ok(!node.stderr.includes(password) || password.length < 4, 'the password is never printed');
    }
  });

  it('reads the password from stdin with --password-stdin', async () => {
    const account = claimAccount();
    const args = ['open', '--password-stdin', ...connectionArgs(account)];
    const node = await runCli('node', args, { input: `${account.password}\n` });
    const rust = await runCli('rust', args, { input: `${account.password}\n` });
    assertSame({ node, rust }, 'open --password-stdin');
    assert.equal(node.status, 0, node.stderr);
  });
});
