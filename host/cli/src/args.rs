//! The command line as clap sees it: `cfimap <action> [attributes]`, one
//! subcommand per action of the tag with only that action's attributes, plus
//! `run`, `completions` and `man`.
//!
//! People type the tag's attributes as ColdFusion writes them, so the
//! command line is normalised before clap reads it ([`normalize`]): action
//! and flag names in any case (`getall`, `--startRow`, `--STARTROW`), and
//! the booleans take `--flag`, `--flag true|false|yes|no` or `--flag=…`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use cfimap_host::Security;
use clap::{ArgAction, CommandFactory, Parser, Subcommand, ValueEnum};

/// The eleven actions of `<cfimap>`, by their tag names, and `markUnread`
/// beyond the tag.
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
    /// `markUnread` (beyond the tag)
    MarkUnread,
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
    /// Every action, in the order help lists them.
    pub const ALL: [Action; 12] = [
        Action::GetHeaderOnly,
        Action::GetAll,
        Action::Delete,
        Action::MarkRead,
        Action::MarkUnread,
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
            Action::MarkUnread => "markUnread",
            Action::MoveMail => "moveMail",
            Action::ListAllFolders => "listAllFolders",
            Action::CreateFolder => "createFolder",
            Action::DeleteFolder => "deleteFolder",
            Action::RenameFolder => "renameFolder",
            Action::Open => "open",
            Action::Close => "close",
        }
    }

    /// The action named `name` in any case.
    pub fn named(name: &str) -> Option<Action> {
        Action::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `yes|no|true|false` (any case), as the tag's boolean attributes take them.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err("expected yes, no, true or false".into()),
    }
}

/// The tag's `secure` values, and the names other mail programs use for
/// them: `tls`/`ssl` for implicit TLS, `none` for plaintext.
pub fn parse_secure(s: &str) -> Result<Security, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "tls" | "ssl" => Ok(Security::Tls),
        "starttls" => Ok(Security::Starttls),
        "no" | "false" | "none" => Ok(Security::None),
        _ => Err("expected yes (tls, ssl), no (none) or starttls".into()),
    }
}

fn parse_positive(s: &str) -> Result<u32, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if n >= 1 => u32::try_from(n).map_err(|_| "number too large".to_owned()),
        Ok(_) => Err("must be 1 or more".into()),
        Err(_) => Err("must be a whole number of 1 or more".into()),
    }
}

/// A TCP port from 1 to 65535.
pub fn parse_port(s: &str) -> Result<u16, String> {
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
/// Each run performs one action of the tag (`cfimap run` runs a script of
/// them over named connections). Attributes keep the tag's names, in any
/// case. Results print as a table on a terminal, JSON otherwise; rows are
/// keyed by the tag's column names in upper case.
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
    subcommand_value_name = "ACTION",
    subcommand_help_heading = "Actions",
    after_help = "Examples:\n  \
        cfimap listAllFolders --server imap.example.com --username alice --recurse\n  \
        cfimap getHeaderOnly --server imap.example.com --username alice --folder INBOX --maxRows 20\n  \
        cfimap getHeaderOnly --profile work --filter flag=unseen --filter timeReceived=2024-03-01.. --newest\n  \
        cfimap moveMail --profile work --uid 42,43 --newFolder Archive/2024\n  \
        cfimap run cleanup.cfm\n\n\
        The server, login and password come from the flags, else CFIMAP_SERVER, CFIMAP_PORT,\n\
        CFIMAP_USERNAME and CFIMAP_PASSWORD (or CFIMAP_TOKEN), else the profile (--profile,\n\
        CFIMAP_PROFILE, else [profile.default] of ~/.config/cfimap/config.toml), else a prompt\n\
        for the password on a terminal. `cfimap help ACTION` shows one action's attributes."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Options of every action.
    #[command(flatten)]
    pub global: Global,
}

