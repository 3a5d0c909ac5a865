// The command line of the Node host: the Rust `cfimap` CLI's actions,
// flags, JSON output and exit statuses, for parity checks and for scripts
// that would rather run Node than a native binary.
//
// What it takes: one action per run, the action's attributes as flags (any
// case, `-` or `_` anywhere: `--startRow`, `--start_row`), the connection
// flags and CFIMAP_SERVER, CFIMAP_PORT, CFIMAP_USERNAME, CFIMAP_PASSWORD and
// CFIMAP_TOKEN. What it leaves to the Rust CLI: tables and CSV, profiles,
// `cfimap run` scripts, completions and man pages (each refused by name).

import { readFileSync, readSync } from 'node:fs';
import path from 'node:path';

import { CfimapError, TimeoutError, open } from './index.js';
import { parseFilter } from './filters.js';
import { numberList } from './attributes.js';
import { changeSummary, folderRecord, folderSummary } from './columns.js';

/** Exit statuses, as the Rust CLI's. */
export const EXIT = { ok: 0, internal: 1, usage: 2, network: 3, auth: 4, refused: 5, protocol: 6 };

/** The exit status for a failed action's error case. */
export function exitOf(kase) {
  switch (kase) {
    case 'invalid-argument':
      return EXIT.usage;
    case 'denied-by-policy':
    case 'connect':
    case 'tls':
    case 'timeout':
    case 'connection-closed':
      return EXIT.network;
    case 'authentication-failed':
      return EXIT.auth;
    case 'folder-not-found':
    case 'folder-exists':
    case 'protected-folder':
    case 'folder-has-children':
    case 'server-refused':
    case 'unsupported':
      return EXIT.refused;
    case 'protocol-violation':
      return EXIT.protocol;
    default:
      return EXIT.internal;
  }
}

/** A mistake on the command line: exit status 2. */
class UsageError extends Error {}

const ACTIONS = [
  'getHeaderOnly',
  'getAll',
  'delete',
  'markRead',
  'markUnread',
  'moveMail',
  'listAllFolders',
  'createFolder',
  'deleteFolder',
  'renameFolder',
  'open',
  'close',
];

/** What the Node CLI leaves to the Rust one. */
const RUST_ONLY = ['run', 'completions', 'man'];

const CONNECTION = ['server', 'port', 'username', 'password', 'passwordstdin', 'token', 'secure', 'timeout', 'deadline', 'cafile'];
const SELECTION = ['uid', 'messagenumber', 'startrow', 'maxrows', 'all'];
const FILTERS = ['filter', 'exclude', 'newest'];

/** Each action's flags, by key (lower case, no `-` or `_`). */
const FLAGS = {
  getHeaderOnly: [...CONNECTION, 'folder', ...SELECTION, ...FILTERS, 'stoponerror'],
  getAll: [...CONNECTION, 'folder', ...SELECTION, ...FILTERS, 'stoponerror', 'attachmentpath', 'generateuniquefilenames'],
  delete: [...CONNECTION, 'folder', ...SELECTION, 'stoponerror'],
  markRead: [...CONNECTION, 'folder', ...SELECTION, 'stoponerror'],
  markUnread: [...CONNECTION, 'folder', ...SELECTION, 'stoponerror'],
  moveMail: [...CONNECTION, 'folder', ...SELECTION, 'stoponerror', 'newfolder'],
  listAllFolders: [...CONNECTION, 'folder', 'recurse'],
  createFolder: [...CONNECTION, 'folder'],
  deleteFolder: [...CONNECTION, 'folder', 'recurse'],
  renameFolder: [...CONNECTION, 'folder', 'newfolder'],
  open: CONNECTION,
  close: [],
};

/** Options of the whole run. */
const GLOBAL = ['format', 'columns', 'quiet', 'profile', 'config', 'verbose'];

const BOOLEAN = new Set(['passwordstdin', 'all', 'newest', 'stoponerror', 'generateuniquefilenames', 'recurse', 'quiet']);
const REPEATED = new Set(['filter', 'exclude']);

/** How flags are spelled in messages. */
const SPELLING = {
  passwordstdin: 'password-stdin',
  messagenumber: 'messagenumber',
  generateuniquefilenames: 'generateuniquefilenames',
};

const spell = (key) => `--${SPELLING[key] ?? key}`;

const flagKey = (name) => name.replace(/[-_]/g, '').toLowerCase();

