//! `cfimap`: ColdFusion's `<cfimap>` tag on the command line.
//!
//! `cfimap <action> [attributes]` — see `cfimap --help`. The work is done by
//! the `cfimap-host` library; this binary parses the command line, runs one
//! action through the library, prints the results and exits with a status
//! that says what went wrong (see [`exit`]).
//!
//! Each run is its own connection: `open` connects, logs in and logs out
//! again (a credentials check); `close` has nothing to close and succeeds.
//! `cfimap run` keeps named connections open across the actions of a script
//! (see [`run`]).

mod actions;
mod args;
mod background;
mod exit;
mod filter;
mod output;
mod plan;
mod progress;
mod run;
mod script;
mod settings;
mod table;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use cfimap_host::{Error, RowReader, Session};
use clap::{CommandFactory, Parser};

use args::{Action, Attributes, Cli, Command, Format, Global};
use exit::Exit;
use output::{Output, RowStream};
use plan::Plan;
use progress::Progress;
use settings::{Connection, Settings, TerminalPrompt};

/// Runs the command line of this process and returns its exit status.
fn main() -> ExitCode {
    let argv = args::normalize(std::env::args_os());
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => return exit::clap_error(e, named_action(&argv)),
    };
    init_tracing(cli.global.verbose);
    match cli.command {
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics when a write fails,
            // and `cfimap completions zsh | head` closes the pipe early.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cfimap", &mut script);
            match std::io::stdout().write_all(&script) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => Exit::Internal.report(&format!("cannot write the script: {e}"), &[]),
            }
        }
        Command::Man => {
            let page = clap_mangen::Man::new(Cli::command());
            match page.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => Exit::Internal.report(&format!("cannot write the page: {e}"), &[]),
            }
        }
        Command::Precompile { dir } => precompile(dir),
        Command::Run(run) => run::main(run, &cli.global),
        command => match command.into_action() {
            Some((action, attributes)) => one_action(action, attributes, &cli.global),
            None => Exit::Internal.report("no action", &[]),
        },
    }
}

/// `cfimap precompile`: the component compiled into `dir`, by default where
/// [`actions::precompiled_dirs`] looks first.
fn precompile(dir: Option<std::path::PathBuf>) -> ExitCode {
    let Some(dir) = dir.or_else(|| actions::precompiled_dirs().into_iter().next()) else {
        return Exit::Usage.report(
            "cannot tell where the cfimap binary is; say where with --dir",
            &[],
        );
    };
    match cfimap_host::precompile_into(&dir, &actions::base_options()) {
        Ok(file) => {
            println!("{}", file.display());
            ExitCode::SUCCESS
        }
        Err(e) => Exit::Internal.report(&e.to_string(), &[]),
    }
}

/// The action a command line names (for its error messages).
fn named_action(argv: &[OsString]) -> Option<&'static str> {
    argv.iter()
        .filter_map(|w| w.to_str())
        .find_map(|w| Action::ALL.into_iter().find(|a| a.name() == w))
        .map(Action::name)
}

