//! `cfimap run`: a script of actions over named connections, in one
//! process — the tag's `action="open" connection="c"`, then any actions on
//! `c`, then `close`.
//!
//! Each statement (see [`crate::script`]) is checked by the same parser as
//! a command line, then run: on its named connection, or, without one, on a
//! connection of its own as `cfimap ACTION` would. Every statement writes
//! one JSON object on its own line of stdout, flushed at once, so a program
//! can drive cfimap through a pipe:
//!
//! ```json
//! {"line":2,"action":"getHeaderOnly","connection":"c","name":"recent","rows":[…]}
//! {"line":3,"action":"markRead","connection":"c","name":null,"result":{…}}
//! {"line":4,"action":"moveMail","connection":"c","name":null,"error":{"status":5,"message":"…"}}
//! ```
//!
//! Rows are written as they arrive; a read that fails after some rows ends
//! its object with both `rows` and `error`. A failing statement stops the
//! script with its exit status, unless `--keep-going` (then the status is
//! the first failure's). Connections left open are closed at the end.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;

use cfimap_host::{Error, Runtime, Session};
use clap::Parser;
use serde::Serialize;

use super::actions;
use super::args::{self, Action, Attributes, Cli, ConnectionArgs, Global, RunArgs};
use super::exit::{self, Exit};
use super::output::{self, Output};
use super::plan::{self, Plan, UsageError};
use super::script::{Script, Statement};
use super::settings::{self, Connection, Settings, TerminalPrompt};

/// Runs `cfimap run` and returns its exit status.
pub fn main(args: RunArgs, global: &Global) -> ExitCode {
    // Its output is always NDJSON: another format, or columns, would be
    // ignored.
    for (given, flag) in [
        (
            global.format.is_some_and(|f| f != args::Format::Ndjson),
            "--format",
        ),
        (global.columns.is_some(), "--columns"),
    ] {
        if given {
            return Exit::Usage.report(
                &format!("{flag} does not apply to cfimap run, whose output is always NDJSON"),
                &[],
            );
        }
    }
    let mut settings = match Settings::load(global) {
        Ok(s) => s,
        Err(e) => return Exit::Usage.report(&e.0, &[]),
    };
    let from_stdin = args.file.as_ref().is_none_or(|f| f.as_os_str() == "-");
    let mut defaults = args.connection;
    if defaults.password_stdin.take() == Some(true) {
        if from_stdin {
            return Exit::Usage.report(
                "--password-stdin cannot be used when the script itself comes from stdin",
                &[],
            );
        }
        // Read once, for every open line of the script.
        match settings::password_from_stdin() {
            Ok(password) => defaults.password = Some(password),
            Err(e) => return Exit::Usage.report(&e.0, &[]),
        }
    }
    if from_stdin {
        settings.keep_commands_off_stdin();
    }
    let reader: Box<dyn BufRead> = if from_stdin {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let path = args.file.clone().unwrap_or_default();
        match std::fs::File::open(&path) {
            Ok(file) => Box::new(BufReader::new(file)),
            Err(e) => {
                return Exit::Usage.report(
                    &format!("cannot read the script {}: {e}", path.display()),
                    &[],
                );
            }
        }
    };
    let rt = match actions::async_runtime() {
        Ok(rt) => rt,
        Err(e) => return Exit::Internal.report(&e, &[]),
    };
    let verbose = global.verbose > 0 || std::env::var_os("RUST_LOG").is_some();
    let secrets = defaults.password.iter().cloned().collect();
    let mut runner = Runner {
        settings,
        defaults,
        verbose,
        quiet: global.quiet,
        open: HashMap::new(),
        order: Vec::new(),
        secrets,
        first_failure: None,
    };
    let written = rt.block_on(runner.run(Script::new(reader), args.keep_going));
    rt.block_on(runner.close_all());
    match (written, runner.first_failure) {
        (Err(e), _) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Exit::Internal.report(&format!("cannot write the output: {e}"), &[])
        }
        // The reader went away (`cfimap run … | head`): the status still
        // says whether what ran failed.
        (_, None) => ExitCode::SUCCESS,
        (_, Some(exit)) => ExitCode::from(exit as u8),
    }
}

/// A named connection.
struct Open {
    /// As the script first wrote it.
    name: String,
    /// The runtime only this connection's server may be reached from.
    _runtime: Runtime,
    session: Session,
}

