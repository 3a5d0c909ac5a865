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