/// Options every action takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Global {
    /// Output format (default: table on a terminal, json otherwise; `run`
    /// always writes NDJSON).
    #[arg(
        long,
        global = true,
        value_enum,
        ignore_case = true,
        value_name = "FORMAT"
    )]
    pub format: Option<Format>,

    /// The columns a table shows, by the tag's names (comma-separated, any
    /// case; implies --format table). Default: a few per action.
    #[arg(long, global = true, value_name = "LIST")]
    pub columns: Option<String>,

    /// No progress display on stderr (it shows only on a terminal, and never
    /// in the output), and no warnings.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// The profile of the configuration file to take connection settings
    /// from (default: CFIMAP_PROFILE, else `default` when the file has it).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// The configuration file (default: CFIMAP_CONFIG, else
    /// $XDG_CONFIG_HOME/cfimap/config.toml, else ~/.config/cfimap/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log what happens to stderr (-v info, -vv debug, -vvv the IMAP
    /// conversation too, with credentials replaced by ***); RUST_LOG also
    /// works.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
}

/// The actions, and the commands around them.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The header columns of the messages of a folder (no bodies; never
    /// marks a message read).
    #[command(name = "getHeaderOnly")]
    GetHeaderOnly(ReadArgs),
    /// Every column of the messages of a folder: headers, bodies,
    /// attachments (saved with --attachmentPath).
    #[command(name = "getAll")]
    GetAll(GetAllArgs),
    /// Deletes the selected messages (a selection is required).
    #[command(name = "delete")]
    Delete(ChangeArgs),
    /// Marks the selected messages read (\Seen).
    #[command(name = "markRead")]
    MarkRead(ChangeArgs),
    /// Beyond the tag: marks the selected messages unread (removes \Seen).
    #[command(name = "markUnread")]
    MarkUnread(ChangeArgs),
    /// Moves the selected messages to --newFolder (a selection is required);
    /// the report lists the UIDs they got there (beyond the tag).
    #[command(name = "moveMail")]
    MoveMail(MoveMailArgs),
    /// The folders of the account, or below --folder.
    #[command(name = "listAllFolders")]
    ListAllFolders(ListArgs),
    /// Creates --folder, with its parents.
    #[command(name = "createFolder")]
    CreateFolder(FolderArgs),
    /// Deletes --folder (with its subfolders when --recurse).
    #[command(name = "deleteFolder")]
    DeleteFolder(DeleteFolderArgs),
    /// Renames --folder to --newFolder.
    #[command(name = "renameFolder")]
    RenameFolder(RenameFolderArgs),
    /// Connects and logs in, then logs out: a check of the settings. Named
    /// connections that stay open are `cfimap run`'s.
    #[command(name = "open")]
    Open(OpenArgs),
    /// Nothing to close outside `cfimap run`: each run of cfimap is a
    /// connection of its own. Succeeds.
    #[command(name = "close")]
    Close,
    /// Runs a script of actions over named connections, in one process.
    ///
    /// Each line is one action, written as the tag —
    /// `<cfimap action="getHeaderOnly" connection="c" maxRows="10" name="recent">`
    /// — or as a JSON object with the same attribute names. `open` with
    /// `connection` keeps the connection open for later lines; `close` ends
    /// it; connections left open are closed at the end. A getHeaderOnly or
    /// getAll tag may have a body of `<cfimapfilter name="…" value="…">`
    /// lines closed by `</cfimap>`. Lines that are empty or start with `#`
    /// are skipped.
    ///
    /// Output: one JSON object per action on stdout, with its line number,
    /// action, connection, name and its rows or result, or its error. A
    /// failing line stops the script with its exit status, unless
    /// --keep-going.
    #[command(name = "run")]
    Run(RunArgs),
    /// Prints a shell completion script (bash, zsh, fish, elvish,
    /// powershell) to stdout.
    #[command(name = "completions")]
    Completions {
        /// The shell.
        #[arg(value_enum, ignore_case = true)]
        shell: clap_complete::Shell,
    },
    /// Prints cfimap's manual page (roff) to stdout.
    #[command(name = "man")]
    Man,
    /// Compiles the IMAP component ahead of time for this machine, so that no
    /// run compiles it (`make build` and `make install` do this).
    ///
    /// cfimap looks for the compiled file in the directory of its binary,
    /// then in ../lib/cfimap beside it, then in its compile cache
    /// ($XDG_CACHE_HOME/cfimap, else ~/.cache/cfimap), which the first run
    /// without a precompiled file fills. A file is used only if it and every
    /// directory above it are yours or root's and writable by no one else
    /// (a sticky directory such as /tmp excepted); precompile refuses a
    /// directory it would not be used from. Prints the path written.
    #[command(name = "precompile")]
    Precompile {
        /// Where to write it (default: the directory of the cfimap binary).
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

/// Where the server is and who logs in.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// Host name or IP address of the IMAP server (or CFIMAP_SERVER). A
    /// port goes in --port.
    #[arg(long, value_name = "HOST")]
    pub server: Option<String>,

    /// TCP port (or CFIMAP_PORT; default 993 with --secure yes, else 143).
    #[arg(long, value_name = "PORT", value_parser = parse_port)]
    pub port: Option<u16>,

    /// The login name (or CFIMAP_USERNAME).
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,

    /// The password. Prefer CFIMAP_PASSWORD, --password-stdin, a profile's
    /// password-command or the prompt: command lines are visible to other
    /// users.
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,

    /// Reads the password from the first line of stdin.
    #[arg(long, value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_bool)]
    pub password_stdin: Option<bool>,

    /// An OAuth 2.0 access token, used instead of a password (OAUTHBEARER or
    /// XOAUTH2; or CFIMAP_TOKEN).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// yes (or tls, ssl): implicit TLS; starttls: upgrade a plain
    /// connection; no (or none): plaintext. Default: TLS on port 993, else
    /// STARTTLS when offered, and plaintext only to a loopback server.
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

    /// A PEM file of certificate authorities to trust besides the built-in
    /// ones.
    #[arg(long, value_name = "PATH")]
    pub cafile: Option<PathBuf>,
}