function parseBool(key, text) {
  switch (text.trim().toLowerCase()) {
    case 'yes':
    case 'true':
      return true;
    case 'no':
    case 'false':
      return false;
    default:
      throw new UsageError(`invalid value ${JSON.stringify(text)} for ${spell(key)}: expected yes, no, true or false`);
  }
}

function parsePositive(key, text) {
  if (!/^\s*-?[0-9]+\s*$/.test(text)) {
    throw new UsageError(`invalid value ${JSON.stringify(text)} for ${spell(key)}: must be a whole number of 1 or more`);
  }
  const n = Number(text.trim());
  if (n < 1) throw new UsageError(`invalid value ${JSON.stringify(text)} for ${spell(key)}: must be 1 or more`);
  if (n > 0xffffffff) throw new UsageError(`invalid value ${JSON.stringify(text)} for ${spell(key)}: number too large`);
  return n;
}

function parsePort(text) {
  const n = /^\s*[0-9]+\s*$/.test(text) ? Number(text.trim()) : NaN;
  if (!(n >= 1 && n <= 65535)) {
    throw new UsageError(`invalid value ${JSON.stringify(text)} for --port: must be a TCP port number from 1 to 65535`);
  }
  return n;
}

function parseSecure(text) {
  switch (text.trim().toLowerCase()) {
    case 'yes':
    case 'true':
    case 'tls':
    case 'ssl':
      return 'tls';
    case 'starttls':
      return 'starttls';
    case 'no':
    case 'false':
    case 'none':
      return 'none';
    default:
      throw new UsageError(`invalid value ${JSON.stringify(text)} for --secure: expected yes (tls, ssl), no (none) or starttls`);
  }
}

/** The actions that take flag `key`, for the error naming them. */
function actionsTaking(key) {
  return ACTIONS.filter((a) => FLAGS[a].includes(key));
}

/**
 * The action and its flags from `argv` (without `node` and the script).
 * @returns {{action: string|null, flags: Map<string, any>, help: boolean, version: boolean}}
 */
export function parseArgs(argv) {
  let action = null;
  const flags = new Map();
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '-h' || word === '--help' || word === 'help') {
      help = true;
      continue;
    }
    if (word === '-V' || word === '--version') {
      version = true;
      continue;
    }
    if (/^-v+$/.test(word) || word === '-q') continue; // logging and progress: none here
    if (!word.startsWith('--')) {
      if (action !== null) throw new UsageError(`unexpected argument ${JSON.stringify(word)}`);
      const named = ACTIONS.find((a) => a.toLowerCase() === word.toLowerCase());
      if (!named) {
        if (RUST_ONLY.includes(word.toLowerCase())) {
          throw new UsageError(`${word.toLowerCase()} is the Rust cfimap's; the Node CLI runs one action at a time`);
        }
        throw new UsageError(`unknown action ${JSON.stringify(word)}; the actions are ${ACTIONS.join(', ')}`);
      }
      action = named;
      continue;
    }
    const eq = word.indexOf('=');
    const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
    const key = flagKey(name);
    let value = eq < 0 ? undefined : word.slice(eq + 1);
    const known = GLOBAL.includes(key) || ACTIONS.some((a) => FLAGS[a].includes(key));
    if (!known) throw new UsageError(`unexpected argument --${name}`);
    if (BOOLEAN.has(key)) {
      if (value === undefined && i + 1 < argv.length && /^(yes|no|true|false)$/i.test(argv[i + 1])) {
        value = argv[++i];
      }
      value = value === undefined ? true : parseBool(key, value);
    } else if (key === 'verbose') {
      value = true;
    } else if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`a value is required for ${spell(key)}`);
      value = argv[++i];
    }
    if (REPEATED.has(key)) {
      flags.set(key, [...(flags.get(key) ?? []), value]);
    } else {
      if (flags.has(key)) throw new UsageError(`the argument ${spell(key)} cannot be used multiple times`);
      flags.set(key, value);
    }
  }
  if (action !== null) {
    for (const key of flags.keys()) {
      if (!GLOBAL.includes(key) && !FLAGS[action].includes(key)) {
        throw new UsageError(`${spell(key)} does not apply to ${action}; it is an attribute of ${actionsTaking(key).join(', ')}`);
      }
    }
  }
  return { action, flags, help, version };
}

/** `--attachmentpath` made absolute as the Rust CLI makes it (no `..` folded). */
function absolute(p) {
  const joined = path.isAbsolute(p) ? p : `${process.cwd()}/${p}`;
  return joined.replace(/\/(\.\/)+/g, '/').replace(/\/{2,}/g, '/').replace(/\/\.$/, '/');
}

