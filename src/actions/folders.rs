//! The folder actions: listAllFolders, createFolder, deleteFolder,
//! renameFolder.
//!
//! Each action first asks the server what exists (LIST, pipelined), then
//! changes only what it must. Wildcards that a folder name may hold (`%`,
//! `*`) are neutralised by filtering LIST answers to exact names.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::flag::FlagNameAttribute;
use imap_codec::imap_types::response::Data;
use imap_codec::imap_types::status::{StatusDataItem, StatusDataItemName};

use crate::bindings::cfimap::imap::types::FolderRow;
use crate::error::{Error, Result};
use crate::imap::mailbox::{self, Folder};
use crate::imap::session::Session;

/// Special-use attributes (RFC 6154).
const SPECIAL_USE: [&str; 7] = [
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Junk",
    "\\Sent",
    "\\Trash",
];

/// One LIST answer.
#[derive(Debug, Clone)]
struct Listed {
    folder: Folder,
    delimiter: Option<char>,
    attributes: Vec<String>,
}

impl Listed {
    fn has(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }

    /// Whether the folder can be selected (and so has counts).
    fn selectable(&self) -> bool {
        !self.has("\\Noselect") && !self.has("\\NonExistent")
    }
}

/// `listAllFolders`: children of `folder` (absent: the personal namespace,
/// INBOX included); with `recurse`, every descendant.
pub fn list_all(
    session: &mut Session,
    folder: Option<&str>,
    recurse: bool,
) -> Result<Vec<FolderRow>> {
    let namespace = session.namespace().clone();
    let delimiter = namespace.delimiter;
    let wildcard = if recurse { '*' } else { '%' };
    let mut commands = Vec::new();
    let (base, root) = match folder {
        None => (namespace.prefix.clone(), None),
        Some(input) => {
            let root = mailbox::resolve(&namespace, "folder", input)?;
            commands.push(list(&mailbox::exact(&root)?));
            let base = match delimiter {
                Some(d) => format!("{}{d}", root.wire),
                None => String::new(),
            };
            (base, Some(root))
        }
    };
    let children_asked = root.is_none() || delimiter.is_some();
    if children_asked {
        commands.push(list(&mailbox::pattern(&base, wildcard)?));
    }
    if root.is_none() {
        commands.push(list(&mailbox::exact(&Folder::inbox())?));
    }
    let (data, outcomes) = session.run_pipelined(commands)?;
    for outcome in outcomes {
        outcome?;
    }
    let listed = listed(data);
    if let Some(root) = &root
        && !listed
            .iter()
            .any(|l| l.folder.wire == root.wire && !l.has("\\NonExistent"))
    {
        return Err(Error::FolderNotFound(root.full.clone()));
    }
    // Keep what the pattern meant, whatever wildcards the name itself held.
    let mut rows: BTreeMap<Vec<String>, Listed> = BTreeMap::new();
    for item in listed {
        let wire = &item.folder.wire;
        let wanted = match &root {
            Some(root) if *wire == root.wire => false,
            _ if item.folder.is_inbox() => root.is_none(),
            _ => match wire.strip_prefix(base.as_str()) {
                Some(rest) if !rest.is_empty() => {
                    recurse || delimiter.is_none_or(|d| !rest.contains(d))
                }
                _ => false,
            },
        };
        if wanted {
            rows.insert(sort_key(&item.folder, delimiter), item);
        }
    }
    let counts = counts(session, rows.values().filter(|l| l.selectable()))?;
    Ok(rows
        .into_values()
        .map(|item| {
            let Counts { total, unread, new } =
                counts.get(&item.folder.wire).copied().unwrap_or_default();
            let delimiter = item.delimiter.or(delimiter);
            FolderRow {
                name: item.folder.name(delimiter).to_owned(),
                parent: item
                    .folder
                    .parent(delimiter)
                    .map(|p| p.name(delimiter).to_owned())
                    .unwrap_or_default(),
                delimiter: delimiter.map(String::from),
                totalmessages: total,
                unread,
                new,
                specialuse: item
                    .attributes
                    .iter()
                    .find(|a| SPECIAL_USE.iter().any(|s| s.eq_ignore_ascii_case(a)))
                    .cloned(),
                attributes: item.attributes,
                fullname: item.folder.full,
            }
        })
        .collect())
}