/// The state of one script.
struct Runner {
    settings: Settings,
    /// `cfimap run`'s own connection flags.
    defaults: ConnectionArgs,
    verbose: bool,
    /// `--quiet`: no warnings.
    quiet: bool,
    /// Open connections by their names in lower case (CFML names are
    /// case-insensitive).
    open: HashMap<String, Open>,
    /// The keys of `open`, in the order they were opened.
    order: Vec<String>,
    /// Every secret used so far, kept out of every message.
    secrets: Vec<String>,
    /// The status of the first statement that failed.
    first_failure: Option<Exit>,
}

/// How one statement ended: its output, or its error and exit status.
type Outcome = Result<Output, (Exit, String)>;

impl Runner {
    /// Runs the statements, noting the first failure's status.
    async fn run(
        &mut self,
        script: Script<Box<dyn BufRead>>,
        keep_going: bool,
    ) -> std::io::Result<()> {
        let stdout = std::io::stdout();
        for statement in script {
            let mut out = Envelope::new(stdout.lock());
            let failed = match statement {
                Err(e) => {
                    out.failure(e.line, None, Exit::Usage, &e.message, &self.secrets)?;
                    Some(Exit::Usage)
                }
                Ok(statement) => self.statement(&statement, &mut out).await?,
            };
            if let Some(exit) = failed {
                self.first_failure.get_or_insert(exit);
                if !keep_going {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Runs one statement and writes its object; `Some`: it failed.
    async fn statement(
        &mut self,
        statement: &Statement,
        out: &mut Envelope<impl Write>,
    ) -> std::io::Result<Option<Exit>> {
        let line = statement.line;
        let header = Header::of(statement);
        let outcome = match parse(statement) {
            Err(e) => Err((Exit::Usage, e.0)),
            Ok((attributes, plan)) => self.perform(statement, attributes, &plan, out).await,
        };
        match outcome {
            Ok(Output::Written(written)) => written.map(|()| None),
            Ok(output) => {
                out.result(&header, &output)?;
                Ok(None)
            }
            Err((exit, message)) => {
                out.failure(line, Some(&header), exit, &message, &self.secrets)?;
                Ok(Some(exit))
            }
        }
    }

    /// Runs a parsed statement.
    async fn perform(
        &mut self,
        statement: &Statement,
        attributes: Attributes,
        plan: &Plan,
        out: &mut Envelope<impl Write>,
    ) -> Outcome {
        let usage = |message: String| Err((Exit::Usage, message));
        if attributes.connection.password_stdin.is_some() {
            // stdin is the script's, or was read once by `cfimap run` itself.
            return usage(
                "password-stdin cannot be a script line's attribute: give --password-stdin to \
                 cfimap run"
                    .into(),
            );
        }
        let Some(name) = &statement.connection else {
            return match plan.action {
                Action::Close => {
                    usage("close needs connection: the name of the connection to close".into())
                }
                _ => self.one_shot(statement, attributes, plan, out).await,
            };
        };
        let key = name.to_lowercase();
        match plan.action {
            Action::Open => {
                if let Some(open) = self.open.get(&key) {
                    return usage(format!(
                        "connection {:?} is open already; close it first",
                        open.name
                    ));
                }
                let connection = self.connect(plan.action, attributes.connection)?;
                let (runtime, session) = self.login(&connection).await?;
                self.open.insert(
                    key.clone(),
                    Open {
                        name: name.clone(),
                        _runtime: runtime,
                        session,
                    },
                );
                self.order.push(key);
                Ok(actions::open_summary(&connection))
            }
            _ => {
                let given = attributes.connection.given();
                if let Some(flag) = given.first() {
                    return usage(format!(
                        "{flag} does not apply to a line on connection {name:?}: connection \
                         settings go on its open line"
                    ));
                }
                let not_open = || {
                    usage(format!(
                        "connection {name:?} is not open (open it first with action=\"open\" \
                         connection=\"{name}\")"
                    ))
                };
                if plan.action == Action::Close {
                    let Some(open) = self.open.remove(&key) else {
                        return not_open();
                    };
                    self.order.retain(|k| *k != key);
                    open.session
                        .close()
                        .await
                        .map_err(|e| self.failure(&e, None))?;
                    return Ok(actions::summary(Action::Close, vec![]));
                }
                let Some(open) = self.open.get_mut(&key) else {
                    return not_open();
                };
                let result = act(&mut open.session, plan, &Header::of(statement), out).await;
                result.map_err(|e| self.failure(&e, None))
            }
        }
    }

    /// A statement without a connection: a connection of its own.
    async fn one_shot(
        &mut self,
        statement: &Statement,
        attributes: Attributes,
        plan: &Plan,
        out: &mut Envelope<impl Write>,
    ) -> Outcome {
        let connection = self.connect(plan.action, attributes.connection)?;
        let (_runtime, mut session) = self.login(&connection).await?;
        let result = match plan.action {
            Action::Open => Ok(actions::open_summary(&connection)),
            _ => act(&mut session, plan, &Header::of(statement), out).await,
        };
        // The action's outcome is what counts (its rows may be written
        // already); LOGOUT is a courtesy.
        if let Err(e) = session.close().await {
            tracing::debug!(error = %e, "logout after a statement");
        }
        result.map_err(|e| self.failure(&e, Some(&connection)))
    }

    /// The connection settings of an open line.
    fn connect(
        &mut self,
        action: Action,
        given: ConnectionArgs,
    ) -> Result<Connection, (Exit, String)> {
        let connection = self
            .settings
            .resolve(action, given, self.defaults.clone(), &TerminalPrompt)
            .map_err(|e| (Exit::Usage, e.0))?;
        connection.warn(self.quiet);
        self.secrets.push(connection.secret());
        Ok(connection)
    }

    /// A runtime for `connection` and a session logged in on it.
    async fn login(&self, connection: &Connection) -> Result<(Runtime, Session), (Exit, String)> {
        let runtime = actions::runtime(connection, self.verbose, false)
            .map_err(|e| self.failure(&e, Some(connection)))?;
        let session = runtime
            .open(&connection.options)
            .await
            .map_err(|e| self.failure(&e, Some(connection)))?;
        Ok((runtime, session))
    }

    /// An error's status and message (with a hint when the connection
    /// settings are known).
    fn failure(&self, e: &Error, connection: Option<&Connection>) -> (Exit, String) {
        let message = match connection {
            Some(c) => exit::with_hint(e, c),
            None => e.to_string(),
        };
        (Exit::of(e), message)
    }

    /// Logs out of every connection still open, in the order they were
    /// opened.
    async fn close_all(&mut self) {
        for key in std::mem::take(&mut self.order) {
            if let Some(open) = self.open.remove(&key)
                && let Err(e) = open.session.close().await
            {
                tracing::debug!(connection = %open.name, error = %e, "logout at the end of the script");
            }
        }
    }
}

/// A statement's attributes, parsed as the command line `cfimap ACTION
/// --name=value …` is, and its plan.
fn parse(statement: &Statement) -> Result<(Attributes, Plan), UsageError> {
    let argv = ["cfimap", statement.action.name()]
        .into_iter()
        .map(OsString::from)
        .chain(statement.words.iter().map(OsString::from));
    let cli = Cli::try_parse_from(args::normalize(argv))
        .map_err(|e| UsageError::new(exit::clap_message(&e, Some(statement.action.name()))))?;
    // Options of the whole run are not a line's to change.
    let g = &cli.global;
    for (set, name) in [
        (g.format.is_some(), "format"),
        (g.columns.is_some(), "columns"),
    ] {
        if set {
            return Err(UsageError::new(format!(
                "{name} is not an attribute of a script line: cfimap run writes NDJSON"
            )));
        }
    }
    for (set, name) in [
        (g.profile.is_some(), "profile"),
        (g.config.is_some(), "config"),
        (g.verbose > 0, "verbose"),
        (g.quiet, "quiet"),
    ] {
        if set {
            return Err(UsageError::new(format!(
                "{name} is an option of cfimap run, not an attribute of a script line"
            )));
        }
    }
    let Some((action, attributes)) = cli.command.into_action() else {
        return Err(UsageError::new("not an action"));
    };
    let plan = plan::plan(action, &attributes)?;
    Ok((attributes, plan))
}

/// Runs a planned action on an open session; reads stream their rows into
/// the statement's object.
async fn act(
    session: &mut Session,
    plan: &Plan,
    header: &Header<'_>,
    out: &mut Envelope<impl Write>,
) -> Result<Output, Error> {
    session.set_attachment_policy(actions::attachments(plan));
    match plan.action {
        Action::GetHeaderOnly | Action::GetAll => {
            let bodies = plan.action == Action::GetAll;
            let mut reader = actions::begin_read(session, plan).await?;
            if let Err(e) = out.begin_rows(header) {
                return Ok(Output::Written(Err(e)));
            }
            loop {
                // An error ends the object with the rows written so far
                // and the error (see `Envelope::failure`).
                let rows = reader.next(actions::BATCH).await?;
                if rows.is_empty() {
                    break;
                }
                if let Err(e) = out.rows(&output::messages(rows, bodies)) {
                    return Ok(Output::Written(Err(e)));
                }
            }
            Ok(Output::Written(out.end_rows()))
        }
        _ => actions::change(session, plan).await,
    }
}

/// What every object of a statement starts with.
#[derive(Serialize)]
struct Header<'a> {
    line: usize,
    action: &'static str,
    connection: Option<&'a str>,
    name: Option<&'a str>,
}

impl<'a> Header<'a> {
    fn of(statement: &'a Statement) -> Self {
        Header {
            line: statement.line,
            action: statement.action.name(),
            connection: statement.connection.as_deref(),
            name: statement.name.as_deref(),
        }
    }
}

/// One statement's object on stdout.
struct Envelope<W: Write> {
    out: W,
    /// Rows written so far, once the rows were begun.
    rows: Option<usize>,
}

impl<W: Write> Envelope<W> {
    fn new(out: W) -> Self {
        Self { out, rows: None }
    }

    /// The header's fields without the closing brace.
    fn open(&mut self, header: &Header<'_>) -> std::io::Result<()> {
        let text = serde_json::to_string(header).map_err(std::io::Error::other)?;
        self.out.write_all(text.trim_end_matches('}').as_bytes())
    }

    fn result(&mut self, header: &Header<'_>, output: &Output) -> std::io::Result<()> {
        self.open(header)?;
        match output {
            Output::Rows { rows, .. } => {
                self.out.write_all(b",\"rows\":")?;
                serde_json::to_writer(&mut self.out, rows)?;
            }
            Output::Summary(record) => {
                self.out.write_all(b",\"result\":")?;
                serde_json::to_writer(&mut self.out, record)?;
            }
            Output::Written(_) => self.out.write_all(b",\"result\":null")?,
        }
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }

    fn begin_rows(&mut self, header: &Header<'_>) -> std::io::Result<()> {
        self.open(header)?;
        self.out.write_all(b",\"rows\":[")?;
        self.rows = Some(0);
        Ok(())
    }

    fn rows(&mut self, batch: &Output) -> std::io::Result<()> {
        let Output::Rows { rows, .. } = batch else {
            return Ok(());
        };
        let written = self.rows.get_or_insert(0);
        for row in rows {
            if *written > 0 {
                self.out.write_all(b",")?;
            }
            serde_json::to_writer(&mut self.out, row)?;
            *written += 1;
        }
        Ok(())
    }

    fn end_rows(&mut self) -> std::io::Result<()> {
        self.out.write_all(b"]}\n")?;
        self.out.flush()
    }

    fn error(&mut self, exit: Exit, message: &str) -> std::io::Result<()> {
        #[derive(Serialize)]
        struct Failure<'a> {
            status: u8,
            message: &'a str,
        }
        self.out.write_all(b"\"error\":")?;
        serde_json::to_writer(
            &mut self.out,
            &Failure {
                status: exit as u8,
                message,
            },
        )?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }

    /// A failed statement's object — the rows a read wrote before it failed,
    /// then the error — and its message on stderr.
    fn failure(
        &mut self,
        line: usize,
        header: Option<&Header<'_>>,
        exit: Exit,
        message: &str,
        secrets: &[String],
    ) -> std::io::Result<()> {
        let message = exit::one_line(message, secrets);
        eprintln!("cfimap: line {line}: {message}");
        if self.rows.is_some() {
            self.out.write_all(b"],")?;
            return self.error(exit, &message);
        }
        match header {
            Some(header) => self.open(header)?,
            None => {
                let text = serde_json::to_string(&serde_json::json!({ "line": line }))
                    .map_err(std::io::Error::other)?;
                self.out.write_all(text.trim_end_matches('}').as_bytes())?;
            }
        }
        self.out.write_all(b",")?;
        self.error(exit, &message)
    }
}
