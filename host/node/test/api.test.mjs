// The Node host's API on the private Dovecot: the three ways to secure a
// connection, the actions, rows a batch at a time, attachments under the
// policy, errors as classes, and the caller's event loop kept free.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import {
  AuthenticationFailedError,
  BusyError,
  CfimapError,
  DeniedByPolicyError,
  FolderExistsError,
  FolderNotFoundError,
  InvalidArgumentError,
  ProtectedFolderError,
  SessionClosedError,
  TlsError,
  open,
} from '../lib/index.js';
import { appendMessages, appendRaw, claimAccount, openOptions, server, tempDir, unavailable } from './harness.js';

describe('the Node host', { skip: unavailable ?? false }, () => {
  it('opens over implicit TLS, STARTTLS and (on loopback) plaintext', async () => {
    const account = claimAccount();
    const modes = [
      { secure: 'tls', port: server.tlsPort },
      { secure: 'starttls', port: server.port },
      { secure: undefined, port: server.port },
      { secure: 'none', port: server.port },
    ];
    for (const mode of modes) {
      const session = await open(openOptions(account, mode));
      const rows = await session.getHeaderOnly({ maxrows: 1 });
      assert.equal(rows[0].subject, 'Welcome to cfimap', `secure=${mode.secure}`);
      await session.close();
    }
  });

  it('opens sessions side by side, and each stands alone', async () => {
    const account = claimAccount();
    // Opened at once, each on its own threads (the one compile of the
    // component is test/compile.test.mjs's).
    const sessions = await Promise.all([1, 2, 3].map(() => open(openOptions(account))));
    await sessions[0].close();
    await assert.rejects(sessions[0].getHeaderOnly({ maxrows: 1 }), SessionClosedError);
    for (const session of sessions.slice(1)) {
      const rows = await session.getHeaderOnly({ maxrows: 1 });
      assert.equal(rows[0].subject, 'Welcome to cfimap');
      await session.close();
    }
    // And a session opened after them, on the modules compiled before.
    const later = await open(openOptions(account));
    assert.equal((await later.getHeaderOnly({ maxrows: 1 }))[0].subject, 'Welcome to cfimap');
    await later.close();
  });

  it('verifies the certificate: without the CA, TLS fails', async () => {
    const account = claimAccount();
    for (const mode of [
      { secure: 'tls', port: server.tlsPort },
      { secure: 'starttls', port: server.port },
    ]) {
      await assert.rejects(open(openOptions(account, { ...mode, cafile: undefined })), (e) => {
        assert.ok(e instanceof TlsError, `${mode.secure}: ${e}`);
        assert.equal(e.case, 'tls');
        return true;
      });
    }
  });

  it('says which error it was, as a class and as the WIT case', async () => {
    const account = claimAccount();
    await assert.rejects(open(openOptions(account, { password: 'wrong-password' })), (e) => {
      assert.ok(e instanceof AuthenticationFailedError);
      assert.ok(e instanceof CfimapError);
      assert.ok(!e.message.includes('wrong-password'), 'the password is never in an error');
      return true;
    });
    const session = await open(openOptions(account));
    await assert.rejects(session.getHeaderOnly({ folder: 'Nope' }), FolderNotFoundError);
    await assert.rejects(session.createFolder({ folder: 'Archive' }), FolderExistsError);
    await assert.rejects(session.renameFolder({ folder: 'INBOX', newfolder: 'x' }), ProtectedFolderError);
    await assert.rejects(session.getHeaderOnly({ uid: 'one' }), (e) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.equal(e.attribute, 'uid');
      return true;
    });
    await assert.rejects(session.delete({ folder: 'INBOX' }), InvalidArgumentError, 'delete needs a selection');
    // The session survived every refusal above.
    assert.equal((await session.listAllFolders()).length > 0, true);
    await session.close();
    await assert.rejects(session.getHeaderOnly(), SessionClosedError);
  });

  it('runs the changing actions: nothing but what was asked changes', async () => {
    const account = claimAccount();
    const session = await open(openOptions(account));
    const created = await session.createFolder({ folder: 'Node/Moved' });
    assert.deepEqual(created.folders, ['Node', 'Node/Moved']);
    const moved = await session.moveMail({ uid: [2, 3], newfolder: 'Node/Moved' });
    assert.deepEqual(moved.uids, [2, 3]);
    assert.deepEqual(moved.newUids, [
      { uid: 2, newUid: 1 },
      { uid: 3, newUid: 2 },
    ]);
    const inbox = await session.getHeaderOnly();
    assert.deepEqual(
      inbox.map((r) => r.uid),
      [1, 4],
    );
    const read = await session.markRead({ folder: 'Node/Moved', all: true });
    assert.equal(read.affected, 2);
    const deleted = await session.delete({ folder: 'Node/Moved', uid: '1' });
    assert.deepEqual(deleted.uids, [1]);
    const left = await session.getHeaderOnly({ folder: 'Node/Moved' });
    assert.deepEqual(
      left.map((r) => [r.uid, r.subject, r.seen]),
      [[2, 'Quarterly report', true]],
    );
    await session.renameFolder({ folder: 'Node', newfolder: 'Nodes' });
    const removed = await session.deleteFolder({ folder: 'Nodes', recurse: true });
    assert.deepEqual(removed.folders, ['Nodes/Moved', 'Nodes']);
    await session.close();
  });

  it('hands rows out a batch at a time; leaving early frees the session', async () => {
    const account = claimAccount();
    await appendMessages(account, 'INBOX', 300);
    const session = await open(openOptions(account));
    const uids = [];
    for await (const row of session.rows('getHeaderOnly', {}, { batch: 7 })) uids.push(row.uid);
    assert.equal(uids.length, 304);
    assert.deepEqual(uids.slice(0, 5), [1, 2, 3, 4, 5]);

    let seen = 0;
    for await (const row of session.rows('getHeaderOnly', { startrow: 5 }, { batch: 10 })) {
      assert.equal(row.subject, `Bulk message ${++seen}`);
      if (seen === 25) break;
    }
    // The same rows as the tag's JSON lines, serialised by the component.
    const lines = [];
    for await (const bytes of session.ndjson('getHeaderOnly', { uid: '1:3,300' }, { batch: 2 })) {
      const text = new TextDecoder().decode(bytes);
      assert.ok(text.endsWith('\n'), 'every line ends');
      lines.push(...text.slice(0, -1).split('\n').map((l) => JSON.parse(l)));
    }
    assert.deepEqual(
      lines.map((r) => [r.UID, r.SUBJECT, Object.keys(r).length]),
      [
        [1, 'Welcome to cfimap', 22],
        [2, 'Grüße aus Köln – Projektstand ✓', 22],
        [3, 'Quarterly report', 22],
        [300, 'Bulk message 296', 22],
      ],
    );

    // The abandoned read is over: the session takes the next action.
    const folders = await session.listAllFolders();
    assert.ok(folders.some((f) => f.fullname === 'INBOX' && f.totalmessages === 304));
    await session.close();
  });

  it('refuses another action while a reader is open (busy), then carries on', async () => {
    const account = claimAccount();
    const session = await open(openOptions(account));
    const rows = session.rows('getHeaderOnly', {}, { batch: 1 });
    assert.equal((await rows.next()).value.uid, 1);
    await assert.rejects(session.listAllFolders(), BusyError);
    await rows.return();
    assert.equal((await session.getHeaderOnly({ uid: 4 }))[0].uid, 4);
    await session.close();
  });

  it('writes attachments only below the directories it was given', async () => {
    const account = claimAccount();
    const root = tempDir('cfimap-node-files-');
    const outside = tempDir('cfimap-node-outside-');
    fs.symlinkSync(outside, path.join(root, 'link-out'));
    const session = await open(openOptions(account, { attachments: { within: [root] } }));

    const [row] = await session.getAll({ uid: 3, attachmentpath: path.join(root, 'q4') });
    assert.deepEqual(row.attachments, ['report-Q4.pdf']);
    assert.deepEqual(row.attachmentfiles, [path.join(root, 'q4', 'report-Q4.pdf')]);
    assert.match(fs.readFileSync(row.attachmentfiles[0], 'latin1'), /^%PDF-1\.4/);
    // Again, unique names asked for: a second file beside the first.
    const [again] = await session.getAll({ uid: 3, attachmentpath: path.join(root, 'q4'), generateuniquefilenames: true });
    assert.deepEqual(again.attachmentfiles, [path.join(root, 'q4', 'report-Q41.pdf')]);
    // No temporary file is left behind.
    assert.deepEqual(fs.readdirSync(path.join(root, 'q4')).sort(), ['report-Q4.pdf', 'report-Q41.pdf']);

    for (const denied of [outside, path.join(root, '..', path.basename(outside)), path.join(root, 'link-out')]) {
      await assert.rejects(session.getAll({ uid: 3, attachmentpath: denied }), DeniedByPolicyError, denied);
    }
    assert.deepEqual(fs.readdirSync(outside), [], 'nothing was written outside');
    await session.close();
  });

  it('saves a large attachment written as it arrives, and reads a large base64 text whole', async () => {
    const account = claimAccount();
    const root = tempDir('cfimap-node-large-');
    const data = Buffer.from(Uint8Array.from({ length: 1500000 }, (_, i) => (i * 31 + (i >> 10)) & 255));
    const lines = (bytes) => bytes.toString('base64').replace(/.{1,76}/g, '$&\r\n');
    const head = (subject, type) =>
      `From: big@example.org\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: ${type}\r\n`;
    const attached =
      head('large attachment', 'multipart/mixed; boundary="b"') +
      '\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n--b\r\n' +
      'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n' +
      'Content-Disposition: attachment; filename="big.bin"\r\n\r\n' +
      lines(data) +
      '--b--\r\n';
    const text = Array.from({ length: 40000 }, (_, i) => `line ${i} of a text sent in base64\r\n`).join('');
    const textMessage =
      head('large text', 'text/plain; charset=us-ascii') +
      'Content-Transfer-Encoding: base64\r\n\r\n' +
      lines(Buffer.from(text));
    const session = await open(openOptions(account, { attachments: { within: [root] } }));
    await session.createFolder({ folder: 'Large' });
    await appendRaw(account, 'Large', [Buffer.from(attached, 'latin1'), Buffer.from(textMessage, 'latin1')]);
    const rows = await session.getAll({ folder: 'Large', attachmentpath: root, generateuniquefilenames: true });
    assert.equal(rows.length, 2);
    const big = rows.find((r) => r.subject === 'large attachment');
    assert.deepEqual(big.attachmentfiles, [path.join(root, 'big.bin')]);
    assert.ok(fs.readFileSync(big.attachmentfiles[0]).equals(data), 'the file is the attachment');
    const whole = rows.find((r) => r.subject === 'large text');
    assert.equal(whole.textbody, text);
    assert.deepEqual(whole.attachments, []);
    // Again: the file started as the message arrived takes the next name.
    const again = await session.getAll({ folder: 'Large', attachmentpath: root, generateuniquefilenames: true });
    const second = again.find((r) => r.subject === 'large attachment');
    assert.deepEqual(second.attachmentfiles, [path.join(root, 'big1.bin')]);
    assert.ok(fs.readFileSync(second.attachmentfiles[0]).equals(data));
    assert.deepEqual(fs.readdirSync(root).sort(), ['big.bin', 'big1.bin'], 'nothing else is left');
    await session.close();
  });

  it('never blocks the caller’s event loop during a long read', async () => {
    const account = claimAccount();
    await appendMessages(account, 'INBOX', 2000);
    const session = await open(openOptions(account));
    let last = performance.now();
    let worst = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
      ticks++;
    }, 2);
    const rows = await session.getAll({});
    const uids = [];
    for await (const row of session.rows('getHeaderOnly', {})) uids.push(row.uid);
    clearInterval(timer);
    await session.close();
    assert.equal(rows.length, 2004);
    assert.equal(uids.length, 2004);
    assert.ok(ticks > 20, `the timer ran ${ticks} times`);
    // The loop only ever handles messages from the component's thread: its
    // longest gap is the timer's own period plus scheduling noise, never
    // the length of the read.
    assert.ok(worst < 50, `the event loop stalled for ${worst.toFixed(1)} ms`);
    console.log(`# longest event-loop gap during the reads: ${worst.toFixed(1)} ms (${ticks} ticks)`);
  });
});
