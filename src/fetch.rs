//! The read actions, getHeaderOnly and getAll: EXAMINE, resolve the
//! selection, then one `UID FETCH` per window of messages (DESIGN §3, §4).
//!
//! Reading never changes the mailbox: the folder is opened with EXAMINE and
//! bodies are fetched with `BODY.PEEK`, so `\Seen` stays as it was. Windows
//! are bounded both by the command-line budget of their UID set and, for
//! whole messages, by their total size, so memory stays bounded whatever the
//! selection.

use std::collections::HashMap;

use imap_codec::imap_types::body::{BodyStructure, SpecificFields};
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::core::Vec1;
use imap_codec::imap_types::fetch::{
    MacroOrMessageDataItemNames, MessageDataItem, MessageDataItemName, Section,
};
use imap_codec::imap_types::flag::FlagFetch;
use imap_codec::imap_types::response::Data;

use crate::bindings::cfimap::imap::types::{MessageRow, ReadOptions, Selection};
use crate::error::{Error, Result};
use crate::mailbox::{self, Folder};
use crate::rows;
use crate::selection::{self, SET_BUDGET};
use crate::session::Session;

/// Total message bytes fetched in one window of getAll.
const WINDOW_BYTES: u64 = 32 * 1024 * 1024;

/// What the server sent for one message.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Sequence number.
    pub seq: u32,
    /// Unique identifier.
    pub uid: u32,
    /// Flags, `\Recent` included.
    pub flags: Vec<FlagFetch<'static>>,
    /// RFC822.SIZE.
    pub size: Option<u32>,
    /// INTERNALDATE as RFC 3339.
    pub internal_date: Option<String>,
    /// The header block (getHeaderOnly) or the whole message (getAll).
    pub bytes: Option<Vec<u8>>,
    /// The body's line count from the server's BODY structure (getHeaderOnly);
    /// RFC 3501 §7.4.2 defines it for `text/*` and `message/rfc822` bodies only.
    pub lines: Option<u32>,
}

/// Which read action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// getHeaderOnly: the header block only.
    Headers,
    /// getAll: the whole message.
    Whole,
}

/// Runs getHeaderOnly or getAll.
pub fn read(
    session: &mut Session,
    folder: Option<&str>,
    selection: &Selection,
    options: &ReadOptions,
    depth: Depth,
) -> Result<Vec<MessageRow>> {
    if let Some(path) = &options.attachmentpath
        && (path.trim().is_empty() || path.contains('\0'))
    {
        return Err(Error::invalid("attachmentpath", "is empty or contains NUL"));
    }
    let folder = match folder {
        None => Folder::inbox(),
        Some(f) => mailbox::resolve(session.namespace(), "folder", f)?,
    };
    let opened = selection::open(session, folder, true)?;
    let uids = selection::resolve(session, &opened, selection)?;
    let windows = match depth {
        Depth::Headers => selection::sets(&uids),
        Depth::Whole => windows_by_size(session, &uids)?,
    };
    let mut rows = Vec::with_capacity(uids.len());
    for window in windows {
        let (mut fetched, refusal) = fetch(session, &window, depth)?;
        if let Some(e) = &refusal
            && options.stoponerror
        {
            return Err(about_uids(e.clone(), &window));
        }
        for uid in selection::expand(&window) {
            let message = match fetched.remove(&uid) {
                Some(message) => message,
                // Refused: the messages the server did not deliver failed.
                None if refusal.is_some() => {
                    let reason = refusal.as_ref().map(Error::to_string).unwrap_or_default();
                    rows.push(rows::failed(0, uid, &reason));
                    continue;
                }
                // A message expunged meanwhile by someone else is simply gone.
                None => continue,
            };
            if message.bytes.is_none() {
                let e = Error::IncompleteAnswer(format!(
                    "the server's FETCH answer for UID {uid} carried no message data"
                ));
                if options.stoponerror {
                    return Err(e);
                }
                rows.push(rows::failed(message.seq, uid, &e.to_string()));
                continue;
            }
            match rows::build(message, depth, options) {
                Ok(row) => rows.push(row),
                Err(e) if options.stoponerror || e.breaks_session() => {
                    return Err(about_uids(e, &uid.to_string()));
                }
                Err(e) => rows.push(rows::failed(0, uid, &e.to_string())),
            }
        }
    }
    rows.sort_by_key(|r| (r.messagenumber, r.uid));
    Ok(rows)
}