impl ConnectionArgs {
    /// `self`, with what it leaves unset taken from `other`.
    pub fn or(self, other: ConnectionArgs) -> ConnectionArgs {
        ConnectionArgs {
            server: self.server.or(other.server),
            port: self.port.or(other.port),
            username: self.username.or(other.username),
            password: self.password.or(other.password),
            password_stdin: self.password_stdin.or(other.password_stdin),
            token: self.token.or(other.token),
            secure: self.secure.or(other.secure),
            timeout: self.timeout.or(other.timeout),
            deadline: self.deadline.or(other.deadline),
            cafile: self.cafile.or(other.cafile),
        }
    }

    /// The flags set, by name (for "does not apply" errors).
    pub fn given(&self) -> Vec<&'static str> {
        let mut given = Vec::new();
        let flags: [(&'static str, bool); 10] = [
            ("server", self.server.is_some()),
            ("port", self.port.is_some()),
            ("username", self.username.is_some()),
            ("password", self.password.is_some()),
            ("password-stdin", self.password_stdin.is_some()),
            ("token", self.token.is_some()),
            ("secure", self.secure.is_some()),
            ("timeout", self.timeout.is_some()),
            ("deadline", self.deadline.is_some()),
            ("cafile", self.cafile.is_some()),
        ];
        for (name, set) in flags {
            if set {
                given.push(name);
            }
        }
        given
    }
}

/// Which messages an action works on.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    next_help_heading = "Selection (the first given wins: uid, messageNumber, startRow/maxRows, all)"
)]
pub struct SelectionArgs {
    /// Message UIDs: `1,2,3`, `1:3`, `1-3`, spaces or newlines (what
    /// `jq -r '.[].UID'` prints). An empty list selects nothing.
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub uid: Option<String>,

    /// Message sequence numbers, in the forms --uid takes.
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub messagenumber: Option<String>,

    /// First message of a window, 1 = the oldest (the newest with
    /// --newest).
    #[arg(long, value_name = "N", value_parser = parse_positive, allow_negative_numbers = true)]
    pub startrow: Option<u32>,

    /// Number of messages of the window from --startRow.
    #[arg(long, value_name = "N", value_parser = parse_positive, allow_negative_numbers = true)]
    pub maxrows: Option<u32>,

    /// Every message of the folder (delete and moveMail need a selection by
    /// name; it cannot be combined with another selection).
    #[arg(long, value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_bool)]
    pub all: Option<bool>,
}

