// The Node host's own logic, without a server: attribute lists, filters,
// the command line, and the attachment sink's rules.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import { InvalidArgumentError, numberList, parseFilter } from '../lib/index.js';
import { exitOf, parseArgs } from '../lib/cli.js';
import { AttachmentSink } from '../lib/sink.js';
import { ENDED, FAILED, RingReader, RingWriter, createRing } from '../lib/ring.js';
import { Worker } from 'node:worker_threads';

/** A fresh directory under the system's temporary directory. */
const tempDir = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

const dispose = Symbol.dispose || Symbol.for('dispose');

describe('numberList', () => {
  it('reads numbers and ranges as the Rust CLI does', () => {
    assert.deepEqual(numberList('uid', '1,3:5 7-8\n10'), [1, 3, 4, 5, 7, 8, 10]);
    assert.deepEqual(numberList('uid', '5:3'), [3, 4, 5]);
    assert.deepEqual(numberList('uid', [2, 1]), [2, 1]);
    assert.deepEqual(numberList('uid', ''), []);
    // Past any UID: matches nothing, or runs to the largest UID.
    assert.deepEqual(numberList('uid', '4294967296'), []);
    assert.deepEqual(numberList('uid', '4294967294:99999999999'), [4294967294, 4294967295]);
  });

  it('names the attribute and the entry when it is wrong', () => {
    assert.throws(() => numberList('messagenumber', '1,x'), (e) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.equal(e.attribute, 'messagenumber');
      assert.match(e.message, /"x" is not a number/);
      return true;
    });
    assert.throws(() => numberList('uid', '1:2000000'), /longer than 1000000 numbers/);
  });
});

describe('parseFilter', () => {
  it('takes the tag’s names in any case', () => {
    assert.deepEqual(parseFilter('Subject=Quarterly report'), {
      criterion: { tag: 'subject', val: 'Quarterly report' },
      negated: false,
    });
    assert.deepEqual(parseFilter('timeReceived=2024-01-01..', true), {
      criterion: { tag: 'time-received', val: { from: { year: 2024, month: 1, day: 1 }, to: undefined } },
      negated: true,
    });
    assert.deepEqual(parseFilter('uid=1:100,200').criterion.val, [
      { first: 1, last: 100 },
      { first: 200, last: 200 },
    ]);
    assert.deepEqual(parseFilter('header=X-Mailer:').criterion.val, { name: 'X-Mailer', value: '' });
  });

  it('says which part is wrong', () => {
    assert.throws(() => parseFilter('colour=red'), /unknown filter "colour"/);
    assert.throws(() => parseFilter('flag=read'), /unknown flag "read"/);
    assert.throws(() => parseFilter('timeSent=yesterday'), /is not a day/);
    assert.throws(() => parseFilter('larger=big'), /not a number of bytes/);
    assert.throws(() => parseFilter('subject'), /expected NAME=VALUE/);
  });
});

describe('the command line', () => {
  it('takes action and flag names in any case, and booleans as the Rust CLI does', () => {
    const { action, flags } = parseArgs(['getall', '--startRow', '2', '--STOP_ON_ERROR', 'no', '--newest', '--uid=1,2']);
    assert.equal(action, 'getAll');
    assert.equal(flags.get('startrow'), '2');
    assert.equal(flags.get('stoponerror'), false);
    assert.equal(flags.get('newest'), true);
    assert.equal(flags.get('uid'), '1,2');
  });

  it('refuses a flag of another action, naming the actions it belongs to', () => {
    assert.throws(() => parseArgs(['listAllFolders', '--uid', '1']), /--uid does not apply to listAllFolders; it is an attribute of getHeaderOnly, getAll, delete/);
    assert.throws(() => parseArgs(['getAll', '--folder', 'a', '--folder', 'b']), /cannot be used multiple times/);
    assert.throws(() => parseArgs(['getAll', '--colour', 'red']), /unexpected argument --colour/);
  });

  it('maps each error case to the Rust CLI’s exit status', () => {
    assert.equal(exitOf('invalid-argument'), 2);
    assert.equal(exitOf('tls'), 3);
    assert.equal(exitOf('authentication-failed'), 4);
    assert.equal(exitOf('folder-has-children'), 5);
    assert.equal(exitOf('protocol-violation'), 6);
    assert.equal(exitOf('component-failed'), 1);
  });
});

