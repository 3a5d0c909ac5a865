// Types of the cfimap Node host (lib/index.js). The records of the WIT
// package cfimap:imap (rows, reports, filters) come from the declarations
// jco generates beside the transpiled component (gen/).

import type {
  ChangeReport as WitChangeReport,
  Filter,
  FolderChange,
  FolderRow,
  MessageRow as WitMessageRow,
} from '../gen/interfaces/cfimap-imap-types.js';

export type { Filter, FolderChange, FolderRow };

/** A message's row: the tag's columns, in the component's (camelCase) names. */
export type MessageRow = Omit<WitMessageRow, 'size'> & {
  /** RFC822.SIZE in bytes. */
  size: number;
};

/** What delete, markRead, markUnread and moveMail did. */
export type ChangeReport = Omit<WitChangeReport, 'uids'> & {
  /** The UIDs the action applied to. */
  uids: number[];
};

/** `action="open"`'s attributes, and what the host allows the component. */
export interface OpenOptions {
  /** Host name or IP address of the IMAP server: the only host the session may reach. */
  server: string;
  /** TCP port; default 993 with `secure: 'tls'`, else 143. */
  port?: number;
  /** The login name. */
  username: string;
  /** The password (never logged, never in an error). */
  password?: string;
  /** An OAuth 2.0 bearer token instead of a password (XOAUTH2 / OAUTHBEARER). */
  token?: string;
  /**
   * `'tls'`: implicit TLS; `'starttls'`: STARTTLS required; `'none'`: plaintext.
   * Absent: STARTTLS when offered, plaintext only to a loopback server.
   */
  secure?: 'tls' | 'starttls' | 'none';
  /** Seconds for the connect and for each wait for the server (default 60). */
  timeout?: number;
  /** A PEM file of certificate authorities trusted besides Node's Mozilla roots. */
  cafile?: string;
  /** The same, as PEM text. */
  ca?: string;
  /**
   * Where getAll may write attachments: `{ within: [dirs] }` (those
   * directories and below), `'anywhere'`, or absent (nowhere).
   */
  attachments?: { within: string[] } | 'anywhere' | null;
}

/** The tag's selection: `uid`, else `messagenumber`, else `startrow`/`maxrows`; `all` for every message. */
export interface Selection {
  /** UIDs: numbers, or text such as `'1,3:5'`. */
  uid?: number[] | string;
  /** Message sequence numbers, as `uid`. */
  messagenumber?: number[] | string;
  /** The first row of the window (1-based). */
  startrow?: number;
  /** The most rows of the window. */
  maxrows?: number;
  /** Every message (required for delete and moveMail when nothing else is given). */
  all?: boolean;
}

/** getHeaderOnly's and getAll's attributes. */
export interface ReadAttributes extends Selection {
  /** The folder (default INBOX). */
  folder?: string;
  /** `<cfimapfilter>`s: WIT records, or `NAME=VALUE` as `--filter` takes them. */
  filters?: Array<Filter | string>;
  /** Filters that must not match, as `NAME=VALUE`. */
  exclude?: string[];
  /** Newest messages first (beyond the tag). */
  newestFirst?: boolean;
  /** `false`: a failing message becomes a row with `error` (default true). */
  stoponerror?: boolean;
  /** getAll: the directory to save attachments in (must be allowed by `attachments`). */
  attachmentpath?: string;
  /** getAll: `name1.ext`, `name2.ext`, … rather than replacing a file. */
  generateuniquefilenames?: boolean;
}

/** delete's, markRead's and markUnread's attributes. */
export interface ChangeAttributes extends Selection {
  folder?: string;
  stoponerror?: boolean;
}

/** `action="open"`: connects, secures and logs in. */
export function open(options: OpenOptions): Promise<Session>;

/** A logged-in IMAP session: the tag's named connection. */
export class Session {
  private constructor();
  getHeaderOnly(attributes?: ReadAttributes): Promise<MessageRow[]>;
  getAll(attributes?: ReadAttributes): Promise<MessageRow[]>;
  /** getHeaderOnly or getAll a batch at a time; leaving the loop early abandons the read. */
  rows(
    action: 'getHeaderOnly' | 'getAll',
    attributes?: ReadAttributes,
    options?: { batch?: number },
  ): AsyncGenerator<MessageRow, void, undefined>;
  /** The same read an array of at most `batch` rows at a time. */
  batches(
    action: 'getHeaderOnly' | 'getAll',
    attributes?: ReadAttributes,
    options?: { batch?: number },
  ): AsyncGenerator<MessageRow[], void, undefined>;
  /**
   * The same read as the tag's JSON lines, serialised by the component: NDJSON
   * bytes a batch, keyed by the tag's column names in upper case.
   */
  ndjson(
    action: 'getHeaderOnly' | 'getAll',
    attributes?: ReadAttributes,
    options?: { batch?: number },
  ): AsyncGenerator<Uint8Array, void, undefined>;
  delete(attributes: ChangeAttributes): Promise<ChangeReport>;
  markRead(attributes?: ChangeAttributes): Promise<ChangeReport>;
  markUnread(attributes?: ChangeAttributes): Promise<ChangeReport>;
  moveMail(attributes: ChangeAttributes & { newfolder: string }): Promise<ChangeReport>;
  listAllFolders(attributes?: { folder?: string; recurse?: boolean }): Promise<FolderRow[]>;
  createFolder(attributes: { folder: string }): Promise<FolderChange>;
  deleteFolder(attributes: { folder: string; recurse?: boolean }): Promise<FolderChange>;
  renameFolder(attributes: { folder: string; newfolder: string }): Promise<FolderChange>;
  /** `action="close"`: logs out and ends the session's threads. */
  close(): Promise<void>;
}

/** Every error of a failed action; `case` is the WIT error case. */
export class CfimapError extends Error {
  readonly case: string;
  readonly detail: unknown;
}
export class InvalidArgumentError extends CfimapError {
  readonly attribute: string;
  readonly reason: string;
}
export class ServerRefusedError extends CfimapError {
  readonly command: string;
  readonly status: 'ok' | 'no' | 'bad';
  readonly code: string | undefined;
  readonly text: string;
}
export class DeniedByPolicyError extends CfimapError {}
export class ConnectError extends CfimapError {}
export class TlsError extends CfimapError {}
export class TimeoutError extends CfimapError {}
export class AuthenticationFailedError extends CfimapError {}
export class FolderNotFoundError extends CfimapError {}
export class FolderExistsError extends CfimapError {}
export class ProtectedFolderError extends CfimapError {}
export class FolderHasChildrenError extends CfimapError {}
export class ProtocolViolationError extends CfimapError {}
export class ConnectionClosedError extends CfimapError {}
export class UnsupportedError extends CfimapError {}
export class SessionClosedError extends CfimapError {}
export class BusyError extends CfimapError {}
/** The component trapped (a bug, or a resource limit): the session is gone. */
export class ComponentFailedError extends CfimapError {}

/** A UID or message-number list as the CLI takes it (`'1,3:5'`). */
export function numberList(attribute: string, list: string | number | number[]): number[];
/** One `NAME=VALUE` filter as a WIT filter record (`negated`: `--exclude`). */
export function parseFilter(spec: string, negated?: boolean): Filter;
/** The names `parseFilter` takes. */
export const FILTER_NAMES: string;
