//! Which messages an action works on: opening the folder and turning the
//! tag's selection (`uid`, `messagenumber`, `startrow`/`maxrows`, all) into
//! the UIDs it means at this moment, or, for a plain read, a range of
//! message numbers.
//!
//! UIDs are resolved before anything changes, so a `messagenumber` list
//! means the messages that had those numbers when the action began. A read
//! of a whole folder, a `rows` window or a `messagenumber` list without
//! filters needs no resolving: it fetches those message numbers
//! ([`targets`]), as many as a search could return at most
//! ([`esearch::MAX_UIDS`]). A read of a `uid` list, or with filters
//! ([`super::search`]), resolves selection and filters in one `UID SEARCH`,
//! as `RETURN (ALL)` when the server has ESEARCH. Long UID sets are
//! compressed into ranges and split under the server's command-line budget.

use std::num::NonZeroU32;
use std::str::FromStr;

use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::core::{Atom, Charset, Vec1};
use imap_codec::imap_types::response::{Code, Data};
use imap_codec::imap_types::search::SearchKey;
use imap_codec::imap_types::sequence::SequenceSet;

use crate::actions::folders;
use crate::actions::search::Criteria;
use crate::bindings::cfimap::imap::types::{RowWindow, Selection};
use crate::error::{Error, Result, Status};
use crate::imap::esearch;
use crate::imap::mailbox::Folder;
use crate::imap::session::Session;

/// Bytes a sequence set may take in one command: well under the 8 KB line
/// many servers accept, leaving room for the rest of the command.
pub const SET_BUDGET: usize = 7 * 1024;

/// An open (selected or examined) folder.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The folder.
    pub folder: Folder,
    /// How many messages it held when opened.
    pub exists: u32,
}

/// Opens `folder` read-only (EXAMINE) or read-write (SELECT).
pub fn open(session: &mut Session, folder: Folder, read_only: bool) -> Result<Opened> {
    let mailbox = folder.mailbox()?;
    let body = if read_only {
        CommandBody::Examine { mailbox }
    } else {
        CommandBody::Select { mailbox }
    };
    let done = match session.run(body) {
        Ok(done) => done,
        Err(Error::ServerRefused { code, .. }) if code.as_deref() == Some("NONEXISTENT") => {
            return Err(Error::FolderNotFound(folder.full));
        }
        // Not every server says why (Dovecot 2.3 sends a bare NO): LIST
        // tells whether the folder is missing, so that every action words a
        // missing folder alike. A refusal with a code (NOPERM, INUSE, …)
        // says why already.
        Err(refused @ Error::ServerRefused { code: None, .. }) => {
            return Err(match folders::exists(session, &folder) {
                Ok(false) => Error::FolderNotFound(folder.full),
                Err(e) if e.breaks_session() => e,
                _ => refused,
            });
        }
        Err(e) => return Err(e),
    };
    if !read_only && matches!(done.code, Some(Code::ReadOnly)) {
        return Err(Error::ServerRefused {
            command: "SELECT".into(),
            status: Status::Ok,
            code: Some("READ-ONLY".into()),
            text: format!("{} can only be opened read-only", folder.full),
        });
    }
    let exists = done
        .data
        .iter()
        .rev()
        .find_map(|d| match d {
            Data::Exists(n) => Some(*n),
            _ => None,
        })
        .ok_or_else(|| Error::ProtocolViolation("SELECT/EXAMINE without an EXISTS count".into()))?;
    Ok(Opened { folder, exists })
}

/// The messages a read fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// The UIDs its selection and filters resolved to, ascending, each once.
    Uids(Vec<u32>),
    /// The message numbers from `.0` to `.1`: a whole folder or a row window
    /// without filters, which needs no `UID SEARCH` to resolve. Empty when
    /// `.0 > .1`.
    Numbers(u32, u32),
    /// The message numbers of a `messagenumber` list without filters, those
    /// of the folder only, ascending, each once: known to be the folder's
    /// messages from the EXISTS count, with no `UID SEARCH` either.
    NumberList(Vec<u32>),
}

