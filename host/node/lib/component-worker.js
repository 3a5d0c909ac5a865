// The component's thread: one per session. It instantiates the cfimap
// component (transpiled by jco, `--instantiation sync`), gives it the two
// capabilities of the WIT world — `transport` (through the I/O worker, see
// lib/io-worker.js) and `attachments` (lib/sink.js) — and runs the calls
// the caller's thread (lib/index.js) posts, one at a time. The caller's
// event loop never waits on the component: only this thread does.

import { once } from 'node:events';
import { join } from 'node:path';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';

import { RingReader, createRing } from './ring.js';
import { AttachmentFile, AttachmentSink } from './sink.js';
import { wasiImports } from './wasi.js';

const { generated, policy, attachments, hostTimeoutMs, io: ioLink } = workerData;

// The I/O worker (started beside this one by lib/index.js), the port to
// it and the word it wakes this thread with.
const signal = new Int32Array(ioLink.signal);
const ioPort = ioLink.port;

/** Numbers the requests to the I/O worker. */
let nextRequest = 0;

/**
 * Sends `request` to the I/O worker and blocks until it answers. The I/O
 * worker bounds every wait by the connection's timeout; `guardMs` is a
 * second bound, should that worker itself be stuck. An answer to an earlier
 * request given up on that way is read and dropped.
 */
function ioCall(request, guardMs) {
  const seq = nextRequest++;
  const before = Atomics.load(signal, 0);
  ioPort.postMessage({ ...request, seq });
  const deadline = performance.now() + guardMs;
  let seen = before;
  for (;;) {
    for (let received = receiveMessageOnPort(ioPort); received; received = receiveMessageOnPort(ioPort)) {
      if (received.message.seq === seq) return received.message;
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      return { ok: false, error: { tag: 'timeout', val: 'the I/O worker did not answer' } };
    }
    Atomics.wait(signal, 0, seen, left);
    seen = Atomics.load(signal, 0);
  }
}

/** Throws a WIT `transport-error` the way jco expects (its `payload`). */
function fail(result) {
  const e = new Error(result.error.val ?? result.error.tag);
  e.payload = result.error;
  throw e;
}

/**
 * A host name as the policy compares it (as the wasmtime host does):
 * without brackets around an IPv6 address or a final dot, ASCII letters in
 * lower case (no other case folding: `\u212A` is no `k`).
 */
function hostKey(host) {
  let h = host.trim();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Numbers the connections of this thread. */
let nextConnection = 0;

const dispose = Symbol.dispose || Symbol.for('dispose');

/** The WIT resource `transport.connection`. */
class Connection {
  static open(host, port, wrapping, timeoutMs) {
    // The policy, before a name is resolved or a packet sent.
    if (hostKey(host) !== hostKey(policy.host) || port !== policy.port) {
      fail({
        error: {
          tag: 'denied',
          val: `${host}:${port} is not the server this session may reach (${policy.host}:${policy.port})`,
        },
      });
    }
    const timeout = timeoutMs === 0 ? hostTimeoutMs : Math.min(timeoutMs, hostTimeoutMs);
    const ring = createRing();
    const connection = new Connection(nextConnection++, timeout, `${host}:${port}`, ring);
    const result = ioCall(
      { op: 'open', id: connection.id, host, port, wrapping, timeoutMs: timeout, ring },
      2 * timeout + 1000,
    );
    if (!result.ok) fail(result);
    return connection;
  }

  constructor(id, timeoutMs, where, ring) {
    this.id = id;
    this.timeoutMs = timeoutMs;
    this.where = where;
    this.ring = new RingReader(ring);
    this.pending = [];
    this.closed = false;
  }

  /** How long a call may block this thread: the I/O worker's bound, and a margin. */
  guard() {
    return this.timeoutMs + 5000;
  }

  read(max) {
    const got = this.ring.read(max, this.timeoutMs, () => ioPort.postMessage({ op: 'space', id: this.id }));
    if (got.bytes) return got.bytes;
    if (got.timedOut) {
      const seconds = this.timeoutMs % 1000 === 0 ? `${this.timeoutMs / 1000} s` : `${this.timeoutMs} ms`;
      fail({ error: { tag: 'timeout', val: `${this.where}: nothing arrived within ${seconds}` } });
    }
    // The stream is over: the I/O worker knows whether it ended or failed.
    fail(ioCall({ op: 'over', id: this.id }, this.guard()));
  }

  write(bytes) {
    // Kept until `flush`, so a command reaches TCP in one write.
    this.pending.push(bytes.slice());
  }

  flush() {
    if (this.pending.length === 0) return;
    const size = this.pending.reduce((n, b) => n + b.length, 0);
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const b of this.pending) {
      bytes.set(b, at);
      at += b.length;
    }
    this.pending = [];
    const result = ioCall({ op: 'flush', id: this.id, bytes }, this.guard());
    if (!result.ok) fail(result);
  }

  startTls(serverName) {
    const result = ioCall({ op: 'start-tls', id: this.id, serverName }, 2 * this.guard());
    if (!result.ok) fail(result);
  }

  isLoopback() {
    const result = ioCall({ op: 'loopback', id: this.id }, this.guard());
    return result.ok && result.loopback;
  }

  [dispose]() {
    if (this.closed) return;
    this.closed = true;
    ioCall({ op: 'close', id: this.id }, 5000);
  }
}

