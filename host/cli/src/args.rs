//! The command line as clap sees it: `cfimap <action> [attributes]`, with the
//! tag's attribute names as long flags.

use std::fmt;
use std::path::PathBuf;

use cfimap_host::Security;
use clap::{ArgAction, Parser, ValueEnum};

/// The eleven actions of `<cfimap>`, by their tag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `getHeaderOnly`
    GetHeaderOnly,
    /// `getAll`
    GetAll,
    /// `delete`
    Delete,
    /// `markRead`
    MarkRead,
    /// `moveMail`
    MoveMail,
    /// `listAllFolders`
    ListAllFolders,
    /// `createFolder`
    CreateFolder,
    /// `deleteFolder`
    DeleteFolder,
    /// `renameFolder`
    RenameFolder,
    /// `open`
    Open,
    /// `close`
    Close,
}

impl Action {
    const ALL: [Action; 11] = [
        Action::GetHeaderOnly,
        Action::GetAll,
        Action::Delete,
        Action::MarkRead,
        Action::MoveMail,
        Action::ListAllFolders,
        Action::CreateFolder,
        Action::DeleteFolder,
        Action::RenameFolder,
        Action::Open,
        Action::Close,
    ];

    /// The tag's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Action::GetHeaderOnly => "getHeaderOnly",
            Action::GetAll => "getAll",
            Action::Delete => "delete",
            Action::MarkRead => "markRead",
            Action::MoveMail => "moveMail",
            Action::ListAllFolders => "listAllFolders",
            Action::CreateFolder => "createFolder",
            Action::DeleteFolder => "deleteFolder",
            Action::RenameFolder => "renameFolder",
            Action::Open => "open",
            Action::Close => "close",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn parse_action(s: &str) -> Result<Action, String> {
    let wanted = s.trim();
    Action::ALL
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            let names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
            format!("unknown action; valid actions are {}", names.join(", "))
        })
}

/// `yes|no|true|false` (any case), as the tag's boolean attributes take them.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err("expected yes, no, true or false".into()),
    }
}

fn parse_secure(s: &str) -> Result<Security, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(Security::Tls),
        "starttls" => Ok(Security::Starttls),
        "no" | "false" => Ok(Security::None),
        _ => Err("expected yes, no or starttls (true and false also work)".into()),
    }
}

fn parse_positive(s: &str) -> Result<u32, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if n >= 1 => u32::try_from(n).map_err(|_| "number too large".to_owned()),
        Ok(_) => Err("must be 1 or more".into()),
        Err(_) => Err("must be a whole number of 1 or more".into()),
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(0) | Err(_) => Err("must be a TCP port number from 1 to 65535".into()),
        Ok(p) => Ok(p),
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people (the default on a terminal).
    Table,
    /// One JSON document (the default when stdout is not a terminal).
    Json,
    /// One JSON value per line.
    Ndjson,
    /// Comma-separated values with a header line.
    Csv,
}

/// ColdFusion's cfimap tag on the command line: IMAP mailbox management.
///
/// Each run performs one action of the tag. Attributes keep the tag's names.
/// Results print as a table on a terminal, JSON otherwise; rows are keyed by
/// the tag's column names in upper case.
///
/// Exit status: 0 success; 2 bad usage or invalid attribute; 3 connection,
/// TLS, policy or timeout; 4 authentication failed; 5 the server refused
/// (NO/BAD, missing or existing folder, protected folder, unsupported);
/// 6 protocol violation by the server, or more than a limit allows; 1 anything
/// else.
#[derive(Debug, Parser)]
#[command(
    name = "cfimap",
    version,
    max_term_width = 100,
    after_help = "Examples:\n  \
        cfimap listAllFolders --server imap.example.com --username alice --recurse\n  \
        cfimap getHeaderOnly --server imap.example.com --username alice --folder INBOX --maxrows 20\n  \
        cfimap getHeaderOnly --server imap.example.com --username alice --filter flag=unseen --filter timeReceived=2024-03-01.. --newest\n  \
        cfimap moveMail --server imap.example.com --username alice --uid 42,43 --newfolder Archive/2024\n\n\
        The password comes from --password, else CFIMAP_PASSWORD, else a prompt on a terminal.\n\
        open connects, logs in and logs out again (a credentials check); close does nothing and\n\
        succeeds, since each run of cfimap is a connection of its own."
)]
pub struct Args {
    /// The action: getHeaderOnly, getAll, delete, markRead, moveMail,
    /// listAllFolders, createFolder, deleteFolder, renameFolder, open, close
    /// (any case).
    #[arg(value_name = "ACTION", value_parser = parse_action)]
    pub action: Action,

    /// Host name or IP address of the IMAP server.
    #[arg(long, value_name = "HOST")]
    pub server: Option<String>,

    /// TCP port (default 993 with --secure yes, else 143).
    #[arg(long, value_name = "PORT", value_parser = parse_port)]
    pub port: Option<u16>,

    /// The login name.
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,

    /// The password (prefer CFIMAP_PASSWORD or the prompt: command lines are
    /// visible to other users).
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "CFIMAP_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,

