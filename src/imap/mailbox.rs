//! Folder names: from the caller's attribute to the server's mailbox name
//! and back.
//!
//! Callers name a folder either by its FULLNAME, exactly as
//! `listAllFolders` returns it (server delimiter, namespace prefix
//! included), or as a `/` path relative to the personal namespace. `INBOX`
//! in any case is the inbox. On the wire names are modified UTF-7.

use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};

use crate::error::{Error, Result};
use crate::imap::session::Namespace;
use crate::imap::utf7;

/// A folder resolved against the server's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// The full name in Unicode, as `listAllFolders` shows it.
    pub full: String,
    /// The full name on the wire (modified UTF-7).
    pub wire: String,
}

impl Folder {
    /// The inbox.
    pub fn inbox() -> Self {
        Self {
            full: "INBOX".into(),
            wire: "INBOX".into(),
        }
    }

    /// A folder from its name on the wire, e.g. from a LIST response.
    pub fn from_wire(wire: &[u8]) -> Self {
        let full = utf7::decode_lossy(wire);
        Self {
            // A name that is not valid modified UTF-7 is addressed with the
            // bytes the server sent.
            wire: String::from_utf8_lossy(wire).into_owned(),
            full,
        }
    }

    /// Whether this is the inbox.
    pub fn is_inbox(&self) -> bool {
        self.wire.eq_ignore_ascii_case("INBOX")
    }

    /// The mailbox argument of a command.
    pub fn mailbox(&self) -> Result<Mailbox<'static>> {
        Mailbox::try_from(self.wire.clone()).map_err(|_| {
            Error::invalid(
                "folder",
                format!("{:?} cannot be sent as a mailbox name", self.full),
            )
        })
    }

    /// The last level of the name.
    pub fn name(&self, delimiter: Option<char>) -> &str {
        match delimiter {
            Some(d) => self.full.rsplit(d).next().unwrap_or(&self.full),
            None => &self.full,
        }
    }

    /// The full name of the parent, if the folder has one.
    pub fn parent(&self, delimiter: Option<char>) -> Option<Folder> {
        let d = delimiter?;
        let (parent, _) = self.full.rsplit_once(d)?;
        (!parent.is_empty()).then(|| Folder::from_full(parent))
    }

    /// Every ancestor, outermost first.
    pub fn ancestors(&self, delimiter: Option<char>) -> Vec<Folder> {
        let mut out = Vec::new();
        let mut current = self.parent(delimiter);
        while let Some(folder) = current {
            current = folder.parent(delimiter);
            out.push(folder);
        }
        out.reverse();
        out
    }

    /// How many levels deep the folder is.
    pub fn depth(&self, delimiter: Option<char>) -> usize {
        delimiter.map_or(0, |d| self.full.matches(d).count())
    }

    /// Whether `other` is strictly below this folder.
    pub fn is_ancestor_of(&self, other: &Folder, delimiter: Option<char>) -> bool {
        match delimiter {
            Some(d) => other
                .full
                .strip_prefix(&self.full)
                .is_some_and(|rest| rest.starts_with(d) && rest.len() > d.len_utf8()),
            None => false,
        }
    }

    fn from_full(full: &str) -> Self {
        if full.eq_ignore_ascii_case("INBOX") {
            return Self::inbox();
        }
        Self {
            full: full.to_owned(),
            wire: utf7::encode(full),
        }
    }
}

/// Checks a folder attribute for what no server may receive.
pub fn check(attribute: &'static str, input: &str) -> Result<()> {
    if input.contains(['\r', '\n', '\0']) {
        return Err(Error::invalid(attribute, "contains CR, LF or NUL"));
    }
    if input.trim().is_empty() {
        return Err(Error::invalid(attribute, "is empty"));
    }
    Ok(())
}

/// Resolves the caller's folder attribute against the personal namespace.
pub fn resolve(namespace: &Namespace, attribute: &'static str, input: &str) -> Result<Folder> {
    check(attribute, input)?;
    let input = input.trim();
    if input.eq_ignore_ascii_case("INBOX") {
        return Ok(Folder::inbox());
    }
    let prefix = utf7::decode_lossy(namespace.prefix.as_bytes());
    // A FULLNAME starts with the namespace prefix: take it as it is.
    if let Some(rest) = strip_prefix(input, &prefix) {
        return Ok(Folder::from_full(&format!("{prefix}{rest}")));
    }
    let path = match namespace.delimiter {
        Some(d) => {
            let levels: Vec<&str> = input.trim_matches('/').split('/').collect();
            if levels.iter().any(|l| l.is_empty()) {
                return Err(Error::invalid(
                    attribute,
                    format!("{input:?} has an empty level"),
                ));
            }
            // The input as a whole is trimmed, so a path whose outer slashes
            // hid white space (`x /`) would name a folder (`x `) its own
            // FULLNAME cannot reach. Inner levels keep theirs (`x /T`).
            let core = input.trim_matches('/');
            if core.trim() != core {
                return Err(Error::invalid(
                    attribute,
                    format!("{input:?} begins or ends with white space inside its slashes"),
                ));
            }
            // A name without '/' is a FULLNAME relative to the prefix; with
            // '/', a level holding the server's delimiter is ambiguous.
            if d != '/'
                && levels.len() > 1
                && let Some(level) = levels.iter().find(|l| l.contains(d))
            {
                return Err(Error::invalid(
                    attribute,
                    format!(
                        "level {level:?} contains the server's hierarchy delimiter {d:?}; \
                         write levels separated by '/'"
                    ),
                ));
            }
            levels.join(&d.to_string())
        }
        None => input.to_owned(),
    };
    if path.eq_ignore_ascii_case("INBOX") {
        return Ok(Folder::inbox());
    }
    match strip_prefix(&path, &prefix) {
        Some(rest) => Ok(Folder::from_full(&format!("{prefix}{rest}"))),
        None => Ok(Folder::from_full(&format!("{prefix}{path}"))),
    }
}

