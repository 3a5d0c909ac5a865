// cfimap for Node.js: ColdFusion's <cfimap> tag — full IMAP mailbox
// management — as an async API over the cfimap WebAssembly component.
//
// Each session runs the component on a worker thread of its own (with a
// second worker for its sockets), so a long read never blocks the caller's
// event loop. The component may reach only the server the session was
// opened for, verifies TLS against Node's Mozilla roots (plus `cafile`),
// and writes attachments only below the directories `attachments` allows.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';

import { CfimapError, ComponentFailedError, InvalidArgumentError, fromPayload } from './errors.js';
import { numberList } from './attributes.js';
import { parseFilter } from './filters.js';

export * from './errors.js';
export { numberList } from './attributes.js';
export { parseFilter, FILTER_NAMES } from './filters.js';

/** Where `make build` puts the transpiled component. */
const GENERATED = fileURLToPath(new URL('../gen/', import.meta.url));

/**
 * The promise of the component's core modules by file name: null until the
 * first session is opened, and again after a compile that failed.
 */
let compiled = null;

/**
 * The transpiled component's core modules (`gen/*.wasm`), compiled once per
 * process and shared by every session's thread, which only instantiates
 * them. V8 compiles a function of a module when it first runs and
 * optimises the hot ones as they run; threads that share the module share
 * that code, so a session after the first starts with the component
 * compiled and optimised. A failed compile is not kept: the next session
 * tries again. A long-lived process keeps the modules it compiled first,
 * even if `gen/` is built again.
 *
 * @returns {Promise<Record<string, WebAssembly.Module>>}
 */
function coreModules() {
  if (compiled) return compiled;
  compiled = (async () => {
    const names = readdirSync(GENERATED).filter((name) => name.endsWith('.wasm'));
    const modules = await Promise.all(
      names.map(async (name) => [name, await WebAssembly.compile(await readFile(join(GENERATED, name)))]),
    );
    return Object.fromEntries(modules);
  })().catch((e) => {
    compiled = null;
    throw new ComponentFailedError(`cannot compile the component in ${GENERATED}: ${e.message}`);
  });
  // Handled here too: a session that never got as far as awaiting it (a
  // thread that could not start) must not leave a rejection unhandled.
  compiled.catch(() => {});
  return compiled;
}

/** The tag's default timeout, seconds. */
const DEFAULT_TIMEOUT = 60;

/**
 * The longest the transport waits for anything, seconds, whatever
 * `timeout` says: the wasmtime host's limit too.
 */
const MAX_TIMEOUT = 600;

/**
 * `action="open"`: connects, secures and logs in.
 *
 * @param {import('./index.js').OpenOptions} options
 * @returns {Promise<Session>}
 */
