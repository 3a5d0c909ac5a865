//! The host side of the WIT interface `cfimap:imap/attachments`: where
//! `getAll` writes attachment files, under an [`AttachmentPolicy`].
//!
//! The component picks each file's name (sanitised, and unique within its
//! action); this module decides whether the directory is allowed, checks
//! the name again, and writes the file so that nothing else is touched:
//!
//! - the directory is opened once, as a handle (cap-std's `Dir`), below the
//!   allowed root it was checked against: every later step — creating
//!   missing directories, the file, the rename — resolves names beneath that
//!   handle, so no symbolic link, whenever it is swapped in, leads out;
//! - every file is first written to a temporary file of its own, created
//!   exclusively (`O_EXCL`) beside its name, so nothing half-written ever
//!   stands under the name;
//! - `finish` publishes it: it links it to the name, which fails when
//!   anything — file, directory or link — is there, with no gap between the
//!   check and the create. When the link fails, a sink that may not
//!   replace reports it (`exists` when the name is taken); one that may
//!   replace renames the file over the name instead, whether the name was
//!   taken or the file system has no hard links (a rename replaces a
//!   symbolic link there, never the file it points to);
//! - a file that replaces another is synced to disk before its rename, so a
//!   crash leaves the old file or the new one, never an empty one (the
//!   directory is not synced: after a crash the name may still hold the old
//!   file). A file under a name that was free is not synced, whether or not
//!   it was allowed to replace, which keeps a getAll of many attachments
//!   fast (one `fsync` each cost most of its time): a crash right after it
//!   can leave that file empty or short. The message is still on the
//!   server: a getAll that replaces writes it again; one that does not finds
//!   the name taken (`exists`, or a numbered name beside it) until the file
//!   is deleted;
//! - a file dropped before `finish` removes only its own temporary file.
//!
//! A name is one plain path component: no separator, no NUL, not `.` or
//! `..` (on Windows no `:` either).

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, File, OpenOptions};
use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::bindings::attachments as wit;

/// Which directories the component may write attachments into (the tag's
/// `attachmentpath`).
///
/// A directory is compared as an absolute path (relative paths are taken
/// from the process's working directory, `..` folded away). Below an
/// allowed root it is then opened through the root's handle, so a symbolic
/// link inside the root cannot lead out of it. The default allows none.
///
/// ```
/// use cfimap_host::AttachmentPolicy;
///
/// let policy = AttachmentPolicy::within("/srv/mail-files");
/// assert!(policy.allows_path("/srv/mail-files/2024/invoices".as_ref()));
/// assert!(!policy.allows_path("/srv/mail-files/../etc".as_ref()));
/// assert!(!AttachmentPolicy::default().allows_path("/tmp".as_ref()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentPolicy {
    rule: Rule,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Rule {
    #[default]
    Nothing,
    /// These directories and everything below them.
    Within(Vec<PathBuf>),
    Anywhere,
}

impl AttachmentPolicy {
    /// Allows no attachment directory: `getAll` with `attachmentpath` fails
    /// with [`Error::DeniedByPolicy`](crate::Error::DeniedByPolicy).
    pub fn deny_all() -> Self {
        Self::default()
    }

    /// Allows `root` and every directory below it.
    pub fn within(root: impl Into<PathBuf>) -> Self {
        Self::deny_all().and_within(root)
    }

    /// Adds `root` and every directory below it.
    #[must_use]
    pub fn and_within(self, root: impl Into<PathBuf>) -> Self {
        let root = normalized(&root.into());
        match self.rule {
            Rule::Anywhere => self,
            Rule::Nothing => Self {
                rule: Rule::Within(vec![root]),
            },
            Rule::Within(mut roots) => {
                roots.push(root);
                Self {
                    rule: Rule::Within(roots),
                }
            }
        }
    }

    /// Allows any directory the process can write to. Use it only when
    /// whoever picks `attachmentpath` is trusted as much as the process.
    pub fn anywhere() -> Self {
        Self {
            rule: Rule::Anywhere,
        }
    }

    /// Whether `dir` is allowed, judged on its path (absolute, `..` folded
    /// away). Opening it then goes through the root's handle, which no
    /// symbolic link leads out of.
    pub fn allows_path(&self, dir: &Path) -> bool {
        match &self.rule {
            Rule::Nothing => false,
            Rule::Anywhere => true,
            Rule::Within(roots) => {
                let dir = normalized(dir);
                roots.iter().any(|root| dir.starts_with(root))
            }
        }
    }

