//! The actions that change messages: markRead, delete, moveMail.
//!
//! Nothing is lost that was not asked for: UIDs are resolved before any
//! change, `\Deleted` is set on exactly those UIDs and only they are
//! expunged (`UID EXPUNGE`, RFC 4315); a move uses `UID MOVE` (RFC 6851) or
//! removes an original only after its copy was confirmed. Work goes in
//! chunks of UIDs, one round trip per chunk, never per message.

use std::collections::HashSet;

use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::extensions::uidplus::UidElement;
use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::response::Code;

use crate::bindings::cfimap::imap::types::{ChangeReport, Selection};
use crate::error::{Error, Result, Status};
use crate::mailbox::{self, Folder};
use crate::selection::{self, Opened};
use crate::session::Session;

/// `markRead`: sets `\Seen` on the selected messages; other flags stay.
pub fn mark_read(
    session: &mut Session,
    folder: Option<&str>,
    selection: &Selection,
    stoponerror: bool,
) -> Result<ChangeReport> {
    let opened = open(session, folder)?;
    let uids = selection::resolve(session, &opened, selection)?;
    let mut report = Report::new(&opened);
    for set in selection::sets(&uids) {
        let outcome = store(session, &set, Flag::Seen);
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
                .map(drop)
        } else {
            copy_then_remove(session, &set, &target, uidplus)
        };
        report.chunk(&set, outcome, stoponerror)?;
    }
    Ok(report.finish())
}

/// COPY, confirm, then flag and expunge exactly the originals of the copy.
fn copy_then_remove(
    session: &mut Session,
    set: &str,
    target: &Folder,
    uidplus: bool,
) -> Result<()> {
    let done = session.run(CommandBody::Copy {
        sequence_set: selection::parse_set(set)?,
        mailbox: target.mailbox()?,
        uid: true,
    })?;
    // With UIDPLUS the server names what it copied; anything missing from
    // COPYUID must stay where it is.
    if let Some(Code::CopyUid { source, .. }) = &done.code {
        let copied: HashSet<u32> = source
            .0
            .as_ref()
            .iter()
            .flat_map(|element| match element {
                UidElement::Single(u) => u.get()..=u.get(),
                UidElement::Range(a, b) => a.get().min(b.get())..=a.get().max(b.get()),
            })
            .collect();
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
    expunge(session, set, uidplus)
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
    session
        .run(CommandBody::Store {
            sequence_set: selection::parse_set(set)?,
            kind: StoreType::Add,
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
}

impl Report {
    fn new(opened: &Opened) -> Self {
        Self {
            folder: opened.folder.full.clone(),
            uids: Vec::new(),
            failures: Vec::new(),
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
        }
    }
}