export async function open(options) {
  const { server, username } = options ?? {};
  if (typeof server !== 'string' || server === '') {
    throw new InvalidArgumentError({ attribute: 'server', reason: 'give the IMAP server’s host name' });
  }
  if (typeof username !== 'string') {
    throw new InvalidArgumentError({ attribute: 'username', reason: 'give the login name' });
  }
  const secure = options.secure ?? undefined;
  if (secure !== undefined && !['tls', 'starttls', 'none'].includes(secure)) {
    throw new InvalidArgumentError({
      attribute: 'secure',
      reason: `${JSON.stringify(secure)} is not one of tls, starttls, none`,
    });
  }
  // As the component does: 993 for implicit TLS, else 143 (STARTTLS).
  const port = options.port ?? (secure === 'tls' ? 993 : 143);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError({ attribute: 'port', reason: `${port} is not a TCP port` });
  }
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 0xffffffff) {
    throw new InvalidArgumentError({ attribute: 'timeout', reason: 'give whole seconds, at least 1' });
  }
  let credentials;
  if (options.token !== undefined) credentials = { tag: 'bearer-token', val: String(options.token) };
  else credentials = { tag: 'password', val: String(options.password ?? '') };

  if (!existsSync(`${GENERATED}cfimap.js`)) {
    throw new ComponentFailedError(`${GENERATED} holds no transpiled component: run \`make build\``);
  }
  let extraCa = options.ca ?? null;
  if (options.cafile) {
    try {
      extraCa = readFileSync(options.cafile, 'utf8');
    } catch (e) {
      throw new InvalidArgumentError({ attribute: 'cafile', reason: `${options.cafile}: ${e.message}` });
    }
  }
  if (extraCa !== null && !extraCa.includes('-----BEGIN CERTIFICATE-----')) {
    throw new InvalidArgumentError({
      attribute: 'cafile',
      reason: `${options.cafile ?? 'ca'}: no PEM certificate found`,
    });
  }

  // Compiling begins before the threads start, and goes on while they do.
  const modules = coreModules();
  // Two threads, started side by side: the component's, and the one that
  // owns its sockets (lib/io-worker.js), joined by a port and a shared word.
  const signal = new SharedArrayBuffer(4);
  const channel = new MessageChannel();
  const io = new Worker(new URL('./io-worker.js', import.meta.url), {
    workerData: { signal, port: channel.port2, extraCa },
    transferList: [channel.port2],
  });
  const session = new Session(
    new Worker(new URL('./component-worker.js', import.meta.url), {
      workerData: {
        generated: GENERATED,
        policy: { host: server, port },
        attachments: options.attachments ?? null,
        // The transport never waits longer than the session's timeout, nor
        // longer than the host's own limit.
        hostTimeoutMs: Math.min(timeout, MAX_TIMEOUT) * 1000,
        io: { signal, port: channel.port1 },
      },
      transferList: [channel.port1],
    }),
    io,
  );
  try {
    // The thread instantiates the modules once they arrive. Both promises
    // are awaited at once: a thread that fails during the compile ends the
    // wait, and no rejection of either goes unhandled.
    await Promise.all([modules.then((m) => session.worker.postMessage({ modules: m })), session.ready]);
  } catch (e) {
    session.stop();
    throw e;
  }
  try {
    await session.call('open', [
      { server, port, username, credentials, secure, timeout },
    ]);
  } catch (e) {
    session.stop();
    throw e;
  }
  return session;
}

/** A logged-in IMAP session: the tag's named connection. */
export class Session {
  /**
   * @param {Worker} worker the component's thread
   * @param {Worker} io the thread of its sockets
   */
  constructor(worker, io) {
    this.worker = worker;
    this.io = io;
    // The I/O thread lives as long as the component's, and never keeps the
    // process alive on its own.
    io.unref();
    io.on('error', (e) => this.broken(new ComponentFailedError(`its I/O thread failed: ${e.message}`)));
    this.pending = new Map();
    this.nextCall = 0;
    this.failed = null;
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    worker.on('message', (message) => this.received(message));
    worker.on('error', (e) => this.broken(new ComponentFailedError(e.message)));
    worker.on('exit', () => this.broken(new ComponentFailedError('its worker thread ended')));
  }

  received(message) {
    if (message.ready) {
      // From now on the worker keeps the process alive only while a call
      // is under way.
      if (this.pending.size === 0) this.worker.unref();
      return this.readyResolve();
    }
    const call = this.pending.get(message.id);
    if (!call) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker.unref();
    if (message.ok) call.resolve(message.value);
    else call.reject(fromPayload(message.error));
  }

  broken(error) {
    if (this.failed) return;
    this.failed = error;
    this.readyReject(error);
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
    // Neither thread may outlive the session, nor keep the process alive.
    this.worker.unref();
    this.worker.terminate();
    this.io.terminate();
  }

