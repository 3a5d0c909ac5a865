//! From parsed arguments to what will be asked of the library: the tag's
//! attribute rules (selection precedence, required attributes, lists) applied
//! before anything is sent anywhere. Every mistake here is a usage error
//! (exit 2) that names the attribute.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use cfimap_host::{ConnectOptions, Credentials, ReadOptions, RowWindow, Selection};

use super::args::{Action, Args};
use super::filter;

/// A mistake in the command line: exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl UsageError {
    fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// Everything one run needs, validated.
#[derive(Debug)]
pub struct Plan {
    /// What to do.
    pub action: Action,
    /// How to connect; `None` only for `close`.
    pub connect: Option<ConnectOptions>,
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
    /// `--cafile`.
    pub cafile: Option<PathBuf>,
    /// `--deadline`: `None` for no limit.
    pub deadline: Option<Duration>,
}

/// `--deadline` when none is given: an hour for one action.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(3600);

/// Where the password comes from when neither `--password` nor the
/// environment has one.
pub trait PasswordPrompt {
    /// Asks for the password of `username` at `server`; `None` if no prompt
    /// is possible (stdin is not a terminal).
    fn prompt(&self, username: &str, server: &str) -> Result<Option<String>, UsageError>;
}

/// Prompts on the terminal (without echo) when stdin is a terminal.
pub struct TerminalPrompt;

impl PasswordPrompt for TerminalPrompt {
    fn prompt(&self, username: &str, server: &str) -> Result<Option<String>, UsageError> {
        if !std::io::stdin().is_terminal() {
            return Ok(None);
        }
        rpassword::prompt_password(format!("Password for {username}@{server}: "))
            .map(Some)
            .map_err(|e| UsageError::new(format!("cannot read the password: {e}")))
    }
}

