//! From parsed arguments to what will be asked of the library: the tag's
//! attribute rules (selection precedence, required attributes, lists) applied
//! before anything is sent anywhere. Every mistake here is a usage error
//! (exit 2) that names the attribute.

use cfimap_host::{ReadOptions, RowWindow, Selection};

use super::args::{Action, Attributes, SelectionArgs};
use super::filter;

/// A mistake in the command line: exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl UsageError {
    /// A usage error saying `msg`.
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// What one action will ask of a session, validated.
#[derive(Debug)]
pub struct Plan {
    /// What to do.
    pub action: Action,
    /// `--folder` as given.
    pub folder: Option<String>,
    /// `--newfolder` as given.
    pub newfolder: Option<String>,
    /// The selection (message actions only).
    pub selection: Selection,
    /// `--recurse`.
    pub recurse: bool,
    /// `--stoponerror` (default true).
    pub stoponerror: bool,
    /// Options of getHeaderOnly/getAll.
    pub read: ReadOptions,
}

/// Validates the attributes of `action` (not the connection: see
/// [`crate::settings`]).
pub fn plan(action: Action, args: &Attributes) -> Result<Plan, UsageError> {
    for (name, value) in [("folder", &args.folder), ("newfolder", &args.newfolder)] {
        if let Some(v) = value
            && v.chars().any(|c| matches!(c, '\r' | '\n' | '\0'))
        {
            return Err(UsageError::new(format!(
                "invalid {name}: a folder name cannot contain CR, LF or NUL"
            )));
        }
    }
    match action {
        Action::CreateFolder | Action::DeleteFolder | Action::RenameFolder
            if args.folder.is_none() =>
        {
            return Err(UsageError::new(format!("{action} needs --folder")));
        }
        _ => {}
    }
    if matches!(action, Action::RenameFolder | Action::MoveMail) && args.newfolder.is_none() {
        return Err(UsageError::new(format!("{action} needs --newfolder")));
    }

    let selection = match selection(&args.selection)? {
        Some(s) => s,
        None if matches!(action, Action::Delete | Action::MoveMail) => {
            return Err(UsageError::new(format!(
                "{action} needs a selection: --uid, --messagenumber, --startrow/--maxrows, \
                 or --all for every message of the folder"
            )));
        }
        None => Selection::All,
    };

    let attachmentpath = match &args.attachmentpath {
        Some(p) => Some(
            std::path::absolute(p)
                .map_err(|e| UsageError::new(format!("invalid attachmentpath: {e}")))?,
        ),
        None => None,
    };
    let attachmentpath = match attachmentpath {
        Some(p) => Some(p.into_os_string().into_string().map_err(|_| {
            UsageError::new("invalid attachmentpath: the path is not valid Unicode")
        })?),
        None => None,
    };
    let stoponerror = args.stoponerror.unwrap_or(true);
    let filters = args
        .filters
        .filter
        .iter()
        .map(|spec| filter::parse(spec, false))
        .chain(
            args.filters
                .exclude
                .iter()
                .map(|spec| filter::parse(spec, true)),
        )
        .collect::<Result<Vec<_>, _>>()
        .map_err(UsageError)?;
    Ok(Plan {
        action,
        folder: args.folder.clone(),
        newfolder: args.newfolder.clone(),
        selection,
        recurse: args.recurse.unwrap_or(false),
        stoponerror,
        read: ReadOptions {
            attachmentpath,
            generateuniquefilenames: args.generateuniquefilenames.unwrap_or(false),
            stoponerror,
            filters,
            newest_first: args.filters.newest.unwrap_or(false),
        },
    })
}