/** The connection options from flags and the environment. */
function connection(action, flags, env, stdin) {
  const server = flags.get('server') ?? env.CFIMAP_SERVER;
  if (!server) throw new UsageError(`${action} needs --server`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(server) || (/:[0-9]*$/.test(server) && !server.includes('::') && server.split(':').length === 2)) {
    throw new UsageError(`--server takes a host name only, not ${JSON.stringify(server)}: give the port with --port`);
  }
  const username = flags.get('username') ?? env.CFIMAP_USERNAME;
  if (!username) throw new UsageError(`${action} needs --username`);
  const portText = flags.get('port') ?? env.CFIMAP_PORT;
  const port = portText === undefined ? undefined : parsePort(portText);
  const secure = flags.has('secure') ? parseSecure(flags.get('secure')) : undefined;
  const timeout = flags.has('timeout') ? parsePositive('timeout', flags.get('timeout')) : undefined;
  let deadline = 3600;
  if (flags.has('deadline')) {
    const d = flags.get('deadline');
    if (!/^\s*[0-9]+\s*$/.test(d)) throw new UsageError(`invalid value ${JSON.stringify(d)} for --deadline: a whole number of seconds`);
    deadline = Number(d.trim());
  }
  // The first source that gives one wins: a flag, stdin, the environment.
  let password = flags.get('password');
  let token = flags.get('token');
  if (password === undefined && token === undefined && flags.get('passwordstdin') === true) {
    password = stdin();
    if (password === '') throw new UsageError('--password-stdin: stdin held no password');
  }
  if (password === undefined && token === undefined) {
    password = env.CFIMAP_PASSWORD || undefined;
    if (password === undefined) token = env.CFIMAP_TOKEN || undefined;
  }
  if (password === undefined && token === undefined) {
    throw new UsageError(`${action} needs a password: --password, --password-stdin or CFIMAP_PASSWORD (or --token)`);
  }
  return { server, port, username, password, token, secure, timeout, cafile: flags.get('cafile'), deadline };
}

const HELP = `cfimap (Node host): ColdFusion's cfimap tag on the command line, run by the
cfimap WebAssembly component in Node.js.

Usage: cfimap.mjs <ACTION> [FLAGS]

Actions: ${ACTIONS.join(', ')}

Connection: --server HOST --port PORT --username NAME --password P | --password-stdin | --token T
            --secure yes|no|starttls --cafile PEM --timeout SECONDS --deadline SECONDS
            (or CFIMAP_SERVER, CFIMAP_PORT, CFIMAP_USERNAME, CFIMAP_PASSWORD, CFIMAP_TOKEN)
Attributes: --folder --newfolder --uid LIST --messagenumber LIST --startrow N --maxrows N --all
            --filter NAME=VALUE --exclude NAME=VALUE --newest --recurse --stoponerror BOOL
            --attachmentpath DIR --generateuniquefilenames
Output:     --format json|ndjson (default json)

Flags, exit statuses and JSON are the Rust cfimap's: 0 success; 2 bad usage or invalid
attribute; 3 connection, TLS, policy or timeout; 4 authentication failed; 5 the server
refused; 6 protocol violation; 1 anything else.
`;

/**
 * Runs the CLI: `argv` without `node` and the script. Returns the exit
 * status; writes results to `out` and the one line of a failure to `err`.
 */