/// Validates `args` into a [`Plan`].
pub fn plan(args: Args, prompt: &dyn PasswordPrompt) -> Result<Plan, UsageError> {
    let action = args.action;
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

    let selection = match selection(&args)? {
        Some(s) => s,
        None if matches!(action, Action::Delete | Action::MoveMail) => {
            return Err(UsageError::new(format!(
                "{action} needs a selection: --uid, --messagenumber, --startrow/--maxrows, \
                 or --all for every message of the folder"
            )));
        }
        None => Selection::All,
    };

    let connect = if action == Action::Close {
        None
    } else {
        Some(connect_options(&args, prompt)?)
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
    let reads = matches!(action, Action::GetHeaderOnly | Action::GetAll);
    let newest_first = args.newest.unwrap_or(false);
    if !reads && (!args.filter.is_empty() || !args.exclude.is_empty() || args.newest.is_some()) {
        let flag = if !args.filter.is_empty() {
            "--filter"
        } else if !args.exclude.is_empty() {
            "--exclude"
        } else {
            "--newest"
        };
        return Err(UsageError::new(format!(
            "{flag} applies to getHeaderOnly and getAll only, not to {action}"
        )));
    }
    let filters = args
        .filter
        .iter()
        .map(|spec| filter::parse(spec, false))
        .chain(args.exclude.iter().map(|spec| filter::parse(spec, true)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(UsageError)?;
    Ok(Plan {
        action,
        connect,
        folder: args.folder,
        newfolder: args.newfolder,
        selection,
        recurse: args.recurse.unwrap_or(false),
        stoponerror,
        read: ReadOptions {
            attachmentpath,
            generateuniquefilenames: args.generateuniquefilenames.unwrap_or(false),
            stoponerror,
            filters,
            newest_first,
        },
        cafile: args.cafile,
        deadline: match args.deadline {
            Some(0) => None,
            Some(seconds) => Some(Duration::from_secs(seconds.into())),
            None => Some(DEFAULT_DEADLINE),
        },
    })
}

fn connect_options(args: &Args, prompt: &dyn PasswordPrompt) -> Result<ConnectOptions, UsageError> {
    let server = match args.server.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => return Err(UsageError::new(format!("{} needs --server", args.action))),
    };
    let Some(username) = args.username.clone() else {
        return Err(UsageError::new(format!("{} needs --username", args.action)));
    };
    let credentials = if let Some(token) = &args.token {
        Credentials::BearerToken(token.clone())
    } else if let Some(password) = &args.password {
        Credentials::Password(password.clone())
    } else if let Some(password) = prompt.prompt(&username, &server)? {
        Credentials::Password(password)
    } else {
        return Err(UsageError::new(
            "no password: pass --password, set CFIMAP_PASSWORD (or CFIMAP_TOKEN / --token), \
             or run on a terminal to be asked",
        ));
    };
    let mut options = ConnectOptions::new(&server, &username, credentials);
    options.secure = args.secure;
    options.timeout = args.timeout;
    // The port is always made explicit, so the policy and the component agree
    // on it.
    options.port = Some(args.port.unwrap_or(options.effective_port()));
    Ok(options)
}

/// The tag's precedence: `uid`, then `messagenumber`, then the
/// `startrow`/`maxrows` window, then `--all`. `None`: nothing was said.
fn selection(args: &Args) -> Result<Option<Selection>, UsageError> {
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

/// A comma-separated list of numbers. Entries are trimmed and empty entries
/// skipped (so an empty list selects nothing); a number too large to be a
/// message number or UID can match nothing and is skipped; anything that is
/// not a number is an error naming the attribute.
fn number_list(attribute: &str, list: &str) -> Result<Vec<u32>, UsageError> {
    let mut out = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if !entry.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UsageError::new(format!(
                "invalid {attribute}: {entry:?} is not a number (expected a comma-separated list \
                 of numbers)"
            )));
        }
        if let Ok(n) = entry.parse::<u32>() {
            out.push(n);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    struct NoPrompt;
    impl PasswordPrompt for NoPrompt {
        fn prompt(&self, _: &str, _: &str) -> Result<Option<String>, UsageError> {
            Ok(None)
        }
    }

    fn plan_of(argv: &[&str]) -> Result<Plan, UsageError> {
        let mut full = vec!["cfimap"];
        full.extend_from_slice(argv);
        full.extend_from_slice(&["--server", "h", "--username", "u", "--password", "p"]);
        plan(Args::try_parse_from(full).unwrap(), &NoPrompt)
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
    fn non_numeric_is_an_error() {
        let e = plan_of(&["getAll", "--uid", "1,x"]).unwrap_err();
        assert!(e.0.contains("uid"), "{}", e.0);
        let e = plan_of(&["getAll", "--messagenumber", "-1"]).unwrap_err();
        assert!(e.0.contains("messagenumber"), "{}", e.0);
    }

    #[test]
    fn filters_apply_to_reads_only() {
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
        for argv in [
            &["delete", "--all", "--filter", "flag=seen"][..],
            &["markRead", "--all", "--exclude", "flag=seen"],
            &["listAllFolders", "--newest"],
        ] {
            let e = plan_of(argv).unwrap_err();
            assert!(e.0.contains("getHeaderOnly and getAll only"), "{}", e.0);
        }
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

    #[test]
    fn port_is_made_explicit() {
        let p = plan_of(&["open", "--secure", "yes"]).unwrap();
        assert_eq!(p.connect.unwrap().port, Some(993));
        let p = plan_of(&["open"]).unwrap();
        assert_eq!(p.connect.unwrap().port, Some(143));
    }

    #[test]
    fn missing_password_without_terminal() {
        let args =
            Args::try_parse_from(["cfimap", "open", "--server", "h", "--username", "u"]).unwrap();
        // The environment may hold CFIMAP_PASSWORD; only check when it does not.
        if args.password.is_none() && args.token.is_none() {
            assert!(plan(args, &NoPrompt).is_err());
        }
    }
}