/// The tag's `<cfimapfilter>` and cfimap's extensions of it.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Only messages matching NAME=VALUE, the tag's <cfimapfilter>
    /// (repeatable: all must match). NAME is subject, from, to, flag (seen,
    /// unseen, answered, …), timeReceived or timeSent (FIRST..LAST as
    /// YYYY-MM-DD, both included, either side may be empty), or an
    /// extension: cc, body, text, header (Name:text), keyword, larger,
    /// smaller (bytes), uid (1:100,200). The selection then applies to the
    /// matching messages.
    #[arg(long, value_name = "NAME=VALUE")]
    pub filter: Vec<String>,

    /// Only messages NOT matching NAME=VALUE (the names of --filter;
    /// repeatable). Beyond the tag.
    #[arg(long, value_name = "NAME=VALUE")]
    pub exclude: Vec<String>,

    /// Newest first: rows come newest first, and --startRow counts from the
    /// newest message (--maxRows 20 alone: the 20 newest). Beyond the tag.
    #[arg(long, value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_bool)]
    pub newest: Option<bool>,
}

/// getHeaderOnly's attributes.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadArgs {
    /// The folder, as listAllFolders shows it (FULLNAME) or as a /-path
    /// (default INBOX).
    #[arg(long, help_heading = "Attributes", value_name = "FOLDER")]
    pub folder: Option<String>,

    #[command(flatten)]
    pub selection: SelectionArgs,

    #[command(flatten)]
    pub filters: FilterArgs,

    /// Stop at the first message that cannot be read (default true); false:
    /// give it a row with its ERROR and go on.
    #[arg(long, help_heading = "Attributes", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_bool)]
    pub stoponerror: Option<bool>,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// getAll's attributes.
#[derive(Debug, Clone, clap::Args)]
pub struct GetAllArgs {
    #[command(flatten)]
    pub read: ReadArgs,

    /// Directory to save attachments in.
    #[arg(long, help_heading = "Attributes", value_name = "DIR")]
    pub attachmentpath: Option<PathBuf>,

    /// Write name1.ext, name2.ext, … instead of overwriting.
    #[arg(long, help_heading = "Attributes", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_bool)]
    pub generateuniquefilenames: Option<bool>,
}

/// delete's and markRead's attributes.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeArgs {
    /// The folder, as listAllFolders shows it (FULLNAME) or as a /-path
    /// (default INBOX).
    #[arg(long, help_heading = "Attributes", value_name = "FOLDER")]
    pub folder: Option<String>,

    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Stop at the first part the server refuses (default true); false:
    /// report it and go on.
    #[arg(long, help_heading = "Attributes", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_bool)]
    pub stoponerror: Option<bool>,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// moveMail's attributes.
#[derive(Debug, Clone, clap::Args)]
pub struct MoveMailArgs {
    #[command(flatten)]
    pub change: ChangeArgs,

    /// The folder to move the messages to.
    #[arg(long, help_heading = "Attributes", value_name = "FOLDER")]
    pub newfolder: Option<String>,
}

/// listAllFolders' attributes.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// List the folders below this one (default: from the top).
    #[arg(long, help_heading = "Attributes", value_name = "FOLDER")]
    pub folder: Option<String>,

    /// Every descendant, not only the children.
    #[arg(long, help_heading = "Attributes", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_bool)]
    pub recurse: Option<bool>,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// createFolder's attributes.
#[derive(Debug, Clone, clap::Args)]
pub struct FolderArgs {
    /// The folder (required), as a FULLNAME or a /-path.
    #[arg(long, help_heading = "Attributes", value_name = "FOLDER")]
    pub folder: Option<String>,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// deleteFolder's attributes.
#[derive(Debug, Clone, clap::Args)]
pub struct DeleteFolderArgs {
    #[command(flatten)]
    pub folder: FolderArgs,

    /// Delete its subfolders too (without it, a folder with subfolders is
    /// refused).
    #[arg(long, help_heading = "Attributes", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_bool)]
    pub recurse: Option<bool>,
}

/// renameFolder's attributes.
#[derive(Debug, Clone, clap::Args)]
pub struct RenameFolderArgs {
    #[command(flatten)]
    pub folder: FolderArgs,