/// `createFolder`: creates `folder` and each missing parent. Returns the
/// full names created, outermost first.
pub fn create(session: &mut Session, input: &str) -> Result<Vec<String>> {
    let namespace = session.namespace().clone();
    let folder = mailbox::resolve(&namespace, "folder", input)?;
    if folder.is_inbox() {
        return Err(Error::FolderExists(folder.full));
    }
    if let Some(existing) = lookup(session, &folder)?
        && existing.selectable()
    {
        return Err(Error::FolderExists(folder.full));
    }
    let mut created = create_parents(session, &folder)?;
    create_one(session, &folder)?;
    created.push(folder.full);
    Ok(created)
}

/// `deleteFolder`: deletes `folder`; one with subfolders only with
/// `recurse`, deepest first. Returns the full names deleted, in order.
pub fn delete(session: &mut Session, input: &str, recurse: bool) -> Result<Vec<String>> {
    let namespace = session.namespace().clone();
    let delimiter = namespace.delimiter;
    let folder = mailbox::resolve(&namespace, "folder", input)?;
    if folder.is_inbox() {
        return Err(Error::ProtectedFolder(folder.full));
    }
    let (own, mut descendants) = lookup_with_descendants(session, &folder)?;
    if own.is_none() && descendants.is_empty() {
        return Err(Error::FolderNotFound(folder.full));
    }
    if !descendants.is_empty() && !recurse {
        return Err(Error::FolderHasChildren(format!(
            "{} has {} subfolder(s); pass recurse=true to delete them too",
            folder.full,
            descendants.len()
        )));
    }
    if descendants.iter().any(|d| d.folder.is_inbox()) {
        return Err(Error::ProtectedFolder("INBOX".into()));
    }
    descendants.sort_by_key(|d| std::cmp::Reverse(d.folder.depth(delimiter)));
    let own = own.unwrap_or(Listed {
        folder: folder.clone(),
        delimiter,
        attributes: vec!["\\Noselect".into()],
    });
    let mut deleted = Vec::new();
    for item in descendants.into_iter().chain(std::iter::once(own)) {
        match session.run(CommandBody::Delete {
            mailbox: item.folder.mailbox()?,
        }) {
            Ok(_) => deleted.push(item.folder.full),
            // A placeholder parent the server already removed with its last
            // child is gone, as asked.
            Err(Error::ServerRefused { code, .. })
                if !item.selectable() && code.as_deref() == Some("NONEXISTENT") =>
            {
                deleted.push(item.folder.full)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}

/// `renameFolder`: renames `folder` to `newfolder`, creating the new name's
/// missing parents. Returns the new full name.
pub fn rename(session: &mut Session, input: &str, new_input: &str) -> Result<Vec<String>> {
    let namespace = session.namespace().clone();
    let delimiter = namespace.delimiter;
    let from = mailbox::resolve(&namespace, "folder", input)?;
    mailbox::check("newfolder", new_input)?;
    let to = mailbox::resolve(&namespace, "newfolder", new_input)?;
    if from.is_inbox() {
        return Err(Error::ProtectedFolder(from.full));
    }
    if to.is_inbox() {
        return Err(Error::ProtectedFolder(to.full));
    }
    if from.wire == to.wire {
        return Err(Error::FolderExists(to.full));
    }
    if from.is_ancestor_of(&to, delimiter) {
        return Err(Error::invalid(
            "newfolder",
            format!("{} would be inside {} itself", to.full, from.full),
        ));
    }
    let (data, outcomes) = session.run_pipelined(vec![
        list(&mailbox::exact(&from)?),
        list(&mailbox::exact(&to)?),
    ])?;
    for outcome in outcomes {
        outcome?;
    }
    let listed = listed(data);
    let exists = |f: &Folder| {
        listed
            .iter()
            .any(|l| l.folder.wire == f.wire && !l.has("\\NonExistent"))
    };
    if !exists(&from) {
        return Err(Error::FolderNotFound(from.full));
    }
    if exists(&to) {
        return Err(Error::FolderExists(to.full));
    }
    create_parents(session, &to)?;
    session
        .run(CommandBody::Rename {
            from: from.mailbox()?,
            to: to.mailbox()?,
        })
        .map_err(|e| already_exists(e, &to))?;
    Ok(vec![to.full])
}

/// Creates each missing (or placeholder) ancestor of `folder`, outermost
/// first, so every parent is a real folder.
fn create_parents(session: &mut Session, folder: &Folder) -> Result<Vec<String>> {
    let namespace = session.namespace().clone();
    let prefix_folder = namespace
        .delimiter
        .and_then(|d| namespace.prefix.strip_suffix(d))
        .filter(|p| !p.is_empty())
        .map(|p| Folder::from_wire(p.as_bytes()));
    let ancestors: Vec<Folder> = folder
        .ancestors(namespace.delimiter)
        .into_iter()
        .filter(|a| !a.is_inbox() && Some(&a.wire) != prefix_folder.as_ref().map(|p| &p.wire))
        .collect();
    if ancestors.is_empty() {
        return Ok(Vec::new());
    }
    let commands = ancestors
        .iter()
        .map(|a| Ok(list(&mailbox::exact(a)?)))
        .collect::<Result<Vec<_>>>()?;
    let (data, outcomes) = session.run_pipelined(commands)?;
    for outcome in outcomes {
        outcome?;
    }
    let listed = listed(data);
    let mut created = Vec::new();
    for ancestor in ancestors {
        let real = listed
            .iter()
            .any(|l| l.folder.wire == ancestor.wire && l.selectable());
        if !real {
            match create_one(session, &ancestor) {
                Ok(()) => created.push(ancestor.full),
                // Someone else made it meanwhile: it exists, as wanted.
                Err(Error::FolderExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(created)
}

fn create_one(session: &mut Session, folder: &Folder) -> Result<()> {
    session
        .run(CommandBody::Create {
            mailbox: folder.mailbox()?,
        })
        .map(drop)
        .map_err(|e| already_exists(e, folder))
}

/// A refusal with `ALREADYEXISTS` (RFC 5530) means the folder exists.
fn already_exists(error: Error, folder: &Folder) -> Error {
    match error {
        Error::ServerRefused { code, .. } if code.as_deref() == Some("ALREADYEXISTS") => {
            Error::FolderExists(folder.full.clone())
        }
        other => other,
    }
}

/// Whether `folder` exists, by LIST.
pub fn exists(session: &mut Session, folder: &Folder) -> Result<bool> {
    Ok(lookup(session, folder)?.is_some())
}

/// What LIST says of exactly `folder`.
fn lookup(session: &mut Session, folder: &Folder) -> Result<Option<Listed>> {
    let done = session.run(list(&mailbox::exact(folder)?))?;
    Ok(listed(done.data)
        .into_iter()
        .find(|l| l.folder.wire == folder.wire && !l.has("\\NonExistent")))
}

/// `folder` itself, if it exists, and all its descendants.
fn lookup_with_descendants(
    session: &mut Session,
    folder: &Folder,
) -> Result<(Option<Listed>, Vec<Listed>)> {
    let delimiter = session.namespace().delimiter;
    let mut commands = vec![list(&mailbox::exact(folder)?)];
    if let Some(d) = delimiter {
        commands.push(list(&mailbox::pattern(
            &format!("{}{d}", folder.wire),
            '*',
        )?));
    }
    let (data, outcomes) = session.run_pipelined(commands)?;
    for outcome in outcomes {
        outcome?;
    }
    let mut own = None;
    let mut descendants = Vec::new();
    for item in listed(data) {
        if item.has("\\NonExistent") {
            continue;
        }
        if item.folder.wire == folder.wire {
            own = Some(item);
        } else if folder.is_ancestor_of(&item.folder, delimiter)
            && !descendants
                .iter()
                .any(|d: &Listed| d.folder.wire == item.folder.wire)
        {
            descendants.push(item);
        }
    }
    Ok((own, descendants))
}

/// A folder's STATUS counts; absent when the server gave none.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    total: Option<u32>,
    unread: Option<u32>,
    new: Option<u32>,
}

/// Message counts of the selectable folders, by STATUS commands pipelined.
fn counts<'a>(
    session: &mut Session,
    folders: impl Iterator<Item = &'a Listed>,
) -> Result<HashMap<String, Counts>> {
    let mut commands = Vec::new();
    for item in folders {
        commands.push(CommandBody::Status {
            mailbox: item.folder.mailbox()?,
            item_names: Cow::Borrowed(&[
                StatusDataItemName::Messages,
                StatusDataItemName::Unseen,
                StatusDataItemName::Recent,
            ]),
        });
    }
    if commands.is_empty() {
        return Ok(HashMap::new());
    }
    // A folder the server will not count keeps empty counts; the listing
    // itself still succeeds.
    let (data, _) = session.run_pipelined(commands)?;
    let mut counts = HashMap::new();
    for item in data {
        if let Data::Status { mailbox, items } = item {
            let wire = String::from_utf8_lossy(&mailbox::wire_of(&mailbox)).into_owned();
            let entry = counts.entry(wire).or_insert(Counts::default());
            for status in items.iter() {
                match status {
                    StatusDataItem::Messages(n) => entry.total = Some(*n),
                    StatusDataItem::Unseen(n) => entry.unread = Some(*n),
                    StatusDataItem::Recent(n) => entry.new = Some(*n),
                    _ => {}
                }
            }
        }
    }
    Ok(counts)
}

fn list(pattern: &imap_codec::imap_types::mailbox::ListMailbox<'static>) -> CommandBody<'static> {
    CommandBody::List {
        reference: imap_codec::imap_types::mailbox::Mailbox::try_from("")
            .unwrap_or(imap_codec::imap_types::mailbox::Mailbox::Inbox),
        mailbox_wildcard: pattern.clone(),
    }
}

/// The LIST answers in `data`, each folder once. (Looked up in a set: a
/// search of the list so far made a listing of 10,000 folders quadratic.)
fn listed(data: Vec<Data<'static>>) -> Vec<Listed> {
    let mut out: Vec<Listed> = Vec::new();
    let mut seen = HashSet::new();
    for item in data {
        if let Data::List {
            items,
            delimiter,
            mailbox,
        } = item
        {
            let folder = Folder::from_wire(&mailbox::wire_of(&mailbox));
            if !seen.insert(folder.wire.clone()) {
                continue;
            }
            out.push(Listed {
                folder,
                delimiter: delimiter.map(|d| d.inner()),
                attributes: items.iter().map(attribute_name).collect(),
            });
        }
    }
    out
}

fn attribute_name(attribute: &FlagNameAttribute<'_>) -> String {
    attribute.to_string()
}

/// Orders INBOX first, then parents before children, by level.
fn sort_key(folder: &Folder, delimiter: Option<char>) -> Vec<String> {
    let mut key = vec![if folder.is_inbox() { "0" } else { "1" }.to_owned()];
    match delimiter {
        Some(d) => key.extend(folder.full.split(d).map(str::to_owned)),
        None => key.push(folder.full.clone()),
    }
    key
}
