// The host side of the WIT interface `cfimap:imap/attachments` in Node:
// where getAll writes attachment files, under an attachment policy.
//
// The rules are those of the wasmtime host (host/src/attachments.rs):
// the directory must be an allowed root or below one; each file is written
// to a temporary file of its own, created exclusively beside its name, and
// published at `finish` in one step: linked to the name, which fails when
// anything is there, with no gap between the check and the create; not
// replacing, that is `exists`; replacing (or where the file system has no
// hard links), the file is synced and renamed over the name instead (a
// rename replaces a symbolic link there, never its target), so a crash
// leaves the old file or the new one, never an empty one. A file under a
// free name is not synced (one sync per file cost most of a getAll of many
// attachments). A file dropped unfinished removes its temporary file only.
// A file may be renamed before `finish`, and a `finish` refused with
// `exists` leaves it open, to be renamed and finished again; `read` reads
// back what it holds (a large attachment is written as it arrives, before
// the component knows its name, or whether it is an attachment at all).
//
// Node has no directory handles (openat), so a directory below a root is
// checked by path: every step below the root is created or must be a real
// directory (a symbolic link there is refused), and the resolved directory
// must lie within the resolved root. What a process swaps in between that
// check and the write is not covered, as it is by the wasmtime host's
// handles: give the component a root no one else writes to.

import fs from 'node:fs';
import path from 'node:path';

const dispose = Symbol.dispose || Symbol.for('dispose');

/** Throws a WIT `sink-error` the way jco expects (its `payload`). */
function fail(tag, val) {
  const e = new Error(val ?? tag);
  e.payload = val === undefined ? { tag } : { tag, val };
  throw e;
}

/** Numbers the temporary files of this thread. */
let temporaryCount = 0;

/**
 * The attachment policy: `{ within: [directories] }`, `'anywhere'`, or
 * nothing (no directory allowed).
 */
export class AttachmentSink {
  constructor(policy) {
    if (policy === 'anywhere') {
      this.anywhere = true;
      this.roots = [];
    } else {
      this.anywhere = false;
      this.roots = (policy?.within ?? []).map((root) => path.resolve(root));
    }
  }

  /** The WIT function `create`. */
  create(directory, name, replace) {
    checkName(name);
    const dir = this.open(directory);
    const shown = path.join(directory, name);
    for (;;) {
      const temporary = path.join(dir, `.${name}.${process.pid}-${temporaryCount++}.part`);
      try {
        const fd = fs.openSync(
          temporary,
          fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
          0o644,
        );
        return new AttachmentFile(fd, temporary, path.join(dir, name), shown, replace);
      } catch (e) {
        if (e.code === 'EEXIST') continue;
        fail('io', `${shown}: ${e.message}`);
      }
    }
  }

  /** The directory `directory` names, checked and created if missing. */
  open(directory) {
    if (directory.trim() === '' || directory.includes('\0')) {
      fail('denied', `${JSON.stringify(directory)} is not a directory path`);
    }
    const wanted = path.resolve(directory);
    const denied = () =>
      fail('denied', `${wanted} is not a directory this host lets the component write to`);
    try {
      if (this.anywhere) {
        fs.mkdirSync(wanted, { recursive: true });
        return wanted;
      }
      const root = this.roots.find((r) => wanted === r || wanted.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
      if (root === undefined) denied();
      // The root itself is the host's own choice: made as given.
      fs.mkdirSync(root, { recursive: true });
      let at = root;
      for (const step of path.relative(root, wanted).split(path.sep).filter(Boolean)) {
        at = path.join(at, step);
        let stat;
        try {
          stat = fs.lstatSync(at);
        } catch (e) {
          if (e.code !== 'ENOENT') throw e;
          fs.mkdirSync(at);
          stat = fs.lstatSync(at);
        }
        if (stat.isSymbolicLink()) {
          fail('denied', `${at} is a symbolic link below an allowed directory; refusing to follow it`);
        }
        if (!stat.isDirectory()) fail('io', `${at}: not a directory`);
      }
      const real = fs.realpathSync(wanted);
      const realRoot = fs.realpathSync(root);
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) denied();
      return real;
    } catch (e) {
      if (e.payload) throw e;
      fail('io', `${wanted}: ${e.message}`);
    }
  }
}