    /// An OAuth 2.0 access token, used instead of a password (OAUTHBEARER or
    /// XOAUTH2).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CFIMAP_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// yes: implicit TLS; starttls: upgrade a plain connection; no:
    /// plaintext. Default: TLS on port 993, else STARTTLS when offered, and
    /// plaintext only to a loopback server.
    #[arg(long, value_name = "yes|no|starttls", value_parser = parse_secure)]
    pub secure: Option<Security>,

    /// Seconds allowed for the connect and for each wait for the server
    /// (default 60).
    #[arg(long, value_name = "SECONDS", value_parser = parse_positive, allow_negative_numbers = true)]
    pub timeout: Option<u32>,

    /// Seconds the whole action may take, however slowly the server answers
    /// (default 3600; 0: no limit). Beyond the tag: its timeout bounds each
    /// wait only.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32))]
    pub deadline: Option<u32>,

    /// The folder, as listAllFolders shows it (FULLNAME) or as a /-path
    /// (default INBOX for message actions).
    #[arg(long, value_name = "FOLDER")]
    pub folder: Option<String>,

    /// moveMail: the destination folder; renameFolder: the new name.
    #[arg(long, value_name = "FOLDER")]
    pub newfolder: Option<String>,

    /// First message of a window, 1 = the oldest (the newest with
    /// --newest; ignored with --uid or --messagenumber).
    #[arg(long, value_name = "N", value_parser = parse_positive, allow_negative_numbers = true)]
    pub startrow: Option<u32>,

    /// Number of messages of the window from --startrow.
    #[arg(long, value_name = "N", value_parser = parse_positive, allow_negative_numbers = true)]
    pub maxrows: Option<u32>,

    /// Message sequence numbers, comma-separated (ignored with --uid).
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub messagenumber: Option<String>,

    /// Message UIDs, comma-separated. An empty list selects nothing.
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub uid: Option<String>,

    /// getHeaderOnly, getAll: only messages matching NAME=VALUE, the tag's
    /// <cfimapfilter> (repeatable: all must match). NAME is subject, from,
    /// to, flag (seen, unseen, answered, …), timeReceived or timeSent
    /// (FIRST..LAST as YYYY-MM-DD, both included, either side may be
    /// empty), or an extension: cc, body, text, header (Name:text), keyword,
    /// larger, smaller (bytes), uid (1:100,200). The selection then applies
    /// to the matching messages.
    #[arg(long, value_name = "NAME=VALUE")]
    pub filter: Vec<String>,

    /// getHeaderOnly, getAll: only messages NOT matching NAME=VALUE (the
    /// names of --filter; repeatable). Beyond the tag.
    #[arg(long, value_name = "NAME=VALUE")]
    pub exclude: Vec<String>,

    /// getHeaderOnly, getAll: newest first — rows come newest first, and
    /// --startrow counts from the newest message (--maxrows 20 alone: the
    /// 20 newest). Beyond the tag.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub newest: Option<bool>,

    /// Select every message of the folder (delete and moveMail need a
    /// selection by name).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub all: Option<bool>,

    /// listAllFolders: all descendants; deleteFolder: subfolders too.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub recurse: Option<bool>,

    /// getAll: directory to save attachments in.
    #[arg(long, value_name = "DIR")]
    pub attachmentpath: Option<PathBuf>,

    /// getAll: write name1.ext, name2.ext, … instead of overwriting.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub generateuniquefilenames: Option<bool>,

    /// Stop at the first message that fails (default true); false: report
    /// it and go on.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub stoponerror: Option<bool>,

    /// A PEM file of certificate authorities to trust besides the built-in
    /// ones.
    #[arg(long, value_name = "PATH")]
    pub cafile: Option<PathBuf>,

    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum, ignore_case = true, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Log what happens to stderr (-v info, -vv debug, -vvv trace); RUST_LOG
    /// also works. Secrets are never logged.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn actions_are_case_insensitive() {
        assert_eq!(parse_action("LISTALLFOLDERS"), Ok(Action::ListAllFolders));
        assert_eq!(parse_action("getheaderonly"), Ok(Action::GetHeaderOnly));
        assert!(parse_action("fetch").is_err());
    }

    #[test]
    fn booleans_and_secure() {
        assert_eq!(parse_bool("YES"), Ok(true));
        assert_eq!(parse_bool("false"), Ok(false));
        assert!(parse_bool("1").is_err());
        assert_eq!(parse_secure("true"), Ok(Security::Tls));
        assert_eq!(parse_secure("StartTLS"), Ok(Security::Starttls));
        assert_eq!(parse_secure("no"), Ok(Security::None));
    }

    #[test]
    fn positive_numbers() {
        assert_eq!(parse_positive("3"), Ok(3));
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("-2").is_err());
        assert!(parse_positive("x").is_err());
    }

    #[test]
    fn flag_booleans() {
        let a = Args::try_parse_from(["cfimap", "listallfolders", "--recurse"]).unwrap();
        assert_eq!(a.recurse, Some(true));
        let a = Args::try_parse_from(["cfimap", "delete", "--stoponerror=no"]).unwrap();
        assert_eq!(a.stoponerror, Some(false));
    }
}
