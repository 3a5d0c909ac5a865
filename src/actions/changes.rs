//! The actions that change messages: markRead (and markUnread, beyond the
//! tag), delete, moveMail.
//!
//! Nothing is lost that was not asked for: UIDs are resolved before any
//! change, `\Deleted` is set on exactly those UIDs and only they are
//! expunged (`UID EXPUNGE`, RFC 4315); a move uses `UID MOVE` (RFC 6851) or
//! removes an original only after its copy was confirmed. Work goes in
//! chunks of UIDs, one round trip per chunk, never per message.

use std::collections::HashSet;

use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::extensions::uidplus::{UidElement, UidSet};
use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::response::Code;

use crate::actions::selection::{self, Opened};
use crate::bindings::cfimap::imap::types::{ChangeReport, MovedUid, Selection};
use crate::error::{Error, Result, Status};
use crate::imap::mailbox::{self, Folder};
use crate::imap::session::Session;

/// `markRead`: sets `\Seen` on the selected messages; other flags stay.
pub fn mark_read(
    session: &mut Session,
    folder: Option<&str>,
    selection: &Selection,
    stoponerror: bool,
) -> Result<ChangeReport> {
    set_seen(session, folder, selection, stoponerror, StoreType::Add)
}

/// `markUnread` (beyond the tag): removes `\Seen` from the selected
/// messages; other flags stay.
pub fn mark_unread(
    session: &mut Session,
    folder: Option<&str>,
    selection: &Selection,
    stoponerror: bool,
) -> Result<ChangeReport> {
    set_seen(session, folder, selection, stoponerror, StoreType::Remove)
}

/// Adds or removes `\Seen`.
fn set_seen(
    session: &mut Session,
    folder: Option<&str>,
    selection: &Selection,
    stoponerror: bool,
    kind: StoreType,
) -> Result<ChangeReport> {
    let opened = open(session, folder)?;
    let uids = selection::resolve(session, &opened, selection)?;
    let mut report = Report::new(&opened);
    for set in selection::sets(&uids) {
        let outcome = store_as(session, &set, kind, Flag::Seen);
        report.chunk(&set, outcome, stoponerror)?;
    }
    Ok(report.finish())
}

/// `delete`: removes exactly the selected messages.
pub fn delete(
    session: &mut Session,
    folder: Option<&str>,
    selection: &Selection,
    stoponerror: bool,
) -> Result<ChangeReport> {
    let opened = open(session, folder)?;
    let uids = selection::resolve(session, &opened, selection)?;
    let mut report = Report::new(&opened);
    if uids.is_empty() {
        return Ok(report.finish());
    }
    let uidplus = require_safe_expunge(session, &uids)?;
    for set in selection::sets(&uids) {
        let outcome =
            store(session, &set, Flag::Deleted).and_then(|()| expunge(session, &set, uidplus));
        report.chunk(&set, outcome, stoponerror)?;
    }
    Ok(report.finish())
}

/// `moveMail`: moves the selected messages to `newfolder`, which must exist.
pub fn move_mail(
    session: &mut Session,
    folder: Option<&str>,
    newfolder: &str,
    selection: &Selection,
    stoponerror: bool,
) -> Result<ChangeReport> {
    let namespace = session.namespace().clone();
    let target = mailbox::resolve(&namespace, "newfolder", newfolder)?;
    let source = source_folder(session, folder)?;
    if source.wire == target.wire {
        return Err(Error::invalid(
            "newfolder",
            "is the folder the messages are in",
        ));
    }
    if !exists(session, &target)? {
        return Err(Error::FolderNotFound(target.full));
    }
    let opened = selection::open(session, source, false)?;
    let uids = selection::resolve(session, &opened, selection)?;
    let mut report = Report::new(&opened);
    if uids.is_empty() {
        return Ok(report.finish());
    }
    let moving = session.has_capability("MOVE");
    let uidplus = if moving {
        false
    } else {
        require_safe_expunge(session, &uids)?
    };
    for set in selection::sets(&uids) {
        let outcome = if moving {
            session
                .run(CommandBody::Move {
                    sequence_set: selection::parse_set(&set)?,
                    mailbox: target.mailbox()?,
                    uid: true,
                })
                // RFC 6851: the COPYUID of a MOVE comes in an untagged OK.
                .map(|done| copied_uids(done.notes.iter().chain(done.code.as_ref())))
        } else {
            copy_then_remove(session, &set, &target, uidplus)
        };
        let outcome = outcome.map(|moved| report.moved.extend(moved));
        report.chunk(&set, outcome, stoponerror)?;
    }
    Ok(report.finish())
}