/// `input` without a non-empty namespace `prefix`; the prefix's INBOX part
/// matches in any case.
fn strip_prefix<'a>(input: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() || input.len() < prefix.len() || !input.is_char_boundary(prefix.len()) {
        return None;
    }
    let (head, rest) = input.split_at(prefix.len());
    let (head, wanted) = (head.as_bytes(), prefix.as_bytes());
    let same = if wanted.len() >= 5 && wanted[..5].eq_ignore_ascii_case(b"INBOX") {
        head[..5].eq_ignore_ascii_case(b"INBOX") && head[5..] == wanted[5..]
    } else {
        head == wanted
    };
    same.then_some(rest)
}

/// A LIST pattern: `base` followed by a wildcard.
pub fn pattern(base: &str, wildcard: char) -> Result<ListMailbox<'static>> {
    ListMailbox::try_from(format!("{base}{wildcard}"))
        .map_err(|_| Error::invalid("folder", "cannot be sent as a LIST pattern"))
}

/// A LIST pattern matching exactly `folder` (wildcards in the name are
/// filtered out by the caller).
pub fn exact(folder: &Folder) -> Result<ListMailbox<'static>> {
    ListMailbox::try_from(folder.wire.clone())
        .map_err(|_| Error::invalid("folder", "cannot be sent as a LIST pattern"))
}

/// The wire bytes of a mailbox in a server response.
pub fn wire_of(mailbox: &Mailbox<'_>) -> Vec<u8> {
    match mailbox {
        Mailbox::Inbox => b"INBOX".to_vec(),
        Mailbox::Other(other) => other.as_ref().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dovecot() -> Namespace {
        Namespace {
            prefix: String::new(),
            delimiter: Some('/'),
        }
    }

    fn courier() -> Namespace {
        Namespace {
            prefix: "INBOX.".into(),
            delimiter: Some('.'),
        }
    }

    #[test]
    fn inbox_in_any_case() {
        for ns in [dovecot(), courier()] {
            assert!(resolve(&ns, "folder", "inbox").unwrap().is_inbox());
            assert!(resolve(&ns, "folder", " InBoX ").unwrap().is_inbox());
        }
    }

    #[test]
    fn slash_paths_map_to_the_server_form() {
        let f = resolve(&courier(), "folder", "Archive/2024").unwrap();
        assert_eq!(f.full, "INBOX.Archive.2024");
        let f = resolve(&courier(), "folder", "/Archive/2024/").unwrap();
        assert_eq!(f.full, "INBOX.Archive.2024");
        let f = resolve(&dovecot(), "folder", "Archive/2024").unwrap();
        assert_eq!(f.full, "Archive/2024");
    }

    #[test]
    fn fullnames_are_taken_as_they_are() {
        let f = resolve(&courier(), "folder", "INBOX.Archive.2024").unwrap();
        assert_eq!(f.full, "INBOX.Archive.2024");
        let f = resolve(&courier(), "folder", "inbox.Archive").unwrap();
        assert_eq!(f.full, "INBOX.Archive");
        let f = resolve(&courier(), "folder", "INBOX/Sub").unwrap();
        assert_eq!(f.full, "INBOX.Sub");
    }

    #[test]
    fn unicode_is_modified_utf7_on_the_wire() {
        let f = resolve(&courier(), "folder", "Entwürfe/日本語").unwrap();
        assert_eq!(f.full, "INBOX.Entwürfe.日本語");
        assert_eq!(f.wire, "INBOX.Entw&APw-rfe.&ZeVnLIqe-");
        assert_eq!(Folder::from_wire(f.wire.as_bytes()), f);
    }

    #[test]
    fn hostile_names_are_invalid() {
        for bad in ["a\r\nb", "x\0", "", "   ", "a//b", "x /", "/ x", "/x /"] {
            let e = resolve(&dovecot(), "folder", bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidArgument {
                        attribute: "folder",
                        ..
                    }
                ),
                "{bad:?}: {e:?}"
            );
        }
        assert_eq!(
            resolve(&courier(), "folder", "v1.2").unwrap().full,
            "INBOX.v1.2"
        );
        let e = resolve(&courier(), "newfolder", "a/v1.2").unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidArgument {
                attribute: "newfolder",
                ..
            }
        ));
    }

    #[test]
    fn inner_levels_keep_their_white_space() {
        let f = resolve(&dovecot(), "folder", "x /T").unwrap();
        assert_eq!(f.full, "x /T");
        assert_eq!(resolve(&dovecot(), "folder", &f.full).unwrap(), f);
    }

    #[test]
    fn hierarchy() {
        let f = resolve(&courier(), "folder", "A/B/C").unwrap();
        let d = Some('.');
        assert_eq!(f.name(d), "C");
        let names: Vec<_> = f.ancestors(d).into_iter().map(|a| a.full).collect();
        assert_eq!(names, ["INBOX", "INBOX.A", "INBOX.A.B"]);
        assert_eq!(f.depth(d), 3);
        let a = resolve(&courier(), "folder", "A").unwrap();
        assert!(a.is_ancestor_of(&f, d));
        assert!(!f.is_ancestor_of(&a, d));
        let ab = resolve(&courier(), "folder", "AB").unwrap();
        assert!(!a.is_ancestor_of(&ab, d));
    }
}
