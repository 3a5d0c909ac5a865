// The WASI interfaces the cfimap component imports beside its own, as the
// WIT world declares them: linked by Rust's standard library, never called
// by cfimap's code but for a panic message on stderr and the hash seed.
//
// Written here rather than taken from jco's preview2-shim: that package
// starts a worker thread of its own as soon as its stream module loads
// (to make every stream call synchronous), a third thread per session,
// and a sixth of a session's start-up, for a stream that is written only
// when the component panics.

import { writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** `wasi:io/error.error`: never made here; only its type is imported. */
class IoError {
  toDebugString() {
    return 'error';
  }
}

/** `wasi:io/poll.pollable`: every stream here is always ready. */
class Pollable {
  ready() {
    return true;
  }

  block() {}
}

/** `wasi:io/streams.input-stream`: stdin is empty. */
class InputStream {
  read() {
    throw { tag: 'closed' };
  }

  blockingRead() {
    throw { tag: 'closed' };
  }

  skip() {
    throw { tag: 'closed' };
  }

  blockingSkip() {
    throw { tag: 'closed' };
  }

  subscribe() {
    return new Pollable();
  }
}

/** `wasi:io/streams.output-stream`: stderr goes to fd 2, stdout nowhere. */
class OutputStream {
  constructor(fd) {
    this.fd = fd;
  }

  checkWrite() {
    return 1n << 20n;
  }

  write(bytes) {
    if (this.fd === null) return;
    let at = 0;
    while (at < bytes.length) at += writeSync(this.fd, bytes, at, bytes.length - at);
  }

  blockingWriteAndFlush(bytes) {
    this.write(bytes);
  }

  flush() {}

  blockingFlush() {}

  subscribe() {
    return new Pollable();
  }
}

class TerminalInput {}
class TerminalOutput {}

const stdin = new InputStream();
const stdout = new OutputStream(null);
const stderr = new OutputStream(2);

/** A seed for the component's hash tables, fixed for this thread. */
const seed = (() => {
  const bytes = randomBytes(16);
  return [bytes.readBigUInt64LE(0), bytes.readBigUInt64LE(8)];
})();

/** The import object entries of the WASI interfaces, by interface name. */
export const wasiImports = {
  // No environment, no arguments: the component reads it only for
  // RUST_BACKTRACE.
  'wasi:cli/environment': {
    getEnvironment: () => [],
    getArguments: () => [],
    initialCwd: () => undefined,
  },
  'wasi:cli/exit': {
    exit: (status) => {
      throw new Error(`the component called exit (${status.tag})`);
    },
  },
  'wasi:cli/stdin': { getStdin: () => stdin },
  'wasi:cli/stdout': { getStdout: () => stdout },
  'wasi:cli/stderr': { getStderr: () => stderr },
  'wasi:cli/terminal-input': { TerminalInput },
  'wasi:cli/terminal-output': { TerminalOutput },
  'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
  'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
  'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
  'wasi:io/error': { Error: IoError },
  'wasi:io/poll': { Pollable, poll: (list) => new Uint32Array(list.map((_, i) => i)) },
  'wasi:io/streams': { InputStream, OutputStream },
  'wasi:random/insecure-seed': { insecureSeed: () => seed },
};