/// `cfimap ACTION …`: one action on a connection of its own.
fn one_action(action: Action, attributes: Attributes, global: &Global) -> ExitCode {
    let format = match (global.format, &global.columns) {
        (Some(format), _) => format,
        (None, Some(_)) => Format::Table,
        (None, None) if std::io::stdout().is_terminal() => Format::Table,
        (None, None) => Format::Json,
    };
    let columns = match &global.columns {
        None => None,
        Some(_) if format != Format::Table => {
            return Exit::Usage.report("--columns applies to --format table only", &[]);
        }
        Some(list) => {
            let known = match action {
                Action::GetHeaderOnly => output::HEADER_COLUMNS,
                Action::GetAll => output::MESSAGE_COLUMNS,
                Action::ListAllFolders => output::FOLDER_COLUMNS,
                _ => {
                    return Exit::Usage.report(
                        &format!("--columns applies to actions with rows, not to {action}"),
                        &[],
                    );
                }
            };
            match output::pick_columns(known, list) {
                Ok(picked) => Some(picked),
                Err(e) => return Exit::Usage.report(&e, &[]),
            }
        }
    };
    let verbose = global.verbose > 0 || std::env::var_os("RUST_LOG").is_some();
    let plan = match plan::plan(action, &attributes) {
        Ok(plan) => plan,
        Err(e) => return Exit::Usage.report(&e.0, &[]),
    };
    if action == Action::Close {
        // Every run of the CLI is a connection of its own: nothing to close.
        return print(actions::summary(action, vec![]), format);
    }
    let connection = match Settings::load(global).and_then(|s| {
        s.resolve(
            action,
            attributes.connection,
            Default::default(),
            &TerminalPrompt,
        )
    }) {
        Ok(c) => c,
        Err(e) => return Exit::Usage.report(&e.0, &[]),
    };
    connection.warn(global.quiet);
    let secrets = [connection.secret()];

    let rt = match actions::async_runtime() {
        Ok(rt) => rt,
        Err(e) => return Exit::Internal.report(&e, &[]),
    };
    let what = match &plan.folder {
        Some(folder) => format!("{action} {folder}"),
        None => action.to_string(),
    };
    let reads = matches!(action, Action::GetHeaderOnly | Action::GetAll);
    // Log lines and a spinner on the same stderr would garble each other.
    let progress = Progress::start(what, reads, global.quiet || verbose);
    let shape = Shape {
        format,
        columns: columns.as_deref(),
    };
    let result = rt.block_on(execute(&plan, &connection, shape, verbose, &progress));
    drop(progress);
    match result {
        Ok(mut output) => {
            if let Some(columns) = &columns {
                output.show_columns(columns);
            }
            print(output, format)
        }
        Err(e) => Exit::of(&e).report(&exit::with_hint(&e, &connection), &secrets),
    }
}

/// How the output is written: its format, and the columns `--columns`
/// chose for a table.
#[derive(Clone, Copy)]
struct Shape<'a> {
    format: Format,
    columns: Option<&'a [&'static str]>,
}