/** A name that is one plain path component. */
function checkName(name) {
  const bad = (why) => fail('invalid-name', `${JSON.stringify(name)} ${why}`);
  if (/[/\\\0]/.test(name) || (process.platform === 'win32' && name.includes(':'))) {
    bad('contains a path separator, a drive or stream separator, or NUL');
  }
  if (name === '' || name === '.' || name === '..') bad('is not a file name');
  if (Buffer.byteLength(name) > 255) bad('is longer than 255 bytes');
}

/** The WIT resource `attachments.file`. */
export class AttachmentFile {
  constructor(fd, temporary, target, shown, replace) {
    this.fd = fd;
    this.temporary = temporary;
    this.target = target;
    this.shown = shown;
    this.replace = replace;
    this.finished = false;
  }

  write(bytes) {
    if (this.fd === null) fail('io', `${this.shown}: written after finish`);
    try {
      let at = 0;
      while (at < bytes.length) at += fs.writeSync(this.fd, bytes, at, bytes.length - at);
    } catch (e) {
      fail('io', `${this.shown}: ${e.message}`);
    }
  }

  /** Up to `length` bytes from `offset` (a bigint, as jco passes a u64). */
  read(offset, length) {
    if (this.fd === null) fail('io', `${this.shown} is already finished`);
    try {
      // Never allocate what the guest merely asks for: it asks again for the rest.
      const bytes = Buffer.alloc(Math.min(length, 1024 * 1024));
      length = bytes.length;
      let filled = 0;
      while (filled < length) {
        const n = fs.readSync(this.fd, bytes, filled, length - filled, Number(offset) + filled);
        if (n === 0) break;
        filled += n;
      }
      return new Uint8Array(bytes.buffer, bytes.byteOffset, filled);
    } catch (e) {
      fail('io', `${this.shown}: ${e.message}`);
    }
  }

  /** Names the unfinished file `name`: refused with `exists` when taken, without `replace`. */
  rename(name, replace) {
    if (this.fd === null) fail('io', `${this.shown} is already finished`);
    checkName(name);
    const target = path.join(path.dirname(this.target), name);
    if (!replace) {
      let taken = true;
      try {
        fs.lstatSync(target);
      } catch (e) {
        if (e.code !== 'ENOENT') fail('io', `${target}: ${e.message}`);
        taken = false;
      }
      if (taken) fail('exists');
    }
    this.target = target;
    this.shown = path.join(path.dirname(this.shown), name);
    this.replace = replace;
  }

  /** Publishes the file; refused with `exists`, it stays open to be renamed and finished again. */
  finish() {
    if (this.fd === null) fail('io', `${this.shown} is already finished`);
    try {
      let linked = true;
      try {
        fs.linkSync(this.temporary, this.target);
      } catch (e) {
        if (!this.replace) {
          if (e.code === 'EEXIST') fail('exists');
          throw e;
        }
        linked = false;
      }
      if (linked) {
        fs.closeSync(this.fd);
        this.fd = null;
        try {
          fs.unlinkSync(this.temporary);
        } catch {
          // The name holds the file; a temporary name left over is harmless.
        }
      } else {
        fs.fsyncSync(this.fd);
        fs.closeSync(this.fd);
        this.fd = null;
        fs.renameSync(this.temporary, this.target);
      }
      this.finished = true;
      return this.shown;
    } catch (e) {
      if (e.payload) throw e;
      fail('io', `${this.shown}: ${e.message}`);
    }
  }

  [dispose]() {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // Closing is all that is left to do; nothing to report to.
      }
      this.fd = null;
    }
    if (!this.finished) {
      try {
        fs.unlinkSync(this.temporary);
      } catch {
        // Gone already: nothing of ours is left.
      }
    }
  }
}