export async function main(argv, { env = process.env, out = process.stdout, err = process.stderr, stdin } = {}) {
  const readStdin = stdin ?? firstLine;
  const secrets = [];
  const fail = (status, message) => {
    let text = message.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
    for (const s of secrets) if (s && [...s].length >= 4) text = text.split(s).join('******');
    err.write(`cfimap: ${text.split(/\s+/).filter(Boolean).join(' ')}\n`);
    return status;
  };
  let parsed;
  let conn;
  let format;
  try {
    parsed = parseArgs(argv);
    if (parsed.help) {
      out.write(HELP);
      return EXIT.ok;
    }
    if (parsed.version) {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
      out.write(`cfimap (node) ${pkg.version}\n`);
      return EXIT.ok;
    }
    if (!parsed.action) throw new UsageError(`name an action: ${ACTIONS.join(', ')}`);
    const { flags } = parsed;
    format = (flags.get('format') ?? 'json').toLowerCase();
    if (format === 'table' || format === 'csv') {
      throw new UsageError(`--format ${format} is the Rust cfimap's; the Node CLI writes json or ndjson`);
    }
    if (format !== 'json' && format !== 'ndjson') {
      throw new UsageError(`invalid value ${JSON.stringify(flags.get('format'))} for --format: expected json or ndjson`);
    }
    if (flags.has('columns')) throw new UsageError('--columns applies to --format table only');
    for (const key of ['profile', 'config']) {
      if (flags.has(key)) throw new UsageError(`--${key}: profiles are the Rust cfimap's; give the connection as flags or CFIMAP_* variables`);
    }
    plan(parsed.action, flags);
    if (parsed.action === 'close') {
      writeJson(out, { action: 'close' });
      return EXIT.ok;
    }
    conn = connection(parsed.action, flags, env, readStdin);
    secrets.push(conn.password, conn.token);
  } catch (e) {
    if (e instanceof UsageError || e instanceof CfimapError) return fail(EXIT.usage, e.message);
    throw e;
  }
  try {
    await withDeadline(conn.deadline, (watch) => run(parsed.action, parsed.flags, conn, format, out, watch));
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CfimapError) return fail(exitOf(e.case), e.message);
    if (e && e.code === 'EPIPE') return EXIT.ok;
    return fail(EXIT.internal, String(e && e.message ? e.message : e));
  }
}

/** The first line of stdin, without its line end: read no further. */
function firstLine() {
  const byte = Buffer.alloc(1);
  const line = [];
  for (;;) {
    let n;
    try {
      n = readSync(0, byte, 0, 1, null);
    } catch (e) {
      if (e.code === 'EOF') break;
      if (e.code === 'EAGAIN') continue;
      throw new UsageError(`cannot read the password from stdin: ${e.message}`);
    }
    if (n === 0 || byte[0] === 0x0a) break;
    line.push(byte[0]);
  }
  return Buffer.from(line).toString('utf8').replace(/\r$/, '');
}

/** Checks what can be checked before connecting (a usage error, exit 2). */
function plan(action, flags) {
  for (const name of ['folder', 'newfolder']) {
    const v = flags.get(name);
    if (v !== undefined && /[\r\n\0]/.test(v)) {
      throw new UsageError(`invalid ${name}: a folder name cannot contain CR, LF or NUL`);
    }
  }
  if (['createFolder', 'deleteFolder', 'renameFolder'].includes(action) && !flags.has('folder')) {
    throw new UsageError(`${action} needs --folder`);
  }
  if (['renameFolder', 'moveMail'].includes(action) && !flags.has('newfolder')) {
    throw new UsageError(`${action} needs --newfolder`);
  }
  if (flags.get('all') === true) {
    const other = ['uid', 'messagenumber', 'startrow', 'maxrows'].find((k) => flags.has(k));
    if (other) throw new UsageError(`--all selects every message and cannot go with --${other}: give one or the other`);
  }
  const selected = ['uid', 'messagenumber', 'startrow', 'maxrows'].some((k) => flags.has(k)) || flags.get('all') === true;
  if ((action === 'delete' || action === 'moveMail') && !selected) {
    throw new UsageError(
      `${action} needs a selection: --uid, --messagenumber, --startrow/--maxrows, or --all for every message of the folder`,
    );
  }
  for (const key of ['startrow', 'maxrows']) {
    if (flags.has(key)) flags.set(key, parsePositive(key, flags.get(key)));
  }
  for (const key of ['uid', 'messagenumber']) {
    if (flags.has(key)) {
      try {
        flags.set(key, numberList(key, flags.get(key)));
      } catch (e) {
        throw new UsageError(e.message);
      }
    }
  }
  try {
    flags.set('filter', (flags.get('filter') ?? []).map((f) => parseFilter(f, false)));
    flags.set('exclude', (flags.get('exclude') ?? []).map((f) => parseFilter(f, true)));
  } catch (e) {
    throw new UsageError(e.message);
  }
  if (flags.has('attachmentpath')) flags.set('attachmentpath', absolute(flags.get('attachmentpath')));
}

/** The longest delay a timer takes (about 24.8 days); a longer deadline is none. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs `body` under the deadline (seconds; 0: none). Past it, a timeout is
 * thrown at once, and the session — open, or still opening — is stopped:
 * no action starts after the deadline.
 */