/// What a read of `selection` among the messages matching `criteria`
/// fetches. A whole folder or a `rows` window without filters is a range
/// of message numbers, known from the EXISTS count at once: fetching it by
/// number (`FETCH 1:10000`) spares the round trip and the server's work of
/// a `UID SEARCH`, and means the same messages, since numbers do not move
/// while a read runs (RFC 3501 §7.4.1: no EXPUNGE while a FETCH is
/// answered, nor while no command is in progress). A `messagenumber` list
/// without filters is fetched by number too (`FETCH 2,4`), its numbers past
/// the EXISTS count left out as a search would leave them. Everything else
/// (a `uid` list, filters) resolves to UIDs ([`matching`]): a UID the
/// folder does not hold is skipped, where one that a search found and the
/// FETCH did not answer is an error, and only the search tells the two
/// apart.
///
/// The range is the server's word, and a read holds a flag per message of
/// it: like a search's answer, it may hold at most [`esearch::MAX_UIDS`]
/// messages, so that `* 4294967295 EXISTS` is an error, not an allocation
/// of gigabytes.
pub fn targets(
    session: &mut Session,
    opened: &Opened,
    selection: &Selection,
    criteria: &Criteria,
    newest_first: bool,
) -> Result<Targets> {
    if !criteria.is_empty() {
        return matching(session, opened, selection, criteria, newest_first).map(Targets::Uids);
    }
    let none = Targets::Numbers(1, 0);
    let (first, last) = match selection {
        Selection::All if opened.exists == 0 => return Ok(none),
        Selection::All => (1, opened.exists),
        Selection::Rows(window) => {
            check_window(window)?;
            match window_bounds(window, opened.exists, newest_first) {
                Some(bounds) => bounds,
                None => return Ok(none),
            }
        }
        Selection::MessageNumbers(numbers) => {
            return Ok(Targets::NumberList(in_folder(numbers, opened)));
        }
        Selection::Uids(_) => {
            return matching(session, opened, selection, criteria, newest_first).map(Targets::Uids);
        }
    };
    let span = usize::try_from(last.saturating_sub(first)).unwrap_or(usize::MAX);
    if span >= esearch::MAX_UIDS {
        return Err(Error::ProtocolViolation(format!(
            "the server says the folder holds {} messages: a read takes at most {}",
            opened.exists,
            esearch::MAX_UIDS
        )));
    }
    Ok(Targets::Numbers(first, last))
}

/// The numbers of a `messagenumber` list that the opened folder has (1 to
/// its EXISTS count), ascending, each once; the others match no message.
fn in_folder(numbers: &[u32], opened: &Opened) -> Vec<u32> {
    let mut numbers: Vec<u32> = numbers
        .iter()
        .copied()
        .filter(|n| (1..=opened.exists).contains(n))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

/// Refuses a `rows` window that can hold no message.
fn check_window(window: &RowWindow) -> Result<()> {
    if window.startrow == 0 {
        return Err(Error::invalid("startrow", "must be 1 or more"));
    }
    if window.maxrows == Some(0) {
        return Err(Error::invalid("maxrows", "must be 1 or more"));
    }
    Ok(())
}

/// The UIDs `selection` means in the opened folder, ascending, each once.
/// Numbers that match no message are skipped.
pub fn resolve(session: &mut Session, opened: &Opened, selection: &Selection) -> Result<Vec<u32>> {
    matching(session, opened, selection, &Criteria::default(), false)
}

/// The UIDs `selection` means among the messages matching `criteria` (the
/// read's filters), ascending, each once: `uids` and `message-numbers` keep
/// those that match, a `rows` window counts the matching messages in
/// sequence order — from the newest with `newest_first`. With filters this
/// is one `UID SEARCH` (more only for a UID or number list too long for one
/// command line).
pub fn matching(
    session: &mut Session,
    opened: &Opened,
    selection: &Selection,
    criteria: &Criteria,
    newest_first: bool,
) -> Result<Vec<u32>> {
    if let Selection::Rows(window) = selection {
        check_window(window)?;
    }
    if opened.exists == 0 {
        return Ok(Vec::new());
    }
    // What the selection adds to each search; several when a list needs
    // more than one command line.
    let parts: Vec<SearchKey<'static>> = match selection {
        Selection::All => Vec::new(),
        Selection::Rows(_) if !criteria.is_empty() => Vec::new(),
        Selection::Rows(window) => {
            let Some((first, last)) = window_bounds(window, opened.exists, newest_first) else {
                return Ok(Vec::new());
            };
            vec![SearchKey::SequenceSet(parse_set(&format!(
                "{first}:{last}"
            ))?)]
        }
        Selection::MessageNumbers(numbers) => {
            let sets = sets(&in_folder(numbers, opened));
            if sets.is_empty() {
                return Ok(Vec::new());
            }
            sets.iter()
                .map(|s| parse_set(s).map(SearchKey::SequenceSet))
                .collect::<Result<_>>()?
        }
        Selection::Uids(uids) => {
            let uids: Vec<u32> = uids
                .iter()
                .copied()
                .filter(|&n| n > 0 && n < u32::MAX)
                .collect();
            let sets = sets(&uids);
            if sets.is_empty() {
                return Ok(Vec::new());
            }
            sets.iter()
                .map(|s| parse_set(s).map(SearchKey::Uid))
                .collect::<Result<_>>()?
        }
    };
    let searches: Vec<Vec<SearchKey<'static>>> = if parts.is_empty() {
        let keys = if criteria.is_empty() {
            vec![SearchKey::All]
        } else {
            criteria.keys.clone()
        };
        vec![keys]
    } else {
        parts
            .into_iter()
            .map(|part| std::iter::once(part).chain(criteria.keys.clone()).collect())
            .collect()
    };
    let mut found = search(session, searches, criteria.utf8)?;
    // Keep only what was asked for: a server may answer more, and UID
    // 4294967295 is `*` (the newest message) on the wire.
    if let Selection::Uids(asked) = selection {
        let asked: std::collections::HashSet<u32> = asked.iter().copied().collect();
        found.retain(|u| asked.contains(u));
    }
    if let Selection::Rows(window) = selection
        && !criteria.is_empty()
    {
        // UIDs ascend with sequence numbers: the window counts in `found`.
        let count = u32::try_from(found.len()).unwrap_or(u32::MAX);
        found = match window_bounds(window, count, newest_first) {
            Some((first, last)) => found[(first - 1) as usize..last as usize].to_vec(),
            None => Vec::new(),
        };
    }
    Ok(found)
}