/// Splits the UIDs into windows whose messages add up to at most
/// [`WINDOW_BYTES`] (a larger message gets a window of its own).
fn windows_by_size(session: &mut Session, uids: &[u32]) -> Result<Vec<String>> {
    let mut sizes = HashMap::new();
    for set in selection::sets(uids) {
        let done = session.run(fetch_command(&set, vec![MessageDataItemName::Rfc822Size])?)?;
        for (uid, fetched) in collect(done.data) {
            sizes.insert(uid, fetched.size.unwrap_or(0));
        }
    }
    let mut windows = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    let mut bytes = 0u64;
    for &uid in uids {
        let Some(&size) = sizes.get(&uid) else {
            continue;
        };
        if !current.is_empty() && bytes + u64::from(size) > WINDOW_BYTES {
            windows.extend(selection::sets(&current));
            current.clear();
            bytes = 0;
        }
        current.push(uid);
        bytes += u64::from(size);
    }
    windows.extend(selection::sets(&current));
    debug_assert!(windows.iter().all(|w| w.len() <= SET_BUDGET));
    Ok(windows)
}

/// One `UID FETCH` of a window: what arrived, and the server's refusal if
/// it ended the command with NO or BAD.
fn fetch(
    session: &mut Session,
    set: &str,
    depth: Depth,
) -> Result<(HashMap<u32, Fetched>, Option<Error>)> {
    let section = match depth {
        Depth::Headers => Some(Section::Header(None)),
        Depth::Whole => None,
    };
    let mut items = vec![
        MessageDataItemName::Uid,
        MessageDataItemName::Flags,
        MessageDataItemName::Rfc822Size,
        MessageDataItemName::InternalDate,
        MessageDataItemName::BodyExt {
            section,
            partial: None,
            peek: true,
        },
    ];
    // LINES without the body: the server counts them (getAll counts itself).
    if depth == Depth::Headers {
        items.push(MessageDataItemName::Body);
    }
    let (done, refusal) = session.run_keeping_data(fetch_command(set, items)?)?;
    Ok((collect(done.data), refusal))
}

fn fetch_command(
    set: &str,
    items: Vec<MessageDataItemName<'static>>,
) -> Result<CommandBody<'static>> {
    Ok(CommandBody::Fetch {
        sequence_set: selection::parse_set(set)?,
        macro_or_item_names: MacroOrMessageDataItemNames::MessageDataItemNames(items),
        uid: true,
    })
}

/// The FETCH responses in `data`, by UID; items of one message that came in
/// several responses are merged.
fn collect(data: Vec<Data<'static>>) -> HashMap<u32, Fetched> {
    let mut by_seq: HashMap<u32, Fetched> = HashMap::new();
    for item in data {
        let Data::Fetch { seq, items } = item else {
            continue;
        };
        let entry = by_seq.entry(seq.get()).or_default();
        entry.seq = seq.get();
        for item in Vec1::into_iter(items) {
            match item {
                MessageDataItem::Uid(uid) => entry.uid = uid.get(),
                MessageDataItem::Flags(flags) => entry.flags = flags,
                MessageDataItem::Rfc822Size(size) => entry.size = Some(size),
                MessageDataItem::InternalDate(date) => {
                    entry.internal_date = Some(date.as_ref().to_rfc3339());
                }
                MessageDataItem::BodyExt { data, .. } => {
                    entry.bytes = Some(data.0.map(|s| s.as_ref().to_vec()).unwrap_or_default());
                }
                MessageDataItem::Body(structure) | MessageDataItem::BodyStructure(structure) => {
                    entry.lines = body_lines(&structure);
                }
                _ => {}
            }
        }
    }
    by_seq
        .into_values()
        .filter(|f| f.uid != 0)
        .map(|f| (f.uid, f))
        .collect()
}

/// The line count a BODY structure gives: known for a single `text/*` or
/// `message/rfc822` body, unknown (as in JavaMail) for multipart and others.
fn body_lines(structure: &BodyStructure<'_>) -> Option<u32> {
    match structure {
        BodyStructure::Single { body, .. } => match body.specific {
            SpecificFields::Text {
                number_of_lines, ..
            }
            | SpecificFields::Message {
                number_of_lines, ..
            } => Some(number_of_lines),
            SpecificFields::Basic { .. } => None,
        },
        BodyStructure::Multi { .. } => None,
    }
}

/// Names the messages an error was about.
fn about_uids(error: Error, uids: &str) -> Error {
    error.annotated(&format!(" (UIDs {uids})"))
}
