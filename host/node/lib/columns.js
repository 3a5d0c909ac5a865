// Rows and reports keyed as the Rust CLI prints them (host/cli/src/output.rs
// and actions.rs): the tag's column names in upper case, in the same order,
// `null` for an absent value — so both CLIs write the same JSON.

/** The columns of listAllFolders. */
export const FOLDER_COLUMNS = [
  'FULLNAME',
  'NAME',
  'PARENT',
  'DELIMITER',
  'TOTALMESSAGES',
  'UNREAD',
  'NEW',
  'ATTRIBUTES',
  'SPECIALUSE',
];

/** The columns of getHeaderOnly: the header columns, and ERROR. */
export const HEADER_COLUMNS = [
  'MESSAGENUMBER',
  'UID',
  'SUBJECT',
  'FROM',
  'TO',
  'CC',
  'REPLYTO',
  'MESSAGEID',
  'DATE',
  'SENTDATE',
  'RXDDATE',
  'SIZE',
  'LINES',
  'HEADER',
  'ANSWERED',
  'DELETED',
  'DRAFT',
  'FLAGGED',
  'RECENT',
  'SEEN',
  'USER',
  'ERROR',
];

/** The columns of getAll: every field of `message-row`. */
export const MESSAGE_COLUMNS = [
  ...HEADER_COLUMNS.slice(0, -1),
  'BODY',
  'TEXTBODY',
  'HTMLBODY',
  'ATTACHMENTS',
  'ATTACHMENTFILES',
  'CIDS',
  'DELIVERYSTATUS',
  'ERROR',
];

/** `undefined` (an absent option) as `null`. */
const v = (x) => (x === undefined ? null : x);

/** A message row (the component's record) keyed by column. `bodies`: getAll. */
export function messageRecord(row, bodies) {
  const record = {
    MESSAGENUMBER: row.messagenumber,
    UID: row.uid,
    SUBJECT: v(row.subject),
    FROM: row.from,
    TO: row.to,
    CC: row.cc,
    REPLYTO: row.replyto,
    MESSAGEID: row.messageid,
    DATE: v(row.date),
    SENTDATE: v(row.sentdate),
    RXDDATE: v(row.rxddate),
    SIZE: row.size,
    LINES: v(row.lines),
    HEADER: row.header,
    ANSWERED: row.answered,
    DELETED: row.deleted,
    DRAFT: row.draft,
    FLAGGED: row.flagged,
    RECENT: row.recent,
    SEEN: row.seen,
    USER: row.user,
  };
  if (bodies) {
    Object.assign(record, {
      BODY: v(row.body),
      TEXTBODY: v(row.textbody),
      HTMLBODY: v(row.htmlbody),
      ATTACHMENTS: row.attachments,
      ATTACHMENTFILES: row.attachmentfiles,
      CIDS: Object.fromEntries(row.cids),
      DELIVERYSTATUS: v(row.deliverystatus),
    });
  }
  record.ERROR = v(row.error);
  return record;
}

/** A folder row keyed by column. */
export function folderRecord(row) {
  return {
    FULLNAME: row.fullname,
    NAME: row.name,
    PARENT: row.parent,
    DELIMITER: v(row.delimiter),
    TOTALMESSAGES: v(row.totalmessages),
    UNREAD: v(row.unread),
    NEW: v(row.new),
    ATTRIBUTES: row.attributes,
    SPECIALUSE: v(row.specialuse),
  };
}

/** The report of delete, markRead, markUnread or moveMail. */
export function changeSummary(action, report, newfolder) {
  const out = { action, folder: report.folder };
  if (action === 'moveMail') out.newfolder = v(newfolder);
  out.affected = report.affected;
  out.uids = Array.from(report.uids);
  if (action === 'moveMail') {
    out.newuids = report.newUids.map((m) => ({ uid: m.uid, newuid: m.newUid }));
  }
  out.failures = report.failures;
  return out;
}

/** The report of createFolder, deleteFolder or renameFolder. */
export function folderSummary(action, folder, newfolder, folders) {
  const out = { action, folder: v(folder) };
  if (action === 'renameFolder') out.newfolder = v(newfolder);
  out.affected = folders.length;
  out.folders = folders;
  return out;
}