    /// The new name.
    #[arg(long, help_heading = "Attributes", value_name = "FOLDER")]
    pub newfolder: Option<String>,
}

/// open's attributes.
#[derive(Debug, Clone, clap::Args)]
pub struct OpenArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `cfimap run`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The script; `-` or nothing: stdin.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Go on after a failing line; the exit status is then the first
    /// failure's.
    #[arg(long)]
    pub keep_going: bool,

    /// Defaults for the script's open lines (a line's own attributes win).
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Every attribute of one action, whichever subcommand carried it: what the
/// rest of the program reads.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    /// Where to connect and who logs in.
    pub connection: ConnectionArgs,
    /// `folder`.
    pub folder: Option<String>,
    /// `newfolder`.
    pub newfolder: Option<String>,
    /// `uid`, `messagenumber`, `startrow`, `maxrows`, `all`.
    pub selection: SelectionArgs,
    /// `filter`, `exclude`, `newest`.
    pub filters: FilterArgs,
    /// `recurse`.
    pub recurse: Option<bool>,
    /// `attachmentpath`.
    pub attachmentpath: Option<PathBuf>,
    /// `generateuniquefilenames`.
    pub generateuniquefilenames: Option<bool>,
    /// `stoponerror`.
    pub stoponerror: Option<bool>,
}

impl Command {
    /// The action and its attributes; `None` for run, completions and man.
    pub fn into_action(self) -> Option<(Action, Attributes)> {
        let read = |r: ReadArgs| Attributes {
            connection: r.connection,
            folder: r.folder,
            selection: r.selection,
            filters: r.filters,
            stoponerror: r.stoponerror,
            ..Attributes::default()
        };
        let change = |c: ChangeArgs| Attributes {
            connection: c.connection,
            folder: c.folder,
            selection: c.selection,
            stoponerror: c.stoponerror,
            ..Attributes::default()
        };
        let folder = |f: FolderArgs| Attributes {
            connection: f.connection,
            folder: f.folder,
            ..Attributes::default()
        };
        Some(match self {
            Command::GetHeaderOnly(r) => (Action::GetHeaderOnly, read(r)),
            Command::GetAll(a) => (
                Action::GetAll,
                Attributes {
                    attachmentpath: a.attachmentpath,
                    generateuniquefilenames: a.generateuniquefilenames,
                    ..read(a.read)
                },
            ),
            Command::Delete(c) => (Action::Delete, change(c)),
            Command::MarkRead(c) => (Action::MarkRead, change(c)),
            Command::MarkUnread(c) => (Action::MarkUnread, change(c)),
            Command::MoveMail(m) => (
                Action::MoveMail,
                Attributes {
                    newfolder: m.newfolder,
                    ..change(m.change)
                },
            ),
            Command::ListAllFolders(l) => (
                Action::ListAllFolders,
                Attributes {
                    connection: l.connection,
                    folder: l.folder,
                    recurse: l.recurse,
                    ..Attributes::default()
                },
            ),
            Command::CreateFolder(f) => (Action::CreateFolder, folder(f)),
            Command::DeleteFolder(d) => (
                Action::DeleteFolder,
                Attributes {
                    recurse: d.recurse,
                    ..folder(d.folder)
                },
            ),
            Command::RenameFolder(r) => (
                Action::RenameFolder,
                Attributes {
                    newfolder: r.newfolder,
                    ..folder(r.folder)
                },
            ),
            Command::Open(o) => (
                Action::Open,
                Attributes {
                    connection: o.connection,
                    ..Attributes::default()
                },
            ),
            Command::Close => (Action::Close, Attributes::default()),
            Command::Run(_)
            | Command::Completions { .. }
            | Command::Man
            | Command::Precompile { .. } => return None,
        })
    }
}

/// What [`normalize`] knows of the command line: every flag and subcommand
/// name by its lower-case spelling.
struct Names {
    /// Long flag names (without `--`), lower case → as declared.
    flags: HashMap<String, String>,
    /// Global flags that take a value (so the word after them is not the
    /// action).
    global_values: Vec<String>,
    /// Subcommand names, lower case → as declared.
    commands: HashMap<String, String>,
}