  /** Posts a call to the component's thread and waits for its answer. */
  call(method, args, reader) {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextCall++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, method, args, reader });
    });
  }

  /** Ends both worker threads. */
  stop() {
    // Calls still waiting end with the session.
    this.broken(fromPayload({ tag: 'session-closed' }));
  }

  /**
   * `action="getHeaderOnly"`: the header columns of the selected messages.
   * Never changes flags.
   */
  async getHeaderOnly(attributes = {}) {
    return this.call('getHeaderOnly', readArgs(attributes));
  }

  /** `action="getAll"`: headers, bodies and attachments. Never changes flags. */
  async getAll(attributes = {}) {
    return this.call('getAll', readArgs(attributes));
  }

  /**
   * getHeaderOnly or getAll (`action`) a row at a time, for `for await`:
   * neither the component nor this thread ever holds the whole result.
   * Leaving the loop early abandons the read.
   */
  async *rows(action, attributes = {}, options = {}) {
    for await (const batch of this.batches(action, attributes, options)) yield* batch;
  }

  /**
   * The same read a batch (an array of at most `batch` rows) at a time.
   * The next batch is asked for as soon as one arrives, so the component
   * reads on while the caller handles the rows it has.
   */
  async *batches(action, attributes = {}, { batch = 256 } = {}) {
    yield* this.read('next', action, attributes, batch);
  }

  /**
   * The same read as the tag's JSON lines, serialised by the component: a
   * `Uint8Array` of NDJSON a batch (one object per row and line, keyed by
   * the tag's column names in upper case, as `cfimap --format ndjson`
   * prints them). For a caller that prints or forwards rows, the fastest
   * way through a large folder.
   */
  async *ndjson(action, attributes = {}, { batch = 256 } = {}) {
    yield* this.read('nextNdjson', action, attributes, batch);
  }

  /** A read a batch at a time, each taken by the component's `next`. */
  async *read(next, action, attributes, batch) {
    const method = { getHeaderOnly: 'beginGetHeaderOnly', getAll: 'beginGetAll' }[action];
    if (!method) {
      throw new InvalidArgumentError({ attribute: 'action', reason: `${action} is not getHeaderOnly or getAll` });
    }
    if (!Number.isInteger(batch) || batch < 1 || batch > 0xffffffff) {
      throw new InvalidArgumentError({ attribute: 'batch', reason: `${batch} is not a whole number of 1 or more` });
    }
    const reader = await this.call(method, readArgs(attributes));
    const more = () => this.call(next, [batch], reader);
    let pending = more();
    // Settled when an empty batch or an error ended the read: the
    // component's thread has let go of the reader itself then.
    let ended = false;
    try {
      for (;;) {
        const rows = await pending.catch((e) => {
          ended = true;
          throw e;
        });
        if (rows.length === 0) {
          ended = true;
          return;
        }
        pending = more();
        yield rows;
      }
    } finally {
      if (!ended && !this.failed) {
        // Left early: let the batch asked for arrive, then abandon the read.
        await pending.catch(() => {});
        await this.call('drop-reader', [], reader);
      }
    }
  }

  /** `action="delete"`: removes exactly the selected messages. */
  async delete(attributes = {}) {
    return this.change('delete', attributes);
  }

  /** `action="markRead"`: sets `\Seen` on the selected messages. */
  async markRead(attributes = {}) {
    return this.change('markRead', attributes);
  }

  /** Beyond the tag: removes `\Seen` from the selected messages. */
  async markUnread(attributes = {}) {
    return this.change('markUnread', attributes);
  }

  /** `action="moveMail"`: moves the selected messages to `newfolder`. */
  async moveMail(attributes = {}) {
    const { folder, newfolder } = attributes;
    requireText('newfolder', newfolder);
    return report(await this.call('moveMail', [
      optionalText('folder', folder),
      newfolder,
      selection(attributes, true),
      attributes.stoponerror ?? true,
    ]));
  }

  async change(method, attributes) {
    return report(
      await this.call(method, [
        optionalText('folder', attributes.folder),
        selection(attributes, method === 'delete'),
        attributes.stoponerror ?? true,
      ]),
    );
  }

  /** `action="listAllFolders"`: the children of `folder`, or all below with `recurse`. */
  async listAllFolders({ folder, recurse = false } = {}) {
    return this.call('listAllFolders', [optionalText('folder', folder), Boolean(recurse)]);
  }

  /** `action="createFolder"`: creates `folder` and each missing parent. */
  async createFolder({ folder } = {}) {
    requireText('folder', folder);
    return this.call('createFolder', [folder]);
  }

  /** `action="deleteFolder"`: deletes `folder` (with its subfolders: `recurse`). */
  async deleteFolder({ folder, recurse = false } = {}) {
    requireText('folder', folder);
    return this.call('deleteFolder', [folder, Boolean(recurse)]);
  }

  /** `action="renameFolder"`: renames `folder` to `newfolder`. */
  async renameFolder({ folder, newfolder } = {}) {
    requireText('folder', folder);
    requireText('newfolder', newfolder);
    return this.call('renameFolder', [folder, newfolder]);
  }

  /** `action="close"`: logs out and ends the session's threads. */
  async close() {
    if (this.failed) return this.stop();
    try {
      await this.call('close', []);
    } finally {
      this.stop();
    }
  }
}