/// What the COPYUIDs among `codes` say: each copied UID with its UID in the
/// target, in the server's order. A COPYUID whose two sets differ in size
/// cannot be paired and says nothing.
fn copied_uids<'a>(codes: impl Iterator<Item = &'a Code<'static>>) -> Vec<MovedUid> {
    let mut moved = Vec::new();
    for code in codes {
        if let Code::CopyUid {
            source,
            destination,
            ..
        } = code
        {
            let (from, to) = (members(source), members(destination));
            if from.len() == to.len() {
                moved.extend(
                    from.into_iter()
                        .zip(to)
                        .map(|(uid, new_uid)| MovedUid { uid, new_uid }),
                );
            }
        }
    }
    moved
}

/// The UIDs of a UIDPLUS set, in its order, ranges counted out ascending.
fn members(set: &UidSet) -> Vec<u32> {
    set.0
        .as_ref()
        .iter()
        .flat_map(|element| match element {
            UidElement::Single(u) => u.get()..=u.get(),
            UidElement::Range(a, b) => a.get().min(b.get())..=a.get().max(b.get()),
        })
        .collect()
}

/// COPY, confirm, then flag and expunge exactly the originals of the copy.
/// Returns where the copies went, when the server said.
fn copy_then_remove(
    session: &mut Session,
    set: &str,
    target: &Folder,
    uidplus: bool,
) -> Result<Vec<MovedUid>> {
    let done = session.run(CommandBody::Copy {
        sequence_set: selection::parse_set(set)?,
        mailbox: target.mailbox()?,
        uid: true,
    })?;
    // With UIDPLUS the server names what it copied; anything missing from
    // COPYUID must stay where it is.
    if let Some(Code::CopyUid { source, .. }) = &done.code {
        let copied: HashSet<u32> = members(source).into_iter().collect();
        let wanted = selection::expand(set);
        let confirmed: Vec<u32> = wanted
            .iter()
            .copied()
            .filter(|u| copied.contains(u))
            .collect();
        if confirmed.len() != wanted.len() {
            let confirmed_sets = selection::sets(&confirmed);
            for s in &confirmed_sets {
                store(session, s, Flag::Deleted)?;
                expunge(session, s, uidplus)?;
            }
            return Err(Error::ServerRefused {
                command: "COPY".into(),
                status: Status::Ok,
                code: Some("COPYUID".into()),
                text: format!(
                    "the server confirmed the copy of {} of {} message(s); the others were left in place",
                    confirmed.len(),
                    wanted.len()
                ),
            });
        }
    }
    store(session, set, Flag::Deleted)?;
    expunge(session, set, uidplus)?;
    Ok(copied_uids(done.code.iter()))
}

/// Without UIDPLUS only a plain EXPUNGE exists, and it would also remove
/// messages someone else flagged `\Deleted`: refuse unless there are none.
/// Returns whether UID EXPUNGE is available.
fn require_safe_expunge(session: &mut Session, selected: &[u32]) -> Result<bool> {
    if session.has_capability("UIDPLUS") {
        return Ok(true);
    }
    let foreign = selection::flagged_deleted(session)?
        .into_iter()
        .filter(|u| selected.binary_search(u).is_err())
        .count();
    if foreign > 0 {
        return Err(Error::Unsupported(format!(
            "the server lacks UIDPLUS and {foreign} other message(s) in the folder are flagged \
             \\Deleted: expunging would remove them too, so nothing was changed"
        )));
    }
    Ok(false)
}

fn store(session: &mut Session, set: &str, flag: Flag<'static>) -> Result<()> {
    store_as(session, set, StoreType::Add, flag)
}

fn store_as(session: &mut Session, set: &str, kind: StoreType, flag: Flag<'static>) -> Result<()> {
    session
        .run(CommandBody::Store {
            sequence_set: selection::parse_set(set)?,
            kind,
            response: StoreResponse::Silent,
            flags: vec![flag],
            uid: true,
        })
        .map(drop)
}

fn expunge(session: &mut Session, set: &str, uidplus: bool) -> Result<()> {
    let body = if uidplus {
        CommandBody::ExpungeUid {
            sequence_set: selection::parse_set(set)?,
        }
    } else {
        CommandBody::Expunge
    };
    session.run(body).map(drop)
}

fn source_folder(session: &Session, folder: Option<&str>) -> Result<Folder> {
    match folder {
        None => Ok(Folder::inbox()),
        Some(f) => mailbox::resolve(session.namespace(), "folder", f),
    }
}