impl Names {
    fn of(command: &clap::Command) -> Names {
        let mut names = Names {
            flags: HashMap::new(),
            global_values: Vec::new(),
            commands: HashMap::new(),
        };
        for arg in command.get_arguments() {
            if let Some(long) = arg.get_long() {
                if arg.is_global_set() && arg.get_action().takes_values() {
                    names.global_values.push(long.to_owned());
                }
                names.flags.insert(flag_key(long), long.to_owned());
            }
        }
        for sub in command.get_subcommands() {
            names.commands.insert(
                sub.get_name().to_ascii_lowercase(),
                sub.get_name().to_owned(),
            );
            for arg in sub.get_arguments() {
                if let Some(long) = arg.get_long() {
                    names.flags.insert(flag_key(long), long.to_owned());
                }
            }
        }
        names
    }
}

/// A flag's name as compared: lower case, without `-` or `_`, so that
/// `--startRow`, `--start-row` and `--password_stdin` find their flags.
fn flag_key(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The command line with action and flag names in the case clap knows them.
///
/// The first word naming a subcommand in any case is that subcommand (after
/// `help`, the next one too); a `--flag` or `--flag=value` whose name is a
/// flag's in any case becomes that flag. Values are never changed, and
/// nothing after `--` is.
pub fn normalize(argv: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let names = Names::of(&Cli::command());
    let mut out = Vec::new();
    let mut argv = argv.into_iter();
    if let Some(program) = argv.next() {
        out.push(program);
    }
    // 0: looking for the action; 1: after `help`, looking for its action; 2: found.
    let mut command_state = 0;
    let mut skip_value = false;
    let mut rest = false;
    for word in argv {
        let Some(text) = word.to_str().map(str::to_owned) else {
            out.push(word);
            continue;
        };
        if rest {
            out.push(word);
            continue;
        }
        if text == "--" {
            rest = true;
            out.push(word);
            continue;
        }
        if skip_value {
            skip_value = false;
            out.push(word);
            continue;
        }
        if let Some(flag) = text.strip_prefix("--") {
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (flag, None),
            };
            let canonical = names.flags.get(&flag_key(name)).cloned();
            let name = canonical.as_deref().unwrap_or(name);
            if command_state < 2 && value.is_none() && names.global_values.iter().any(|g| g == name)
            {
                skip_value = true;
            }
            out.push(OsString::from(match value {
                Some(v) => format!("--{name}={v}"),
                None => format!("--{name}"),
            }));
            continue;
        }
        if command_state == 0 && text.eq_ignore_ascii_case("help") {
            command_state = 1;
            out.push(OsString::from("help"));
            continue;
        }
        if command_state < 2 && !text.starts_with('-') {
            let known = names.commands.get(&text.to_ascii_lowercase());
            if command_state == 1 {
                // `help ACTION` is asked as `ACTION --help`, wherever the
                // global flags stand; for an unknown action, clap's error
                // then names the near ones.
                if let Some(at) = out.iter().rposition(|w| w == "help") {
                    out.remove(at);
                }
                out.push(known.map_or(word, OsString::from));
                out.push(OsString::from("--help"));
                command_state = 2;
                continue;
            }
            if let Some(canonical) = known {
                command_state = 2;
                out.push(OsString::from(canonical));
                continue;
            }
        }
        out.push(word);
    }
    out
}