/// The tag's precedence: `uid`, then `messagenumber`, then the
/// `startrow`/`maxrows` window; `--all` is the whole folder and goes with
/// none of them. `None`: nothing was said.
fn selection(args: &SelectionArgs) -> Result<Option<Selection>, UsageError> {
    let named = [
        ("--uid", args.uid.is_some()),
        ("--messagenumber", args.messagenumber.is_some()),
        ("--startrow", args.startrow.is_some()),
        ("--maxrows", args.maxrows.is_some()),
    ];
    if args.all == Some(true)
        && let Some((flag, _)) = named.iter().find(|(_, given)| *given)
    {
        return Err(UsageError::new(format!(
            "--all selects every message and cannot go with {flag}: give one or the other"
        )));
    }
    if let Some(list) = &args.uid {
        return Ok(Some(Selection::Uids(number_list("uid", list)?)));
    }
    if let Some(list) = &args.messagenumber {
        return Ok(Some(Selection::MessageNumbers(number_list(
            "messagenumber",
            list,
        )?)));
    }
    if args.startrow.is_some() || args.maxrows.is_some() {
        return Ok(Some(Selection::Rows(RowWindow {
            startrow: args.startrow.unwrap_or(1),
            maxrows: args.maxrows,
        })));
    }
    Ok(match args.all {
        Some(true) => Some(Selection::All),
        _ => None,
    })
}

/// The most numbers one list may name once its ranges are counted out: a
/// million UIDs is far more than any selection by hand, and still a list
/// the component takes in one call.
const MAX_LISTED: u64 = 1_000_000;