    /// The directory `directory` names, checked and opened (created if
    /// missing): below an allowed root, through the root's handle.
    fn open(&self, directory: &str) -> Result<Dir, wit::SinkError> {
        if directory.trim().is_empty() || directory.contains('\0') {
            return Err(wit::SinkError::Denied(format!(
                "{directory:?} is not a directory path"
            )));
        }
        let wanted = normalized(Path::new(directory));
        let denied = || {
            wit::SinkError::Denied(format!(
                "{} is not a directory this host lets the component write to",
                wanted.display()
            ))
        };
        let failed = |e: io::Error| match e.kind() {
            // cap-std's word for a path that led out of the handle's tree.
            io::ErrorKind::PermissionDenied => wit::SinkError::Denied(format!(
                "{}: {e} (outside the directories this host allows?)",
                wanted.display()
            )),
            _ => wit::SinkError::Io(format!("{}: {e}", wanted.display())),
        };
        match &self.rule {
            Rule::Nothing => Err(denied()),
            Rule::Anywhere => {
                std::fs::create_dir_all(&wanted).map_err(failed)?;
                Dir::open_ambient_dir(&wanted, ambient_authority()).map_err(failed)
            }
            Rule::Within(roots) => {
                let root = roots
                    .iter()
                    .find(|root| wanted.starts_with(root))
                    .ok_or_else(denied)?;
                // The root itself is the host's own choice: made as given.
                std::fs::create_dir_all(root).map_err(failed)?;
                let root_dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(failed)?;
                let below = wanted.strip_prefix(root).map_err(|_| denied())?;
                if below.as_os_str().is_empty() {
                    return Ok(root_dir);
                }
                root_dir.create_dir_all(below).map_err(failed)?;
                root_dir.open_dir(below).map_err(failed)
            }
        }
    }
}

/// `path` made absolute against the working directory, with `.` and `..`
/// folded away as text (without touching the file system: links are the
/// directory handles' business).
fn normalized(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// What every attachment file of one runtime shares.
#[derive(Debug)]
pub(crate) struct SinkCtx {
    pub(crate) policy: AttachmentPolicy,
    /// Write on the thread that runs the component instead of tokio's
    /// blocking pool ([`crate::RuntimeOptions::files_on_current_thread`]).
    pub(crate) on_current_thread: bool,
}

/// The view of the store the sink's host functions work on.
pub(crate) struct SinkView<'a> {
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) ctx: &'a SinkCtx,
}

/// Marks [`SinkView`] as the data the generated `add_to_linker` hands to the
/// sink's host functions.
pub(crate) struct HasSink;

impl HasData for HasSink {
    type Data<'a> = SinkView<'a>;
}

/// One attachment file being written: the host's representation of the WIT
/// resource `file`.
pub struct SinkFile {
    /// The directory, opened once.
    dir: Dir,
    /// The open temporary file; `None` once finished.
    file: Option<File>,
    /// The file's name in `dir`.
    name: String,
    /// The temporary file's name in `dir`, created by this sink.
    temporary: String,
    /// Replace what is at `name` (renaming over it when a link finds it
    /// taken), or fail if anything is there.
    replace: bool,
    /// The path reported to the caller: the directory as given, and `name`.
    shown: PathBuf,
    finished: bool,
}

impl SinkFile {
    fn io_error(&self, e: &io::Error) -> wit::SinkError {
        wit::SinkError::Io(format!("{}: {e}", self.shown.display()))
    }

    /// Publishes the written temporary file `file` under its name.
    ///
    /// Replacing, the file is first linked to the name as if it were not:
    /// when the name is free there is no old file to lose, and the file is
    /// not synced (a sync per file cost most of a getAll that saves 400
    /// attachments). When the name is taken (or the file system has no hard
    /// links), it is synced to disk and renamed over the name, so that a
    /// crash never leaves an empty file where the old one was.
    fn publish(&mut self, file: File) -> Result<(), wit::SinkError> {
        let linked = self.dir.hard_link(&self.temporary, &self.dir, &self.name);
        match linked {
            Ok(()) => {
                drop(file);
                // The name holds the file now; the temporary name goes.
                let _ = self.dir.remove_file(&self.temporary);
                Ok(())
            }
            Err(e) if !self.replace && e.kind() == io::ErrorKind::AlreadyExists => {
                Err(wit::SinkError::Exists)
            }
            Err(e) if !self.replace => Err(self.io_error(&e)),
            Err(_) => {
                file.sync_all().map_err(|e| self.io_error(&e))?;
                drop(file);
                self.dir
                    .rename(&self.temporary, &self.dir, &self.name)
                    .map_err(|e| self.io_error(&e))
            }
        }
    }
}

impl Drop for SinkFile {
    fn drop(&mut self) {
        if !self.finished {
            // Unfinished (or refused at `finish`): its temporary file goes.
            // The name itself was never touched.
            self.file = None;
            let _ = self.dir.remove_file(&self.temporary);
        }
    }
}