describe('the attachment sink', () => {
  const payload = (f) => {
    try {
      f();
    } catch (e) {
      return e.payload;
    }
    assert.fail('did not fail');
  };

  it('writes below an allowed root, publishing each file whole at finish', () => {
    const root = tempDir('cfimap-sink-');
    const sink = new AttachmentSink({ within: [root] });
    const file = sink.create(path.join(root, 'a', 'b'), 'x.txt', false);
    file.write(new TextEncoder().encode('hello'));
    assert.equal(fs.existsSync(path.join(root, 'a', 'b', 'x.txt')), false, 'nothing under the name before finish');
    assert.equal(file.finish(), path.join(root, 'a', 'b', 'x.txt'));
    assert.equal(fs.readFileSync(path.join(root, 'a', 'b', 'x.txt'), 'utf8'), 'hello');
    // Without replace, a taken name is `exists`; with it, replaced.
    const second = sink.create(path.join(root, 'a', 'b'), 'x.txt', false);
    second.write(new TextEncoder().encode('second'));
    assert.deepEqual(payload(() => second.finish()), { tag: 'exists' });
    second[dispose]();
    const third = sink.create(path.join(root, 'a', 'b'), 'x.txt', true);
    third.write(new TextEncoder().encode('third'));
    third.finish();
    assert.equal(fs.readFileSync(path.join(root, 'a', 'b', 'x.txt'), 'utf8'), 'third');
    assert.deepEqual(fs.readdirSync(path.join(root, 'a', 'b')), ['x.txt'], 'no temporary file is left');
  });

  it('replacing, gives a free name the file without a rename and fails on a directory', () => {
    const root = tempDir('cfimap-sink-');
    const sink = new AttachmentSink({ within: [root] });
    const file = sink.create(root, 'new.txt', true);
    file.write(new TextEncoder().encode('fresh'));
    assert.equal(file.finish(), path.join(root, 'new.txt'));
    assert.equal(fs.readFileSync(path.join(root, 'new.txt'), 'utf8'), 'fresh');
    assert.deepEqual(fs.readdirSync(root), ['new.txt'], 'no temporary file is left');
    assert.equal(payload(() => file.finish()).tag, 'io', 'finished twice');
    fs.mkdirSync(path.join(root, 'dir.txt'));
    const clash = sink.create(root, 'dir.txt', true);
    clash.write(new TextEncoder().encode('x'));
    assert.equal(payload(() => clash.finish()).tag, 'io');
    clash[dispose]();
    assert.ok(fs.statSync(path.join(root, 'dir.txt')).isDirectory());
    assert.deepEqual(fs.readdirSync(root).sort(), ['dir.txt', 'new.txt']);
  });

  it('replaces a symbolic link at the name, never its target', () => {
    const root = tempDir('cfimap-sink-');
    const target = path.join(tempDir('cfimap-sink-target-'), 'precious');
    fs.writeFileSync(target, 'keep me');
    fs.symlinkSync(target, path.join(root, 'x.txt'));
    const sink = new AttachmentSink({ within: [root] });
    const file = sink.create(root, 'x.txt', true);
    file.write(new TextEncoder().encode('new'));
    file.finish();
    assert.equal(fs.readFileSync(target, 'utf8'), 'keep me');
    assert.equal(fs.lstatSync(path.join(root, 'x.txt')).isSymbolicLink(), false);
  });

  it('reads back, takes its name at the end, and after a refused finish is finished again', () => {
    const root = tempDir('cfimap-sink-');
    const sink = new AttachmentSink({ within: [root] });
    const file = sink.create(root, 'arriving.part', true);
    const content = Uint8Array.from({ length: 300000 }, (_, i) => i % 251);
    file.write(content);
    assert.deepEqual(file.read(1000n, 5000), content.subarray(1000, 6000));
    assert.deepEqual(file.read(299990n, 100), content.subarray(299990), 'fewer only at the end');
    assert.equal(file.read(400000n, 10).length, 0);
    file.write(new TextEncoder().encode('tail'));
    fs.writeFileSync(path.join(root, 'taken.bin'), 'before');
    assert.deepEqual(payload(() => file.rename('taken.bin', false)), { tag: 'exists' });
    assert.equal(payload(() => file.rename('../out.bin', false)).tag, 'invalid-name');
    file.rename('free.bin', false);
    fs.writeFileSync(path.join(root, 'free.bin'), 'meanwhile');
    assert.deepEqual(payload(() => file.finish()), { tag: 'exists' });
    assert.deepEqual(file.read(0n, 10), content.subarray(0, 10), 'still open');
    file.rename('next.bin', false);
    assert.equal(file.finish(), path.join(root, 'next.bin'));
    const saved = fs.readFileSync(path.join(root, 'next.bin'));
    assert.deepEqual(saved.subarray(0, 300000), Buffer.from(content));
    assert.equal(saved.subarray(300000).toString(), 'tail');
    assert.equal(fs.readFileSync(path.join(root, 'taken.bin'), 'utf8'), 'before');
    assert.equal(fs.readFileSync(path.join(root, 'free.bin'), 'utf8'), 'meanwhile');
    assert.equal(payload(() => file.rename('other.bin', true)).tag, 'io', 'finished');
    assert.deepEqual(fs.readdirSync(root).sort(), ['free.bin', 'next.bin', 'taken.bin']);
  });

  it('drops an unfinished file without a trace', () => {
    const root = tempDir('cfimap-sink-');
    const file = new AttachmentSink({ within: [root] }).create(root, 'x.txt', false);
    file.write(new TextEncoder().encode('half'));
    file[dispose]();
    assert.deepEqual(fs.readdirSync(root), []);
  });

  it('refuses directories outside its roots, links out of them and names that are paths', () => {
    const root = tempDir('cfimap-sink-');
    const outside = tempDir('cfimap-sink-outside-');
    fs.symlinkSync(outside, path.join(root, 'out'));
    const sink = new AttachmentSink({ within: [root] });
    assert.equal(payload(() => sink.create(outside, 'x', false)).tag, 'denied');
    assert.equal(payload(() => sink.create(`${root}/../${path.basename(outside)}`, 'x', false)).tag, 'denied');
    assert.equal(payload(() => sink.create(`${root}-sibling`, 'x', false)).tag, 'denied');
    assert.equal(payload(() => sink.create(path.join(root, 'out'), 'x', false)).tag, 'denied');
    assert.equal(payload(() => sink.create(path.join(root, 'out', 'deeper'), 'x', false)).tag, 'denied');
    for (const name of ['../x', 'a/b', '..', '.', '', 'a\0b']) {
      assert.equal(payload(() => sink.create(root, name, false)).tag, 'invalid-name', JSON.stringify(name));
    }
    assert.equal(payload(() => new AttachmentSink(null).create(root, 'x', false)).tag, 'denied');
    assert.deepEqual(fs.readdirSync(outside), []);
  });
});

