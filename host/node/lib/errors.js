// Errors of the cfimap Node host: one `Error` subclass per case of the WIT
// variant `cfimap:imap/types.error`, so a caller can `instanceof` the case
// it handles and read `error.case` (the WIT name) when it needs to switch.

/** Every error this package throws for a failed action. */
export class CfimapError extends Error {
  /**
   * @param {string} kase the WIT case name (`folder-not-found`, …)
   * @param {string} message what happened, in words
   * @param {unknown} [detail] the case's payload, as the component gave it
   */
  constructor(kase, message, detail) {
    super(message);
    this.name = new.target.name;
    /** The WIT case of `cfimap:imap/types.error`. */
    this.case = kase;
    /** The case's payload (a string, a record, or undefined). */
    this.detail = detail;
  }
}

/** `invalid-argument`: an attribute has a wrong or missing value. */
export class InvalidArgumentError extends CfimapError {
  constructor(detail) {
    super('invalid-argument', `invalid ${detail.attribute}: ${detail.reason}`, detail);
    /** The attribute's name, as the tag spells it. */
    this.attribute = detail.attribute;
    /** Why its value is wrong. */
    this.reason = detail.reason;
  }
}

/** `server-refused`: the server answered NO or BAD. */
export class ServerRefusedError extends CfimapError {
  constructor(detail) {
    const code = detail.code === undefined ? '' : ` [${codeName(detail.code)}]`;
    const text = detail.text ? ` ${detail.text}` : '';
    super(
      'server-refused',
      `server refused ${detail.command}: ${detail.status.toUpperCase()}${code}${text}`,
      detail,
    );
    /** The IMAP command refused (`SELECT`, `UID MOVE`, …). */
    this.command = detail.command;
    /** `no` or `bad`. */
    this.status = detail.status;
    /** The response code's name in upper case (`TRYCREATE`), or undefined. */
    this.code = detail.code === undefined ? undefined : codeName(detail.code);
    /** The server's own words. */
    this.text = detail.text;
  }
}

/** The name of a `response-code` as the server wrote it. */
function codeName(code) {
  return (code.tag === 'other' ? code.val : code.tag.replace(/-/g, '')).toUpperCase();
}

/**
 * The cases whose payload is a string (or nothing): class name and the
 * words that start the message, as the Rust host's `Error` says them.
 */
const SIMPLE = {
  'denied-by-policy': ['DeniedByPolicyError', 'denied by policy'],
  connect: ['ConnectError', 'cannot connect'],
  tls: ['TlsError', 'TLS'],
  timeout: ['TimeoutError', 'timeout'],
  'authentication-failed': ['AuthenticationFailedError', 'authentication failed'],
  'folder-not-found': ['FolderNotFoundError', 'folder not found'],
  'folder-exists': ['FolderExistsError', 'folder exists'],
  'protected-folder': ['ProtectedFolderError', 'protected folder'],
  'folder-has-children': ['FolderHasChildrenError', 'folder has subfolders'],
  'protocol-violation': ['ProtocolViolationError', 'protocol violation by the server'],
  'connection-closed': ['ConnectionClosedError', 'connection closed'],
  unsupported: ['UnsupportedError', 'unsupported by the server'],
  'session-closed': ['SessionClosedError', 'the session is closed'],
  busy: ['BusyError', 'busy'],
};

/** The error classes of the simple cases, by class name. */
const classes = {};
for (const [kase, [name, words]] of Object.entries(SIMPLE)) {
  // A named class per case: `instanceof FolderNotFoundError` works, and
  // stack traces say which case it was.
  classes[name] = {
    [name]: class extends CfimapError {
      constructor(detail) {
        super(kase, detail === undefined ? words : `${words}: ${detail}`, detail);
      }
    },
  }[name];
}

export const {
  DeniedByPolicyError,
  ConnectError,
  TlsError,
  TimeoutError,
  AuthenticationFailedError,
  FolderNotFoundError,
  FolderExistsError,
  ProtectedFolderError,
  FolderHasChildrenError,
  ProtocolViolationError,
  ConnectionClosedError,
  UnsupportedError,
  SessionClosedError,
  BusyError,
} = classes;

/**
 * The component failed outright (a trap: a bug in cfimap, or a resource
 * limit of the host); the session is gone. Not a WIT case.
 */
export class ComponentFailedError extends CfimapError {
  constructor(message) {
    super('component-failed', `the cfimap component failed: ${message}`, message);
  }
}

/**
 * The error for a WIT `error` payload (`{tag, val}`), as the component
 * worker passed it on.
 * @param {{tag: string, val?: unknown}} payload
 * @returns {CfimapError}
 */
export function fromPayload(payload) {
  switch (payload.tag) {
    case 'invalid-argument':
      return new InvalidArgumentError(payload.val);
    case 'server-refused':
      return new ServerRefusedError(payload.val);
    case 'component-failed':
      return new ComponentFailedError(payload.val);
    default: {
      const known = SIMPLE[payload.tag];
      if (!known) return new ComponentFailedError(`unknown error case ${payload.tag}`);
      return new classes[known[0]](payload.val);
    }
  }
}