/// The first and last of `count` positions (1-based) a window covers,
/// counted from the oldest or, with `newest_first`, from the newest; `None`
/// when it starts past the end.
fn window_bounds(window: &RowWindow, count: u32, newest_first: bool) -> Option<(u32, u32)> {
    if window.startrow > count {
        return None;
    }
    let span = window.maxrows.unwrap_or(u32::MAX).max(1) - 1;
    if newest_first {
        let last = count - (window.startrow - 1);
        Some((last.saturating_sub(span).max(1), last))
    } else {
        Some((
            window.startrow,
            window.startrow.saturating_add(span).min(count),
        ))
    }
}

/// UIDs of the messages in the opened folder flagged `\Deleted`.
pub fn flagged_deleted(session: &mut Session) -> Result<Vec<u32>> {
    search(session, vec![vec![SearchKey::Deleted]], false)
}

/// Runs one `UID SEARCH` per list of keys (each list ANDed) and merges the
/// answers. With ESEARCH (RFC 4731) each asks `RETURN (ALL)`, whose answer
/// is a compact set rather than a number per message; without it the
/// searches are pipelined.
fn search(
    session: &mut Session,
    searches: Vec<Vec<SearchKey<'static>>>,
    utf8: bool,
) -> Result<Vec<u32>> {
    let commands: Vec<CommandBody<'static>> = searches
        .into_iter()
        .filter_map(|keys| Vec1::try_from(keys).ok())
        .map(|criteria| CommandBody::Search {
            charset: utf8.then(|| Charset::from(Atom::unvalidated("UTF-8"))),
            criteria,
            uid: true,
        })
        .collect();
    if commands.is_empty() {
        return Ok(Vec::new());
    }
    let mut data = Vec::new();
    if session.has_capability("ESEARCH") {
        for command in commands {
            data.extend(session.run_extended(command, "RETURN (ALL)")?.data);
        }
    } else {
        let (answers, outcomes) = session.run_pipelined(commands)?;
        for outcome in outcomes {
            outcome?;
        }
        data = answers;
    }
    let mut uids: Vec<u32> = data
        .into_iter()
        .filter_map(|d| match d {
            Data::Search(found) => Some(found),
            _ => None,
        })
        .flatten()
        .map(NonZeroU32::get)
        .collect();
    uids.sort_unstable();
    uids.dedup();
    Ok(uids)
}

/// Compresses numbers into IMAP sets (`1:5,7,9:12`), each within
/// [`SET_BUDGET`] bytes.
pub fn sets(numbers: &[u32]) -> Vec<String> {
    let mut sorted: Vec<u32> = numbers.iter().copied().filter(|&n| n > 0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        i += 1;
        let part = if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        };
        if !current.is_empty() && current.len() + 1 + part.len() > SET_BUDGET {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&part);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Every number of a set string made by [`sets`].
pub fn expand(set: &str) -> Vec<u32> {
    set.split(',')
        .flat_map(|part| {
            let (a, b) = part.split_once(':').unwrap_or((part, part));
            let (a, b): (u32, u32) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
            (a.min(b)..=a.max(b)).filter(|&n| n > 0)
        })
        .collect()
}

/// Parses a set string into numbers (for checking server answers).
pub fn parse_set(set: &str) -> Result<SequenceSet> {
    SequenceSet::from_str(set)
        .map_err(|_| Error::ProtocolViolation(format!("not a sequence set: {set}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_runs() {
        assert_eq!(sets(&[5, 1, 2, 3, 9, 7, 8, 3]), ["1:3,5,7:9"]);
        assert!(sets(&[]).is_empty());
        assert_eq!(sets(&[0, 4]), ["4"]);
    }

    #[test]
    fn expands_sets() {
        assert_eq!(expand("1:3,7,10:9"), [1, 2, 3, 7, 9, 10]);
    }

    #[test]
    fn splits_under_the_budget() {
        let scattered: Vec<u32> = (1..20_000).map(|n| n * 2).collect();
        let chunks = sets(&scattered);
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|c| c.len() <= SET_BUDGET));
        let total: usize = chunks.iter().map(|c| c.split(',').count()).sum();
        assert_eq!(total, scattered.len());
        for chunk in &chunks {
            assert!(parse_set(chunk).is_ok());
        }
    }
}