fn open(session: &mut Session, folder: Option<&str>) -> Result<Opened> {
    let folder = source_folder(session, folder)?;
    selection::open(session, folder, false)
}

fn exists(session: &mut Session, folder: &Folder) -> Result<bool> {
    if folder.is_inbox() {
        return Ok(true);
    }
    let done = session.run(CommandBody::List {
        reference: "".try_into().map_err(|_| Error::SessionClosed)?,
        mailbox_wildcard: mailbox::exact(folder)?,
    })?;
    Ok(done.data.iter().any(|d| match d {
        imap_codec::imap_types::response::Data::List { mailbox, items, .. } => {
            mailbox::wire_of(mailbox) == folder.wire.as_bytes()
                && !items.iter().any(|i| {
                    let name = i.to_string();
                    name.eq_ignore_ascii_case("\\Noselect")
                        || name.eq_ignore_ascii_case("\\NonExistent")
                })
        }
        _ => false,
    }))
}

/// What an action changed so far.
struct Report {
    folder: String,
    uids: Vec<u32>,
    failures: Vec<String>,
    /// moveMail: where the messages went, as far as the server said.
    moved: Vec<MovedUid>,
}

impl Report {
    fn new(opened: &Opened) -> Self {
        Self {
            folder: opened.folder.full.clone(),
            uids: Vec::new(),
            failures: Vec::new(),
            moved: Vec::new(),
        }
    }

    /// Records a chunk's outcome. A failure ends the action when
    /// `stoponerror`, saying what was already done; otherwise it is noted
    /// and the action goes on. A broken connection always ends it.
    fn chunk(&mut self, set: &str, outcome: Result<()>, stoponerror: bool) -> Result<()> {
        match outcome {
            Ok(()) => {
                self.uids.extend(selection::expand(set));
                Ok(())
            }
            Err(e) if stoponerror || e.breaks_session() => Err(self.explain(e)),
            Err(e) => {
                self.failures.push(format!("UIDs {set}: {e}"));
                Ok(())
            }
        }
    }

    /// Adds what was already done to an error's text.
    fn explain(&self, error: Error) -> Error {
        if self.uids.is_empty() {
            return error;
        }
        let done = format!(
            " ({} message(s) were already changed: UIDs {})",
            self.uids.len(),
            selection::sets(&self.uids).join(",")
        );
        error.annotated(&done)
    }

    fn finish(self) -> ChangeReport {
        ChangeReport {
            folder: self.folder,
            affected: u32::try_from(self.uids.len()).unwrap_or(u32::MAX),
            uids: self.uids,
            failures: self.failures,
            new_uids: self.moved,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use imap_codec::imap_types::core::Vec1;

    use super::*;

    fn set(elements: &[(u32, u32)]) -> UidSet {
        let n = |v: u32| NonZeroU32::new(v).expect("non-zero");
        let elements: Vec<UidElement> = elements
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    UidElement::Single(n(a))
                } else {
                    UidElement::Range(n(a), n(b))
                }
            })
            .collect();
        UidSet(Vec1::try_from(elements).expect("not empty"))
    }

    fn copyuid(source: &[(u32, u32)], destination: &[(u32, u32)]) -> Code<'static> {
        Code::CopyUid {
            uid_validity: NonZeroU32::new(9).expect("non-zero"),
            source: set(source),
            destination: set(destination),
        }
    }

    #[test]
    fn copyuid_pairs_the_sets_in_order() {
        let code = copyuid(&[(3, 3), (5, 7)], &[(100, 103)]);
        let pairs: Vec<(u32, u32)> = copied_uids([&code].into_iter())
            .into_iter()
            .map(|m| (m.uid, m.new_uid))
            .collect();
        assert_eq!(pairs, [(3, 100), (5, 101), (6, 102), (7, 103)]);
    }

    #[test]
    fn sets_of_different_sizes_pair_nothing() {
        let code = copyuid(&[(1, 3)], &[(10, 11)]);
        assert!(copied_uids([&code].into_iter()).is_empty());
        let good = copyuid(&[(4, 4)], &[(12, 12)]);
        let pairs: Vec<(u32, u32)> = copied_uids([&code, &good].into_iter())
            .into_iter()
            .map(|m| (m.uid, m.new_uid))
            .collect();
        assert_eq!(pairs, [(4, 12)], "several COPYUIDs each count");
        let other = Code::ReadOnly;
        assert!(copied_uids([&other].into_iter()).is_empty());
    }
}