/// The subcommands other than `action` that take the flag `--name`.
pub fn actions_taking(name: &str) -> Vec<String> {
    let key = flag_key(name);
    Cli::command()
        .get_subcommands()
        .filter(|sub| {
            sub.get_arguments()
                .any(|a| a.get_long().is_some_and(|l| flag_key(l) == key))
        })
        .map(|sub| sub.get_name().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Cli, clap::Error> {
        let argv = std::iter::once("cfimap")
            .chain(argv.iter().copied())
            .map(OsString::from);
        Cli::try_parse_from(normalize(argv))
    }

    fn attributes(argv: &[&str]) -> (Action, Attributes) {
        parse(argv)
            .expect("parses")
            .command
            .into_action()
            .expect("an action")
    }

    #[test]
    fn command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn actions_and_flags_in_any_case() {
        let (action, a) = attributes(&["GETALL", "--startRow", "3", "--MAXROWS=4"]);
        assert_eq!(action, Action::GetAll);
        assert_eq!(a.selection.startrow, Some(3));
        assert_eq!(a.selection.maxrows, Some(4));
        let (action, a) = attributes(&["movemail", "--NewFolder", "X", "--uid", "1"]);
        assert_eq!(action, Action::MoveMail);
        assert_eq!(a.newfolder.as_deref(), Some("X"));
        let (_, a) = attributes(&["open", "--Password_Stdin", "--SERVER", "h"]);
        assert_eq!(a.connection.password_stdin, Some(true));
        assert_eq!(a.connection.server.as_deref(), Some("h"));
    }

    #[test]
    fn values_are_never_changed() {
        // A flag-like word is a flag, not the value before it.
        assert!(parse(&["getAll", "--folder", "--MaxRows", "3"]).is_err());
        let (_, a) = attributes(&["createFolder", "--folder=GetAll/--UID"]);
        assert_eq!(a.folder.as_deref(), Some("GetAll/--UID"));
        // A global's value is never taken for the action.
        let cli = parse(&["--profile", "GetAll", "open"]).expect("parses");
        assert_eq!(cli.global.profile.as_deref(), Some("GetAll"));
        assert!(matches!(cli.command, Command::Open(_)));
    }

    #[test]
    fn help_names_an_action_in_any_case() {
        let e = parse(&["help", "getall"]).expect_err("help is an exit");
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
        let help = e.to_string();
        assert!(help.contains("--attachmentpath"), "{help}");
        assert!(!help.contains("--newfolder"), "{help}");
        // A global's value after `help` is no action.
        let e = parse(&["help", "--profile", "work", "getall"]).expect_err("help is an exit");
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(e.to_string().contains("--attachmentpath"), "{e}");
        // An action not known: the error names the near ones.
        let e = parse(&["help", "getHeader"]).expect_err("no such action");
        assert_eq!(e.kind(), clap::error::ErrorKind::InvalidSubcommand);
        assert!(e.to_string().contains("getHeaderOnly"), "{e}");
    }

    #[test]
    fn booleans_take_a_value_or_none() {
        for (argv, want) in [
            (&["listAllFolders", "--recurse"][..], Some(true)),
            (&["listAllFolders", "--recurse", "false"], Some(false)),
            (&["listAllFolders", "--recurse", "YES"], Some(true)),
            (&["listAllFolders", "--recurse=no"], Some(false)),
            (&["listAllFolders"], None),
        ] {
            assert_eq!(attributes(argv).1.recurse, want, "{argv:?}");
        }
        let (_, a) = attributes(&["delete", "--stoponerror", "false", "--all"]);
        assert_eq!(a.stoponerror, Some(false));
        assert_eq!(a.selection.all, Some(true));
        assert!(parse(&["listAllFolders", "--recurse", "maybe"]).is_err());
    }

    #[test]
    fn secure_synonyms() {
        assert_eq!(parse_secure("TLS"), Ok(Security::Tls));
        assert_eq!(parse_secure("ssl"), Ok(Security::Tls));
        assert_eq!(parse_secure("true"), Ok(Security::Tls));
        assert_eq!(parse_secure("StartTLS"), Ok(Security::Starttls));
        assert_eq!(parse_secure("none"), Ok(Security::None));
        assert!(parse_secure("maybe").is_err());
    }

    #[test]
    fn a_flag_of_another_action_is_refused() {
        let e = parse(&["getHeaderOnly", "--newfolder", "x"]).expect_err("not getHeaderOnly's");
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
        assert_eq!(actions_taking("newFolder"), ["moveMail", "renameFolder"]);
        assert!(parse(&["close", "--server", "h"]).is_err());
    }

    #[test]
    fn positive_numbers() {
        assert_eq!(parse_positive("3"), Ok(3));
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("-2").is_err());
        assert!(parse_positive("x").is_err());
    }
}