const sink = new AttachmentSink(attachments);

const imports = {
  'cfimap:imap/transport': { Connection },
  'cfimap:imap/attachments': { File: AttachmentFile, create: (d, n, r) => sink.create(d, n, r) },
  'cfimap:imap/types': {},
  ...wasiImports,
};

// The core modules come compiled from the caller's thread (lib/index.js),
// the first message it posts; the bindings load meanwhile.
const [{ instantiate }, [{ modules }]] = await Promise.all([
  import(join(generated, 'cfimap.js')),
  once(parentPort, 'message'),
]);
const component = instantiate((path) => {
  const module = Object.hasOwn(modules, path) ? modules[path] : undefined;
  if (!module) throw new Error(`the transpiled component has no core module ${path}`);
  return module;
}, imports);
const { Session } = component.client;

/** The session, once open, and the readers it handed out, by number. */
let session = null;
const readers = new Map();
let nextReader = 0;
/** Set when the component trapped: nothing may run on it again. */
let trapped = null;

/** The WIT error payload of `e`, thrown by a call into the component. */
function payloadOf(e) {
  if (e && Object.hasOwn(e, 'payload')) return e.payload;
  // A trap (a panic, or memory beyond the limit): the instance is done.
  trapped = String(e && e.message ? e.message : e);
  return { tag: 'component-failed', val: trapped };
}

/** Runs `call` (a message from the caller's thread) and answers it. */
function run(call) {
  switch (call.method) {
    case 'open':
      session = Session.open(call.args[0]);
      return undefined;
    case 'beginGetHeaderOnly':
    case 'beginGetAll': {
      const reader = session[call.method](...call.args);
      const id = nextReader++;
      readers.set(id, reader);
      return id;
    }
    case 'next': {
      const reader = readers.get(call.reader);
      const rows = reader.next(call.args[0]);
      if (rows.length === 0) drop(call.reader);
      return rows.map(plainSize);
    }
    case 'nextNdjson': {
      const reader = readers.get(call.reader);
      const bytes = reader.nextNdjson(call.args[0]);
      if (bytes.length === 0) drop(call.reader);
      return bytes;
    }
    case 'getHeaderOnly':
    case 'getAll':
      return session[call.method](...call.args).map(plainSize);
    case 'drop-reader':
      drop(call.reader);
      return undefined;
    case 'close': {
      for (const id of [...readers.keys()]) drop(id);
      const s = session;
      session = null;
      if (s) {
        try {
          s.close();
        } finally {
          s[dispose]?.();
        }
      }
      return undefined;
    }
    default:
      return session[call.method](...call.args);
  }
}

/**
 * A row with its size (a WIT u64, a BigInt in JS) as a number: sizes stay
 * far below 2^53, and a BigInt breaks `JSON.stringify` for every caller.
 */
function plainSize(row) {
  row.size = Number(row.size);
  return row;
}

/** Drops reader `id`: the component reads and discards the rest. */
function drop(id) {
  const reader = readers.get(id);
  readers.delete(id);
  if (!reader || trapped) return;
  try {
    reader[dispose]?.();
  } catch (e) {
    payloadOf(e);
  }
}

parentPort.on('message', (call) => {
  try {
    if (trapped) throw new Error(trapped);
    if (!session && call.method !== 'open' && call.method !== 'close') {
      throw Object.assign(new Error('closed'), { payload: { tag: 'session-closed' } });
    }
    const value = run(call);
    // A batch of JSON lines moves to the caller's thread without a copy.
    const transfer = value instanceof Uint8Array ? [value.buffer] : [];
    parentPort.postMessage({ id: call.id, ok: true, value }, transfer);
  } catch (e) {
    if (call.reader !== undefined) drop(call.reader);
    parentPort.postMessage({ id: call.id, ok: false, error: payloadOf(e) });
  }
});

parentPort.postMessage({ ready: true });
