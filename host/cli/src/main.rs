//! `cfimap`: ColdFusion's `<cfimap>` tag on the command line.
//!
//! `cfimap <action> [attributes]` — see `cfimap --help`. The work is done by
//! the `cfimap-host` library; this binary parses the command line, runs one
//! action through the library, prints the results and exits with a status
//! that says what went wrong (see [`exit`]).
//!
//! Each run is its own connection: `open` connects, logs in and logs out
//! again (a credentials check); `close` has nothing to close and succeeds.

mod args;
mod exit;
mod filter;
mod output;
mod plan;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use cfimap_host::{AttachmentPolicy, Error, Policy, Runtime, RuntimeOptions, Session};
use clap::Parser;

use args::{Action, Args, Format};
use exit::Exit;
use output::{Cell, Output, Record, RowStream};
use plan::{Plan, TerminalPrompt};

/// Runs the command line of this process and returns its exit status.
fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => return exit::clap_error(e),
    };
    init_tracing(args.verbose);
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    let verbose = args.verbose > 0 || std::env::var_os("RUST_LOG").is_some();

    let plan = match plan::plan(args, &TerminalPrompt) {
        Ok(plan) => plan,
        Err(e) => return Exit::Usage.report(&e.0, &[]),
    };
    let secrets: Vec<String> =
        plan.connect
            .iter()
            .map(|c| match &c.credentials {
                cfimap_host::Credentials::Password(s)
                | cfimap_host::Credentials::BearerToken(s) => s.clone(),
            })
            .collect();

    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Exit::Internal.report(&format!("cannot start the async runtime: {e}"), &[]);
        }
    };
    let result = rt.block_on(execute(&plan, format, verbose));
    match result {
        Ok(output) => print(output, format),
        Err(e) => Exit::of(&e).report(&e.to_string(), &secrets),
    }
}

/// Runs the planned action.
async fn execute(plan: &Plan, format: Format, verbose: bool) -> Result<Output, Error> {
    let Some(connect) = &plan.connect else {
        // `close`: every run of the CLI is a connection of its own, so there
        // is no open connection to close.
        return Ok(summary(plan, vec![]));
    };
    let mut options = RuntimeOptions::new(Policy::only(&connect.server, connect.effective_port()));
    // Only getAll writes files, and only into the directory it was given.
    if let (Action::GetAll, Some(dir)) = (plan.action, &plan.read.attachmentpath) {
        options.attachments = AttachmentPolicy::within(dir);
    }
    options.extra_ca = plan.cafile.clone();
    options.deadline = plan.deadline;
    options.guest_stderr = verbose;
    // One session on a current-thread runtime: nothing else to stall.
    options.files_on_current_thread = true;
    let runtime = Runtime::new(options)?;
    let mut session = runtime.open(connect).await?;
    let result = act(&mut session, plan, format).await;
    match result {
        Ok(output) => {
            session.close().await?;
            Ok(output)
        }
        Err(e) => {
            // The action's error is what matters; LOGOUT is a courtesy.
            if let Err(close) = session.close().await {
                tracing::debug!(error = %close, "logout after a failed action");
            }
            Err(e)
        }
    }
}

async fn act(session: &mut Session, plan: &Plan, format: Format) -> Result<Output, Error> {
    let folder = plan.folder.as_deref();
    let newfolder = plan.newfolder.as_deref().unwrap_or_default();
    let required_folder = folder.unwrap_or_default();
    Ok(match plan.action {
        Action::Open | Action::Close => summary(plan, vec![]),
        // Machine formats stream; a table (and pretty JSON on a terminal)
        // needs the rows at once.
        Action::GetHeaderOnly | Action::GetAll
            if matches!(format, Format::Ndjson | Format::Csv)
                || (format == Format::Json && !std::io::stdout().is_terminal()) =>
        {
            stream_rows(session, plan, format).await?
        }
        Action::ListAllFolders => {
            output::folders(session.list_all_folders(folder, plan.recurse).await?)
        }
        Action::GetHeaderOnly => output::messages(
            session
                .get_header_only(folder, &plan.selection, &plan.read)
                .await?,
            false,
        ),
        Action::GetAll => output::messages(
            session.get_all(folder, &plan.selection, &plan.read).await?,
            true,
        ),
        Action::Delete => {
            let r = session
                .delete(folder, &plan.selection, plan.stoponerror)
                .await?;
            change_summary(plan, r)
        }
        Action::MarkRead => {
            let r = session
                .mark_read(folder, &plan.selection, plan.stoponerror)
                .await?;
            change_summary(plan, r)
        }
        Action::MoveMail => {
            let r = session
                .move_mail(folder, newfolder, &plan.selection, plan.stoponerror)
                .await?;
            change_summary(plan, r)
        }
        Action::CreateFolder => {
            let c = session.create_folder(required_folder).await?;
            folder_summary(plan, c.folders)
        }
        Action::DeleteFolder => {
            let c = session.delete_folder(required_folder, plan.recurse).await?;
            folder_summary(plan, c.folders)
        }
        Action::RenameFolder => {
            let c = session.rename_folder(required_folder, newfolder).await?;
            folder_summary(plan, c.folders)
        }
    })
}