async function withDeadline(seconds, body) {
  const watch = { expired: false, session: null };
  if (seconds === 0 || seconds * 1000 > LONGEST_TIMER_MS) return body(watch);
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => {
      watch.expired = true;
      watch.session?.stop();
      reject(new TimeoutError(`the action took longer than its deadline of ${seconds} s`));
    }, seconds * 1000);
  });
  try {
    return await Promise.race([body(watch), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens the session, runs the action, closes the session. */
async function run(action, flags, conn, format, out, watch) {
  const attachmentpath = flags.get('attachmentpath');
  const session = await open({
    server: conn.server,
    port: conn.port,
    username: conn.username,
    password: conn.password,
    token: conn.token,
    secure: conn.secure,
    timeout: conn.timeout,
    cafile: conn.cafile,
    // Exactly the directory this run names, as the Rust CLI allows.
    attachments: attachmentpath ? { within: [attachmentpath] } : null,
  });
  watch.session = session;
  if (watch.expired) {
    // Opened after the deadline: the run has failed already.
    session.stop();
    return;
  }
  try {
    await act(action, flags, conn, session, format, out);
  } catch (e) {
    // The action's error is what matters; LOGOUT is a courtesy.
    await session.close().catch(() => {});
    throw e;
  }
  await session.close();
}

/** The attributes of `flags` as the API takes them. */
function attributes(flags) {
  return {
    folder: flags.get('folder'),
    newfolder: flags.get('newfolder'),
    uid: flags.get('uid'),
    messagenumber: flags.get('messagenumber'),
    startrow: flags.get('startrow'),
    maxrows: flags.get('maxrows'),
    all: flags.get('all') === true,
    filters: [...flags.get('filter'), ...flags.get('exclude')],
    newestFirst: flags.get('newest') === true,
    recurse: flags.get('recurse') === true,
    stoponerror: flags.get('stoponerror') ?? true,
    attachmentpath: flags.get('attachmentpath'),
    generateuniquefilenames: flags.get('generateuniquefilenames') === true,
  };
}

async function act(action, flags, conn, session, format, out) {
  const a = attributes(flags);
  switch (action) {
    case 'open':
      return writeJson(out, {
        action,
        server: conn.server,
        port: conn.port ?? (conn.secure === 'tls' ? 993 : 143),
        username: conn.username,
      });
    case 'getHeaderOnly':
    case 'getAll':
      return streamRows(session, action, a, format, out);
    case 'listAllFolders': {
      const rows = (await session.listAllFolders(a)).map(folderRecord);
      return format === 'ndjson' ? writeLines(out, rows) : writeJson(out, rows);
    }
    case 'createFolder':
      return writeJson(out, folderSummary(action, a.folder, a.newfolder, (await session.createFolder(a)).folders));
    case 'deleteFolder':
      return writeJson(out, folderSummary(action, a.folder, a.newfolder, (await session.deleteFolder(a)).folders));
    case 'renameFolder':
      return writeJson(out, folderSummary(action, a.folder, a.newfolder, (await session.renameFolder(a)).folders));
    case 'delete':
    case 'markRead':
    case 'markUnread':
    case 'moveMail':
      return writeJson(out, changeSummary(action, await session[action](a), a.newfolder));
    default:
      throw new UsageError(`unknown action ${action}`);
  }
}

/**
 * Rows written as they arrive, a batch per write, as the component
 * serialises them (the tag's JSON lines): memory stays at one batch.
 */
async function streamRows(session, action, a, format, out) {
  const batches = session.ndjson(action, a);
  // The first rows, or the refusal of the read, before anything is printed.
  let step = await batches.next();
  let first = true;
  if (format === 'json') await write(out, '[');
  for (; !step.done; step = await batches.next()) {
    let bytes = step.value;
    if (format === 'json') {
      // NDJSON to the elements of one array: a JSON text holds no raw
      // newline, so every one ends a row; the last one goes.
      bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length - 1);
      for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) bytes[i] = 0x2c;
      if (!first) await write(out, ',');
    }
    await write(out, bytes);
    first = false;
  }
  if (format === 'json') await write(out, ']\n');
}

/** Writes `text`, waiting when the stream asks to. */
function write(out, text) {
  return new Promise((resolve, reject) => {
    const onError = (e) => reject(e);
    out.once?.('error', onError);
    if (out.write(text)) {
      out.off?.('error', onError);
      resolve();
    } else {
      out.once('drain', () => {
        out.off?.('error', onError);
        resolve();
      });
    }
  });
}

function writeJson(out, value) {
  return write(out, `${JSON.stringify(value)}\n`);
}

async function writeLines(out, values) {
  for (const value of values) await write(out, `${JSON.stringify(value)}\n`);
}
