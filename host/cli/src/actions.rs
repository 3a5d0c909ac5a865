//! Running one planned action on a session, for both the one-action command
//! line and `cfimap run`: the runtime for a connection, the start of a read,
//! the actions without rows, and the summaries they print.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cfimap_host::{
    AttachmentPolicy, ChangeReport, Error, Interruption, Policy, RowReader, Runtime,
    RuntimeOptions, Session,
};

use super::args::Action;
use super::exit::Exit;
use super::output::{Cell, Output, Record};
use super::plan::Plan;
use super::settings::Connection;

/// Rows taken from the component per call when streaming: few enough that a
/// batch of getAll rows (each with its bodies) stays small on both sides.
pub const BATCH: u32 = 64;

/// How the command line holds a computing component to its deadline: no
/// epoch checks in the compiled code, which spares about a tenth of the CPU
/// of a read, and a watchdog that ends the process when a call has not
/// returned to the executor a second after its deadline (it computes, or an
/// attachment file's operation stalls). Each command is a process of its
/// own, so ending it stops nothing else. Waits on the server end at the
/// deadline as before.
const INTERRUPTION: Interruption = Interruption::Watchdog(overrun);

/// The watchdog's verdict: a call into the component is past its deadline
/// and nothing in the process can stop it, so the process ends with the
/// status and words of a deadline. Rows the printer has not written yet
/// may be lost; the server sees the connection close.
fn overrun(deadline: Duration) {
    Exit::Network.report(
        &format!(
            "the action took longer than its deadline of {} s and was stopped (the component \
             did not return: it was computing or writing a file)",
            deadline.as_secs()
        ),
        &[],
    );
    std::process::exit(Exit::Network as i32);
}

/// The options every runtime of the command line starts from, and the ones
/// `cfimap precompile` compiles for: the compiled code depends on them.
pub fn base_options() -> RuntimeOptions {
    RuntimeOptions {
        interruption: INTERRUPTION,
        precompiled: precompiled_dirs(),
        ..RuntimeOptions::default()
    }
}

/// A runtime that may reach only `connection`'s server and port.
/// `single_session`: the process runs this one session alone, so attachment
/// files are written on its own thread, and the connection to the server is
/// begun while the component loads.
pub fn runtime(
    connection: &Connection,
    verbose: bool,
    single_session: bool,
) -> Result<Runtime, Error> {
    let target = &connection.options;
    let mut options = RuntimeOptions {
        policy: Policy::only(&target.server, target.effective_port()),
        ..base_options()
    };
    options.extra_ca = connection.cafile.clone();
    options.deadline = connection.deadline;
    options.guest_stderr = verbose;
    options.files_on_current_thread = single_session;
    if single_session {
        options.preconnect = Some((target.server.clone(), target.effective_port()));
    }
    Runtime::new(options)
}

/// Where `cfimap precompile` puts the compiled component, in the order it is
/// looked for: the directory of this binary (`target/release` after `make
/// build`), then `../lib/cfimap` beside it (`make install`). Empty when the
/// binary's path is unknown.
pub fn precompiled_dirs() -> Vec<PathBuf> {
    // On Linux `current_exe` resolves symbolic links: a linked binary finds
    // the files installed beside the real one.
    let Some(bin) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    else {
        return Vec::new();
    };
    let lib = bin.join("../lib/cfimap");
    vec![bin, lib]
}

/// The attachment policy for `plan`: only getAll writes files, and only into
/// the directory it was given.
pub fn attachments(plan: &Plan) -> AttachmentPolicy {
    match (plan.action, &plan.read.attachmentpath) {
        (Action::GetAll, Some(dir)) => AttachmentPolicy::within(dir),
        _ => AttachmentPolicy::deny_all(),
    }
}

/// The current-thread runtime one command runs on: one session at a time,
/// nothing else to stall.
pub fn async_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Starts the planned read.
pub async fn begin_read<'s>(session: &'s mut Session, plan: &Plan) -> Result<RowReader<'s>, Error> {
    let folder = plan.folder.as_deref();
    if plan.action == Action::GetAll {
        session
            .begin_get_all(folder, &plan.selection, &plan.read)
            .await
    } else {
        session
            .begin_get_header_only(folder, &plan.selection, &plan.read)
            .await
    }
}

/// Runs an action that has no rows (not open, close or the reads).
pub async fn change(session: &mut Session, plan: &Plan) -> Result<Output, Error> {
    let folder = plan.folder.as_deref();
    let newfolder = plan.newfolder.as_deref().unwrap_or_default();
    let required_folder = folder.unwrap_or_default();
    Ok(match plan.action {
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
        Action::MarkUnread => {
            let r = session
                .mark_unread(folder, &plan.selection, plan.stoponerror)
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
        Action::ListAllFolders => {
            super::output::folders(session.list_all_folders(folder, plan.recurse).await?)
        }
        Action::GetHeaderOnly => super::output::messages(
            session
                .get_header_only(folder, &plan.selection, &plan.read)
                .await?,
            false,
        ),
        Action::GetAll => super::output::messages(
            session.get_all(folder, &plan.selection, &plan.read).await?,
            true,
        ),
        Action::Open | Action::Close => summary(plan.action, vec![]),
    })
}

/// `{"action":…}` and `extra`.
pub fn summary(action: Action, mut extra: Vec<(&'static str, Cell)>) -> Output {
    let mut fields = vec![("action", Cell::Text(action.name().to_owned()))];
    fields.append(&mut extra);
    Output::Summary(Record(fields))
}

/// open's summary: where it connected.
pub fn open_summary(connection: &Connection) -> Output {
    let c = &connection.options;
    summary(
        Action::Open,
        vec![
            ("server", Cell::Text(c.server.clone())),
            ("port", Cell::Int(u64::from(c.effective_port()))),
            ("username", Cell::Text(c.username.clone())),
        ],
    )
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
    summary(plan.action, extra)
}

/// delete / markRead / markUnread / moveMail.
fn change_summary(plan: &Plan, report: ChangeReport) -> Output {
    let mut extra = vec![("folder", Cell::Text(report.folder))];
    if plan.action == Action::MoveMail {
        extra.push((
            "newfolder",
            plan.newfolder.clone().map_or(Cell::Null, Cell::Text),
        ));
    }
    extra.push(("affected", Cell::Int(u64::from(report.affected))));
    extra.push(("uids", Cell::Numbers(report.uids)));
    if plan.action == Action::MoveMail {
        extra.push((
            "newuids",
            Cell::Moved(
                report
                    .new_uids
                    .into_iter()
                    .map(|m| (m.uid, m.new_uid))
                    .collect(),
            ),
        ));
    }
    extra.push(("failures", Cell::List(report.failures)));
    summary(plan.action, extra)
}