/// A list of numbers and ranges: `1,2,3`, `1:3`, `1-3`, separated by commas,
/// spaces or newlines (what `jq -r '.[].UID'` prints). Empty entries are
/// skipped, so an empty list selects nothing; a number too large to be a
/// message number or UID can match nothing and is skipped; anything else is
/// an error naming the attribute.
pub fn number_list(attribute: &str, list: &str) -> Result<Vec<u32>, UsageError> {
    let invalid = |entry: &str, why: &str| {
        UsageError::new(format!(
            "invalid {attribute}: {entry:?} {why} (expected numbers and ranges like 1:3 or 1-3, \
             separated by commas, spaces or newlines)"
        ))
    };
    let number = |entry: &str, text: &str| -> Result<Option<u32>, UsageError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(entry, "is not a number"));
        }
        Ok(text.parse::<u32>().ok())
    };
    let mut out = Vec::new();
    let mut listed: u64 = 0;
    for entry in list
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
    {
        let range = entry.split_once(':').or_else(|| entry.split_once('-'));
        let Some((first, last)) = range else {
            if let Some(n) = number(entry, entry)? {
                out.push(n);
                listed += 1;
                if listed > MAX_LISTED {
                    return Err(invalid(
                        entry,
                        &format!("makes the list longer than {MAX_LISTED} numbers"),
                    ));
                }
            }
            continue;
        };
        // A number past any UID counts as "beyond": a range ending there
        // runs to the largest UID (and is held to the cap like any other),
        // one starting there matches nothing. IMAP reads 5:3 as 3:5; so
        // does this list.
        let beyond = u64::from(u32::MAX) + 1;
        let a = number(entry, first)?.map_or(beyond, u64::from);
        let b = number(entry, last)?.map_or(beyond, u64::from);
        let (Ok(first), last) = (u32::try_from(a.min(b)), a.max(b)) else {
            continue; // wholly beyond any UID: matches nothing
        };
        let last = u32::try_from(last).unwrap_or(u32::MAX);
        listed += u64::from(last - first) + 1;
        if listed > MAX_LISTED {
            return Err(invalid(
                entry,
                &format!("makes the list longer than {MAX_LISTED} numbers"),
            ));
        }
        out.extend(first..=last);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Cli;
    use clap::Parser;

    fn plan_of(argv: &[&str]) -> Result<Plan, UsageError> {
        let mut full = vec!["cfimap"];
        full.extend_from_slice(argv);
        let cli = Cli::try_parse_from(full).expect("parses");
        let (action, attributes) = cli.command.into_action().expect("an action");
        plan(action, &attributes)
    }

    #[test]
    fn uid_wins() {
        let p = plan_of(&[
            "getAll",
            "--uid",
            " 3, 4 ",
            "--messagenumber",
            "1",
            "--startrow",
            "2",
        ])
        .unwrap();
        assert_eq!(p.selection, Selection::Uids(vec![3, 4]));
    }

    #[test]
    fn messagenumber_over_window() {
        let p = plan_of(&["getAll", "--messagenumber", "1,2", "--maxrows", "2"]).unwrap();
        assert_eq!(p.selection, Selection::MessageNumbers(vec![1, 2]));
    }

    #[test]
    fn window_and_default() {
        let p = plan_of(&["getAll", "--maxrows", "5"]).unwrap();
        assert_eq!(
            p.selection,
            Selection::Rows(RowWindow {
                startrow: 1,
                maxrows: Some(5)
            })
        );
        assert_eq!(plan_of(&["getAll"]).unwrap().selection, Selection::All);
    }

    #[test]
    fn empty_list_selects_nothing() {
        let p = plan_of(&["delete", "--uid", ""]).unwrap();
        assert_eq!(p.selection, Selection::Uids(vec![]));
    }

    #[test]
    fn lists_take_ranges_spaces_and_newlines() {
        let list = |s: &str| number_list("uid", s);
        assert_eq!(list("1:3").unwrap(), [1, 2, 3]);
        assert_eq!(list("1-3").unwrap(), [1, 2, 3]);
        assert_eq!(list("5:3").unwrap(), [3, 4, 5]);
        assert_eq!(list("7\n8\n9\n").unwrap(), [7, 8, 9]);
        assert_eq!(list("1 2,3 , 10-11").unwrap(), [1, 2, 3, 10, 11]);
        assert_eq!(list("99999999999").unwrap(), Vec::<u32>::new());
        assert_eq!(list("4294967295:99999999999").unwrap(), [u32::MAX]);
        for bad in ["1,x", "-1", "1:", ":3", "1:2:3", "1:*"] {
            let e = list(bad).unwrap_err();
            assert!(e.0.starts_with("invalid uid:"), "{bad}: {}", e.0);
        }
        let e = list("1:2000000").unwrap_err();
        assert!(e.0.contains("longer than"), "{}", e.0);
    }

    #[test]
    fn all_goes_with_no_other_selection() {
        for argv in [
            &["moveMail", "--uid", "2", "--all", "--newfolder", "X"][..],
            &["delete", "--all", "--maxrows", "3"],
            &["getAll", "--messagenumber", "1", "--all=yes"],
        ] {
            let e = plan_of(argv).unwrap_err();
            assert!(e.0.contains("--all selects every message"), "{}", e.0);
        }
        assert_eq!(
            plan_of(&["delete", "--uid", "1", "--all=false"])
                .unwrap()
                .selection,
            Selection::Uids(vec![1]),
            "--all=false is no selection"
        );
    }

    #[test]
    fn filters_are_parsed() {
        let p = plan_of(&[
            "getHeaderOnly",
            "--filter",
            "flag=unseen",
            "--exclude",
            "from=noreply",
            "--newest",
            "--maxrows",
            "20",
        ])
        .unwrap();
        assert_eq!(p.read.filters.len(), 2);
        assert!(!p.read.filters[0].negated && p.read.filters[1].negated);
        assert!(p.read.newest_first);
        let e = plan_of(&["getAll", "--filter", "colour=red"]).unwrap_err();
        assert!(e.0.contains("unknown filter"), "{}", e.0);
    }

    #[test]
    fn destructive_needs_selection() {
        assert!(plan_of(&["delete"]).is_err());
        assert!(plan_of(&["moveMail", "--newfolder", "X"]).is_err());
        assert_eq!(
            plan_of(&["delete", "--all"]).unwrap().selection,
            Selection::All
        );
    }

    #[test]
    fn folder_names_without_line_breaks() {
        assert!(plan_of(&["createFolder", "--folder", "a\r\nb"]).is_err());
        assert!(plan_of(&["createFolder"]).is_err());
    }
}