describe('README.md', () => {
  it('shows examples/embed.mjs as it is', () => {
    const readme = fs.readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const example = fs.readFileSync(new URL('../examples/embed.mjs', import.meta.url), 'utf8');
    assert.ok(readme.includes('```js\n' + example + '```'), 'README.md’s Node example differs from host/node/examples/embed.mjs');
  });
});

describe('the ring between the I/O worker and the component', () => {
  const range = (from, to) => Uint8Array.from({ length: to - from }, (_, i) => from + i);

  it('hands bytes over in order across the wrap-around', () => {
    const shared = createRing(8);
    const writer = new RingWriter(shared);
    const reader = new RingReader(shared);
    const none = () => assert.fail('no room was waited for');
    assert.equal(writer.push(range(0, 5)), true);
    assert.deepEqual(reader.read(3, 10, none).bytes, range(0, 3));
    assert.equal(writer.push(range(5, 11)), true);
    assert.deepEqual(reader.read(100, 10, none).bytes, range(3, 11));
    assert.equal(reader.read(1, 5, none).timedOut, true);
  });

  it('holds back what does not fit and asks once for room', () => {
    const shared = createRing(8);
    const writer = new RingWriter(shared);
    const reader = new RingReader(shared);
    let asked = 0;
    const room = () => asked++;
    assert.equal(writer.push(range(0, 20)), false, 'the socket must pause');
    assert.equal(writer.unread(), 20);
    const got = [];
    for (;;) {
      const before = asked;
      const { bytes: b } = reader.read(8, 10, room);
      got.push(...b);
      if (asked > before && writer.drain()) break;
    }
    for (let r = reader.read(100, 10, room); r.bytes; r = reader.read(100, 10, room)) got.push(...r.bytes);
    assert.deepEqual(Uint8Array.from(got), range(0, 20));
    assert.equal(writer.unread(), 0);
  });

  it('says the stream ended only after every byte before the end', () => {
    const shared = createRing(8);
    const writer = new RingWriter(shared);
    const reader = new RingReader(shared);
    writer.push(range(0, 12));
    writer.end(ENDED);
    assert.deepEqual(reader.read(100, 10, () => {}).bytes, range(0, 8));
    // Four bytes are still held back: no end yet.
    assert.equal(reader.read(100, 10, () => {}).timedOut, true);
    writer.drain();
    assert.deepEqual(reader.read(100, 10, () => {}).bytes, range(8, 12));
    assert.deepEqual(reader.read(100, 10, () => {}), { state: ENDED });
  });

  it('wakes a waiting reader when the stream ends', async () => {
    const shared = createRing(8);
    // The reader sleeps on another thread while the end arrives.
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const words = new Int32Array(workerData, 0, 4);
       const started = performance.now();
       // Sleep as RingReader does, on the change counter.
       const changes = Atomics.load(words, 3);
       parentPort.postMessage('waiting');
       Atomics.wait(words, 3, changes, 5000);
       parentPort.postMessage(performance.now() - started);`,
      { eval: true, workerData: shared },
    );
    await new Promise((resolve) => worker.once('message', resolve));
    new RingWriter(shared).end(FAILED);
    const waited = await new Promise((resolve) => worker.once('message', resolve));
    await worker.terminate();
    assert.ok(waited < 2000, `the reader slept ${waited} ms after the end`);
    assert.deepEqual(new RingReader(shared).read(1, 10, () => {}), { state: FAILED });
  });
});