/// A name that is one plain path component.
fn check_name(name: &str) -> Result<(), wit::SinkError> {
    let bad = |why: &str| Err(wit::SinkError::InvalidName(format!("{name:?} {why}")));
    if name.contains(['/', '\\', '\0']) || (cfg!(windows) && name.contains(':')) {
        return bad("contains a path separator, a drive or stream separator, or NUL");
    }
    let mut components = Path::new(name).components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(one)), None) if one == name => {}
        _ => return bad("is not a file name"),
    }
    if name.len() > 255 {
        return bad("is longer than 255 bytes");
    }
    // What the compile cache and `precompile_into` name the compiled
    // component, which is loaded as native code: a message must never plant
    // one, even in a directory that holds it.
    if name.starts_with("cfimap-") && name.ends_with(".cwasm") {
        return bad("is the name cfimap gives its compiled code");
    }
    Ok(())
}

/// Numbers the temporary files of this process.
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

impl SinkView<'_> {
    fn start(
        &self,
        directory: &str,
        name: &str,
        replace: bool,
    ) -> Result<SinkFile, wit::SinkError> {
        check_name(name)?;
        let dir = self.ctx.policy.open(directory)?;
        let shown = Path::new(directory).join(name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        // A dot file beside the name: on the same file system, so the
        // rename or link at `finish` is atomic.
        loop {
            let n = TEMPORARY.fetch_add(1, Ordering::Relaxed);
            let temporary = format!(".{name}.{}-{n}.part", std::process::id());
            match dir.open_with(&temporary, &options) {
                Ok(file) => {
                    return Ok(SinkFile {
                        dir,
                        file: Some(file),
                        name: name.to_owned(),
                        temporary,
                        replace,
                        shown,
                        finished: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(wit::SinkError::Io(format!("{}: {e}", shown.display())));
                }
            }
        }
    }
}

impl wit::HostFile for SinkView<'_> {
    async fn write(
        &mut self,
        file: Resource<SinkFile>,
        bytes: Vec<u8>,
    ) -> wasmtime::Result<Result<(), wit::SinkError>> {
        let on_current_thread = self.ctx.on_current_thread;
        let sink = self.table.get_mut(&file)?;
        let Some(mut file) = sink.file.take() else {
            return Ok(Err(wit::SinkError::Io(format!(
                "{} is already finished",
                sink.shown.display()
            ))));
        };
        let (file, written) = if on_current_thread {
            let written = file.write_all(&bytes);
            (file, written)
        } else {
            tokio::task::spawn_blocking(move || {
                let written = file.write_all(&bytes);
                (file, written)
            })
            .await?
        };
        sink.file = Some(file);
        Ok(written.map_err(|e| sink.io_error(&e)))
    }

    async fn finish(
        &mut self,
        file: Resource<SinkFile>,
    ) -> wasmtime::Result<Result<String, wit::SinkError>> {
        let sink = self.table.get_mut(&file)?;
        let Some(file) = sink.file.take() else {
            return Ok(Err(wit::SinkError::Io(format!(
                "{} is already finished",
                sink.shown.display()
            ))));
        };
        if let Err(e) = sink.publish(file) {
            return Ok(Err(e));
        }
        sink.finished = true;
        Ok(Ok(sink.shown.to_string_lossy().into_owned()))
    }

    async fn drop(&mut self, file: Resource<SinkFile>) -> wasmtime::Result<()> {
        // `SinkFile::drop` removes an unfinished file.
        self.table.delete(file)?;
        Ok(())
    }
}

impl wit::Host for SinkView<'_> {
    async fn create(
        &mut self,
        directory: String,
        name: String,
        replace: bool,
    ) -> wasmtime::Result<Result<Resource<SinkFile>, wit::SinkError>> {
        match self.start(&directory, &name, replace) {
            Ok(file) => Ok(Ok(self.table.push(file)?)),
            Err(e) => {
                tracing::debug!(%directory, %name, error = ?e, "attachment refused");
                Ok(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_single_components() {
        assert!(check_name("a.pdf").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a\0b",
            "cfimap-0123456789abcdef.cwasm",
        ] {
            assert!(
                matches!(check_name(bad), Err(wit::SinkError::InvalidName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn policy_paths() {
        let p = AttachmentPolicy::within("/srv/files");
        assert!(p.allows_path(Path::new("/srv/files")));
        assert!(p.allows_path(Path::new("/srv/files/a/b")));
        assert!(!p.allows_path(Path::new("/srv/filesx")));
        assert!(!p.allows_path(Path::new("/srv/files/../x")));
        assert!(p.allows_path(Path::new("/srv/other/../files/a")));
        assert!(AttachmentPolicy::anywhere().allows_path(Path::new("/x")));
        assert!(!AttachmentPolicy::deny_all().allows_path(Path::new("/x")));
    }

    #[test]
    fn a_link_out_of_an_allowed_root_is_denied() {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let link = root.path().join("out");
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path(), &link).expect("symlink");
        let policy = AttachmentPolicy::within(root.path());
        let below = link.join("new");
        let below = below.to_string_lossy().into_owned();
        assert!(
            matches!(policy.open(&below), Err(wit::SinkError::Denied(_))),
            "{:?}",
            policy.open(&below).err()
        );
        assert!(
            !outside.path().join("new").exists(),
            "nothing was created outside the root"
        );
    }
}