/// Opens the session, runs the planned action, closes the session.
async fn execute(
    plan: &Plan,
    connection: &Connection,
    shape: Shape<'_>,
    verbose: bool,
    progress: &Progress,
) -> Result<Output, Error> {
    let runtime = actions::runtime(connection, verbose, true)?;
    let mut session = runtime.open(&connection.options).await?;
    session.set_attachment_policy(actions::attachments(plan));
    let result = act(&mut session, plan, connection, shape, progress).await;
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

async fn act(
    session: &mut Session,
    plan: &Plan,
    connection: &Connection,
    shape: Shape<'_>,
    progress: &Progress,
) -> Result<Output, Error> {
    let format = shape.format;
    match plan.action {
        Action::Open => Ok(actions::open_summary(connection)),
        Action::GetHeaderOnly | Action::GetAll if format == Format::Table => {
            table_rows(session, plan, shape.columns, progress).await
        }
        // Machine formats stream; pretty JSON on a terminal needs the rows
        // at once.
        Action::GetHeaderOnly | Action::GetAll
            if matches!(format, Format::Ndjson | Format::Csv)
                || (format == Format::Json && !std::io::stdout().is_terminal()) =>
        {
            stream_rows(session, plan, format, progress).await
        }
        Action::GetHeaderOnly | Action::GetAll => {
            let bodies = plan.action == Action::GetAll;
            let mut reader = actions::begin_read(session, plan).await?;
            let mut all = Vec::new();
            loop {
                let rows = reader.next(actions::BATCH).await?;
                if rows.is_empty() {
                    break;
                }
                progress.rows(rows.len());
                all.extend(rows);
            }
            Ok(output::messages(all, bodies))
        }
        _ => actions::change(session, plan).await,
    }
}

/// A read shown as a table written as its rows arrive (see
/// [`table::Table`]), or, for getAll of one message without `--columns`,
/// as a letter: the first row is held until a second one shows which.
async fn table_rows(
    session: &mut Session,
    plan: &Plan,
    columns: Option<&[&'static str]>,
    progress: &Progress,
) -> Result<Output, Error> {
    let bodies = plan.action == Action::GetAll;
    let mut reader = actions::begin_read(session, plan).await?;
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::new(stdout.lock());
    let given = columns.is_some();
    let columns = columns.map_or_else(|| output::message_table_columns(bodies), <[_]>::to_vec);
    let mut table = table::Table::new(out, columns, table::terminal_width(), table::SAMPLE);
    let mut letter = bodies && !given;
    let mut first: Option<output::Record> = None;
    loop {
        let rows = match reader.next(actions::BATCH).await {
            Ok(rows) => rows,
            Err(e) => {
                // The rows read before the failure are shown, as the
                // machine formats keep theirs; the error follows on stderr.
                // (None read: nothing printed, not even the heading.)
                let held: Vec<_> = first.take().into_iter().collect();
                let _ = table.push(&held);
                if table.has_rows() {
                    let _ = progress.suspend(|| table.finish());
                }
                return Err(e);
            }
        };
        if rows.is_empty() {
            break;
        }
        progress.rows(rows.len());
        let Output::Rows { rows, .. } = output::messages(rows, bodies) else {
            continue;
        };
        let mut rows = rows.into_iter();
        if letter && first.is_none() {
            first = rows.next();
        }
        let rest: Vec<output::Record> = rows.collect();
        if rest.is_empty() {
            continue;
        }
        // A second row: a table after all.
        letter = false;
        let held: Vec<_> = first.take().into_iter().collect();
        let written = progress.suspend(|| {
            table.push(&held)?;
            table.push(&rest)?;
            table.flush()
        });
        if let Err(e) = written {
            return Ok(Output::Written(Err(e)));
        }
    }
    let written = progress.suspend(|| match first {
        Some(row) => {
            let mut out = table.into_writer();
            table::letter(&mut out, &row).and_then(|()| out.flush())
        }
        None => table.finish(),
    });
    Ok(Output::Written(written))
}

/// A read whose rows are written as they arrive (NDJSON, CSV, compact
/// JSON), so memory stays at a few batches whatever the folder's size (see
/// [`background`] for the thread that prints them when stdout is not a
/// terminal; its sends and joins block this thread as the writes did). Rows come
/// in the server's order: ascending message numbers on every server we know,
/// a failed message's row at the end of its window. An error after some rows
/// were written leaves them written (a JSON array unclosed) and fails the
/// run as usual. JSON and NDJSON print the component's own JSON lines
/// ([`output::Batch::Lines`]).
async fn stream_rows(
    session: &mut Session,
    plan: &Plan,
    format: Format,
    progress: &Progress,
) -> Result<Output, Error> {
    let bodies = plan.action == Action::GetAll;
    let lines = output::Batch::prints_lines(format);
    let mut reader = actions::begin_read(session, plan).await?;
    // Not on a terminal, rows are printed by a thread of their own; if it
    // cannot be started, in turn as on a terminal.
    let printer = background::wanted()
        .then(|| background::Printer::start(format, bodies).ok())
        .flatten();
    if let Some(mut printer) = printer {
        // On an error the printer is dropped: the rows handed over so far
        // are written, the stream left unfinished.
        while let Some(batch) = next_batch(&mut reader, lines, progress).await? {
            if !printer.print(batch) {
                // Dropping the reader abandons the read before the LOGOUT.
                return Ok(Output::Written(printer.finish(false)));
            }
        }
        return Ok(Output::Written(printer.finish(true)));
    }
    let columns = output::message_columns(bodies);
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::new(stdout.lock());
    let mut stream = RowStream::new(format, columns, out);
    // On an error the rows written so far stay (flushed as the stream is
    // dropped), unfinished; the exit status tells.
    while let Some(batch) = next_batch(&mut reader, lines, progress).await? {
        let written = progress.suspend(|| {
            stream
                .write_batch(batch, bodies)
                .and_then(|()| stream.flush())
        });
        if let Err(e) = written {
            // Dropping the reader abandons the read before the LOGOUT.
            return Ok(Output::Written(Err(e)));
        }
    }
    Ok(Output::Written(progress.suspend(|| stream.finish())))
}

/// The next batch of a streamed read, counted in `progress`; `None` once
/// all rows were taken. As JSON lines when `lines`, else as rows.
async fn next_batch(
    reader: &mut RowReader<'_>,
    lines: bool,
    progress: &Progress,
) -> Result<Option<output::Batch>, Error> {
    if lines {
        let batch = reader.next_ndjson(actions::BATCH).await?;
        progress.lines(&batch);
        Ok((!batch.is_empty()).then_some(output::Batch::Lines(batch)))
    } else {
        let rows = reader.next(actions::BATCH).await?;
        progress.rows(rows.len());
        Ok((!rows.is_empty()).then_some(output::Batch::Rows(rows)))
    }
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
