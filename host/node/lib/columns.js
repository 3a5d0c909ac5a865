// Folder rows and reports keyed as the Rust CLI prints them
// (host/cli/src/output.rs and actions.rs): the tag's column names in upper
// case, in the same order, `null` for an absent value — so both CLIs write
// the same JSON. Message rows need none of this: the component serialises
// them itself (`row-reader.next-ndjson`).

/** `undefined` (an absent option) as `null`. */
const v = (x) => (x === undefined ? null : x);

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
