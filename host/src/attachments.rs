//! The host side of the WIT interface `cfimap:imap/attachments`: where
//! `getAll` writes attachment files, under an [`AttachmentPolicy`].
//!
//! The component picks each file's name (sanitised, and unique within its
//! action); this module decides whether the directory is allowed, checks
//! the name again, and writes the file so that nothing else is touched:
//!
//! - a file that must not replace anything is created with `O_EXCL` (and
//!   `O_NOFOLLOW`): an existing file, directory or symbolic link of that
//!   name makes the create fail, so no check is separated from the create;
//! - a file that replaces (the tag's default) is written to a fresh
//!   temporary file beside it, created the same exclusive way, and renamed
//!   over the name at `finish`. A rename replaces a symbolic link itself,
//!   never the file it points to, and readers never see half a file;
//! - a file dropped before `finish` is removed.
//!
//! A name is a single path component: no separator, no NUL, not `.` or `..`,
//! so a file can only land in the directory the policy allowed.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::bindings::attachments as wit;

/// Which directories the component may write attachments into (the tag's
/// `attachmentpath`).
///
/// A directory is compared as an absolute path (relative paths are taken
/// from the process's working directory), after it is created if missing
/// and with symbolic links resolved, so a link inside an allowed directory
/// cannot lead out of it. The default allows none.
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
        let root = absolute(&root.into());
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

    /// Whether `dir` is allowed, judged on its path alone (no `..`, inside
    /// an allowed root). [`AttachmentPolicy`] checks the resolved path too
    /// before anything is written.
    pub fn allows_path(&self, dir: &Path) -> bool {
        match &self.rule {
            Rule::Nothing => false,
            Rule::Anywhere => true,
            Rule::Within(roots) => {
                let dir = absolute(dir);
                !dir.components().any(|c| c == Component::ParentDir)
                    && roots.iter().any(|root| dir.starts_with(root))
            }
        }
    }

    /// The checks of `create`: the path, then (once it exists) where it
    /// really is. Returns the directory to write into.
    fn admit(&self, directory: &str) -> Result<PathBuf, wit::SinkError> {
        let dir = Path::new(directory);
        if directory.trim().is_empty() || directory.contains('\0') {
            return Err(wit::SinkError::Denied(format!(
                "{directory:?} is not a directory path"
            )));
        }
        if !self.allows_path(dir) {
            return Err(wit::SinkError::Denied(format!(
                "{} is not a directory this host lets the component write to",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| wit::SinkError::Io(format!("cannot create {}: {e}", dir.display())))?;
        if let Rule::Within(roots) = &self.rule {
            let real = dir
                .canonicalize()
                .map_err(|e| wit::SinkError::Io(format!("{}: {e}", dir.display())))?;
            let inside = roots
                .iter()
                .any(|root| root.canonicalize().is_ok_and(|root| real.starts_with(root)));
            if !inside {
                return Err(wit::SinkError::Denied(format!(
                    "{} leads to {}, outside the directories this host allows",
                    dir.display(),
                    real.display()
                )));
            }
        }
        Ok(dir.to_path_buf())
    }
}

/// `path` made absolute against the working directory, without touching the
/// file system.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
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
    /// The open file: the final one, or the temporary one that replaces it.
    file: Option<File>,
    /// Where the file ends up.
    path: PathBuf,
    /// The temporary file renamed over `path` at `finish`, when replacing.
    temporary: Option<PathBuf>,
    finished: bool,
}

impl SinkFile {
    /// The file actually being written.
    fn written_path(&self) -> &Path {
        self.temporary.as_deref().unwrap_or(&self.path)
    }

    fn io_error(&self, e: &io::Error) -> wit::SinkError {
        wit::SinkError::Io(format!("{}: {e}", self.path.display()))
    }
}

impl Drop for SinkFile {
    fn drop(&mut self) {
        if !self.finished {
            // Unfinished: nothing of it stays (the file was created by this
            // sink, exclusively, so it is ours to remove).
            self.file = None;
            let _ = std::fs::remove_file(self.written_path());
        }
    }
}

/// Creates `path` exclusively, never through a symbolic link.
fn create_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// A name that is one plain path component.
fn check_name(name: &str) -> Result<(), wit::SinkError> {
    let bad = |why: &str| Err(wit::SinkError::InvalidName(format!("{name:?} {why}")));
    if name.is_empty() || name == "." || name == ".." {
        return bad("is not a file name");
    }
    if name.contains(['/', '\\', '\0']) {
        return bad("contains a path separator or NUL");
    }
    if name.len() > 255 {
        return bad("is longer than 255 bytes");
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
        let dir = self.ctx.policy.admit(directory)?;
        let path = dir.join(name);
        if !replace {
            return match create_new(&path) {
                Ok(file) => Ok(SinkFile {
                    file: Some(file),
                    path,
                    temporary: None,
                    finished: false,
                }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(wit::SinkError::Exists),
                Err(e) => Err(wit::SinkError::Io(format!("{}: {e}", path.display()))),
            };
        }
        // A dot file beside the target: on the same file system, so the
        // rename at `finish` is atomic.
        loop {
            let n = TEMPORARY.fetch_add(1, Ordering::Relaxed);
            let temporary = dir.join(format!(".{name}.{}-{n}.part", std::process::id()));
            match create_new(&temporary) {
                Ok(file) => {
                    return Ok(SinkFile {
                        file: Some(file),
                        path,
                        temporary: Some(temporary),
                        finished: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(wit::SinkError::Io(format!("{}: {e}", temporary.display())));
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
                sink.path.display()
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
        let Some(mut file) = sink.file.take() else {
            return Ok(Err(wit::SinkError::Io(format!(
                "{} is already finished",
                sink.path.display()
            ))));
        };
        if let Err(e) = file.flush() {
            return Ok(Err(sink.io_error(&e)));
        }
        drop(file);
        if let Some(temporary) = &sink.temporary
            && let Err(e) = std::fs::rename(temporary, &sink.path)
        {
            return Ok(Err(sink.io_error(&e)));
        }
        sink.finished = true;
        Ok(Ok(sink.path.to_string_lossy().into_owned()))
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
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0b"] {
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
        let link = link.to_string_lossy().into_owned();
        assert!(matches!(
            policy.admit(&link),
            Err(wit::SinkError::Denied(_))
        ));
    }
}