/// Rows taken from the component per call when streaming: few enough that a
/// batch of getAll rows (each with its bodies) stays small on both sides.
const BATCH: u32 = 64;

/// A read whose rows are written as they arrive (NDJSON, CSV, compact
/// JSON), so memory stays at one batch whatever the folder's size. Rows come
/// in the server's order: ascending message numbers on every server we know,
/// a failed message's row at the end of its window. An error after some rows
/// were written leaves them written (a JSON array unclosed) and fails the
/// run as usual.
async fn stream_rows(session: &mut Session, plan: &Plan, format: Format) -> Result<Output, Error> {
    let folder = plan.folder.as_deref();
    let bodies = plan.action == Action::GetAll;
    let mut reader = if bodies {
        session
            .begin_get_all(folder, &plan.selection, &plan.read)
            .await?
    } else {
        session
            .begin_get_header_only(folder, &plan.selection, &plan.read)
            .await?
    };
    let columns = output::message_columns(bodies);
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::new(stdout.lock());
    let mut stream = RowStream::new(format, columns, out);
    loop {
        // On an error the rows written so far stay (flushed as the stream
        // is dropped), unfinished; the exit status tells.
        let rows = reader.next(BATCH).await?;
        if rows.is_empty() {
            break;
        }
        if let Err(e) = stream.write(&output::messages(rows, bodies)) {
            // Dropping the reader abandons the read before the LOGOUT.
            return Ok(Output::Written(Err(e)));
        }
    }
    Ok(Output::Written(stream.finish()))
}

/// `{"action":…}` plus, for open, where it connected.
fn summary(plan: &Plan, mut extra: Vec<(&'static str, Cell)>) -> Output {
    let mut fields = vec![("action", Cell::Text(plan.action.name().to_owned()))];
    if plan.action == Action::Open
        && let Some(c) = &plan.connect
    {
        fields.push(("server", Cell::Text(c.server.clone())));
        fields.push(("port", Cell::Int(u64::from(c.effective_port()))));
        fields.push(("username", Cell::Text(c.username.clone())));
    }
    fields.append(&mut extra);
    Output::Summary(Record(fields))
}

/// createFolder / deleteFolder / renameFolder.
fn folder_summary(plan: &Plan, folders: Vec<String>) -> Output {
    let mut extra = vec![("folder", plan.folder.clone().map_or(Cell::Null, Cell::Text))];
    if plan.action == Action::RenameFolder {
        extra.push((
            "newfolder",
            plan.newfolder.clone().map_or(Cell::Null, Cell::Text),
        ));
    }
    extra.push(("affected", Cell::Int(folders.len() as u64)));
    extra.push(("folders", Cell::List(folders)));
    summary(plan, extra)
}

/// delete / markRead / moveMail.
fn change_summary(plan: &Plan, report: cfimap_host::ChangeReport) -> Output {
    let mut extra = vec![("folder", Cell::Text(report.folder))];
    if plan.action == Action::MoveMail {
        extra.push((
            "newfolder",
            plan.newfolder.clone().map_or(Cell::Null, Cell::Text),
        ));
    }
    extra.push(("affected", Cell::Int(u64::from(report.affected))));
    extra.push(("uids", Cell::Numbers(report.uids)));
    extra.push(("failures", Cell::List(report.failures)));
    summary(plan, extra)
}

fn print(output: Output, format: Format) -> ExitCode {
    let written = match output {
        Output::Written(result) => result,
        output => {
            let stdout = std::io::stdout();
            let pretty = stdout.is_terminal();
            let mut out = std::io::BufWriter::new(stdout.lock());
            output::render(&output, format, pretty, &mut out).and_then(|()| out.flush())
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`cfimap … | head`): nothing more to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => Exit::Internal.report(&format!("cannot write the output: {e}"), &[]),
    }
}

/// Tracing to stderr, off unless `-v` or `RUST_LOG`. Only this crate and the
/// library log at info and debug; `-vvv` adds trace.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
        _ => {
            let level = match verbose {
                0 => return,
                1 => "info",
                2 => "debug",
                _ => "trace",
            };
            EnvFilter::new(format!("warn,cfimap={level},cfimap_host={level}"))
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