/** A change report with its UIDs as a plain array (jco gives a typed one). */
function report(r) {
  return { ...r, uids: Array.from(r.uids) };
}

function requireText(attribute, value) {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError({ attribute, reason: 'is required' });
  }
}

function optionalText(attribute, value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidArgumentError({ attribute, reason: 'must be text' });
  return value;
}

/**
 * The WIT selection of the tag's attributes: `uid`, then `messagenumber`,
 * then `startrow`/`maxrows`; `all` for the whole folder. `required`: an
 * action that must not run on every message by default.
 */
function selection(attributes, required) {
  const { uid, messagenumber, startrow, maxrows, all } = attributes;
  const given = [
    ['uid', uid],
    ['messagenumber', messagenumber],
    ['startrow', startrow],
    ['maxrows', maxrows],
  ].filter(([, v]) => v !== undefined && v !== null);
  if (all && given.length > 0) {
    throw new InvalidArgumentError({
      attribute: given[0][0],
      reason: 'all selects every message and cannot go with it: give one or the other',
    });
  }
  if (uid !== undefined && uid !== null) return { tag: 'uids', val: numberList('uid', uid) };
  if (messagenumber !== undefined && messagenumber !== null) {
    return { tag: 'message-numbers', val: numberList('messagenumber', messagenumber) };
  }
  if (startrow !== undefined || maxrows !== undefined) {
    for (const [name, v] of [['startrow', startrow], ['maxrows', maxrows]]) {
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
        throw new InvalidArgumentError({ attribute: name, reason: `${v} is not a whole number` });
      }
    }
    return { tag: 'rows', val: { startrow: startrow ?? 1, maxrows } };
  }
  if (required && !all) {
    throw new InvalidArgumentError({
      attribute: 'uid',
      reason: 'a selection is required: uid, messagenumber, startrow/maxrows, or all for every message',
    });
  }
  return { tag: 'all' };
}

/** The arguments of a read: folder, selection, read options. */
function readArgs(attributes) {
  return [
    optionalText('folder', attributes.folder),
    selection(attributes, false),
    {
      attachmentpath: optionalText('attachmentpath', attributes.attachmentpath),
      generateuniquefilenames: Boolean(attributes.generateuniquefilenames),
      stoponerror: attributes.stoponerror ?? true,
      filters: filters(attributes),
      newestFirst: Boolean(attributes.newestFirst),
    },
  ];
}

/**
 * `filters` (and `exclude`): WIT `filter` records, or `NAME=VALUE` text as
 * `--filter` takes it.
 */
function filters({ filters: keep = [], exclude = [] }) {
  const one = (f, negated) => {
    if (typeof f !== 'string') return f;
    try {
      return parseFilter(f, negated);
    } catch (e) {
      throw new InvalidArgumentError({ attribute: negated ? 'exclude' : 'filter', reason: e.message });
    }
  };
  return [...keep.map((f) => one(f, false)), ...exclude.map((f) => one(f, true))];
}

export { CfimapError };
