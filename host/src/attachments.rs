//! The host side of the WIT interface `cfimap:imap/attachments`: where
//! `getAll` writes attachment files, under an [`AttachmentPolicy`].
//!
//! The component picks each file's name (sanitised, and unique within its
//! action); this module decides whether the directory is allowed, checks
//! the name again, and writes the file so that nothing else is touched:
//!
//! - the directory is opened as a handle (cap-std's `Dir`), below the
//!   allowed root it was checked against: every later step — creating
//!   missing directories, the file, the rename — resolves names beneath that
//!   handle, so no symbolic link, whenever it is swapped in, leads out. The
//!   session's next file uses the same handle while the path, looked up
//!   beneath the root again, still leads to it (`LastDir`);
//! - every file is first written where no name leads to it, so nothing
//!   half-written ever stands under the name: on Linux a file without any
//!   name (`O_TMPFILE`) in the directory, elsewhere (and on file systems
//!   without unnamed files) a temporary file of its own, created
//!   exclusively (`O_EXCL`) beside its name;
//! - `finish` publishes it: it links it to the name, which fails when
//!   anything — file, directory or link — is there, with no gap between the
//!   check and the create. When the link fails, a sink that may not
//!   replace reports it (`exists` when the name is taken); one that may
//!   replace renames the file over the name instead (an unnamed file gets a
//!   temporary name first), whether the name was taken or the file system
//!   has no hard links (a rename replaces a symbolic link there, never the
//!   file it points to). An unnamed file leaves nothing to remove after its
//!   link, and nothing behind when the process dies (removing the
//!   temporary names alone took about 4.5 ms of the 30 ms of CPU that
//!   saving 400 attachments cost);
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
//! - a file dropped before `finish` removes only its own temporary file
//!   (an unnamed one simply goes when it is closed);
//! - a file may be renamed before `finish` (the name checked as at
//!   `create`), and a `finish` refused because the name was taken leaves it
//!   as it was, to be renamed and finished again: the component starts a
//!   large attachment's file as the message arrives, before it knows the
//!   name, and reads back what it wrote (`read`) on the rare occasion that
//!   the part was no attachment after all.
//!
//! A name is one plain path component: no separator, no NUL, not `.` or
//! `..` (on Windows no `:` either).

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
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
    /// missing): below an allowed root, through the root's handle; with how
    /// to look its path up again as this lookup did.
    fn open(&self, directory: &str) -> Result<Opened, wit::SinkError> {
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
                let dir = Dir::open_ambient_dir(&wanted, ambient_authority()).map_err(failed)?;
                Ok(Opened {
                    dir,
                    lookup: Lookup::Ambient(wanted.clone()),
                })
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
                    return Ok(Opened {
                        dir: root_dir,
                        lookup: Lookup::Ambient(root.clone()),
                    });
                }
                root_dir.create_dir_all(below).map_err(failed)?;
                let dir = root_dir.open_dir(below).map_err(failed)?;
                let root_id = root_dir.dir_metadata().ok().and_then(|m| identity(&m));
                Ok(Opened {
                    dir,
                    lookup: match root_id {
                        Some(root_id) => Lookup::Below {
                            root: root.clone(),
                            root_id,
                            root_dir,
                            below: below.to_path_buf(),
                        },
                        None => Lookup::Never,
                    },
                })
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

/// A directory the policy opened, and how to look its path up again.
#[derive(Debug)]
struct Opened {
    dir: Dir,
    lookup: Lookup,
}

/// How the path of an opened directory is looked up again: as the policy
/// looked it up, so that what it leads to now is what opening it again
/// would open.
#[derive(Debug)]
enum Lookup {
    /// From the process, following links: under `anywhere`, or an allowed
    /// root itself (the host's own choice, opened as given).
    Ambient(PathBuf),
    /// Beneath an allowed root's handle, where no link leads out, once the
    /// root's own path still leads to that root.
    Below {
        root: PathBuf,
        root_id: (u64, u64),
        root_dir: Dir,
        below: PathBuf,
    },
    /// Not at all (the file system cannot tell files apart).
    Never,
}

impl Lookup {
    /// Device and inode number of what the path leads to now; `None` when
    /// it leads nowhere, out of its root, or cannot be told.
    fn current(&self) -> Option<(u64, u64)> {
        match self {
            Lookup::Ambient(path) => identity_std(&std::fs::metadata(path).ok()?),
            Lookup::Below {
                root,
                root_id,
                root_dir,
                below,
            } => {
                if identity_std(&std::fs::metadata(root).ok()?)? != *root_id {
                    return None;
                }
                identity(&root_dir.metadata(below).ok()?)
            }
            Lookup::Never => None,
        }
    }
}

/// The directory the last attachment file of a session went into, kept
/// open for the next: a getAll writes all its attachments into one
/// directory, and opening it for each file (making sure of the root,
/// opening it and the directory below it, closing them) took about 2% of a
/// getAll that saves 400. It is used again only while its path, looked up
/// as the policy looked it up, still leads to it: a directory renamed,
/// removed or replaced (by a link, say) meanwhile is opened again, under
/// the policy, as the first time. Each session has its own, closed with
/// the session.
#[derive(Debug, Default)]
pub(crate) struct LastDir(Option<OpenDir>);

/// An open attachment directory, for [`LastDir`].
#[derive(Debug)]
struct OpenDir {
    /// The path as the policy checked it (absolute, `..` folded).
    path: PathBuf,
    dir: Arc<Dir>,
    /// Device and inode number of `dir`.
    id: (u64, u64),
    lookup: Lookup,
}

#[cfg(unix)]
fn identity(meta: &cap_std::fs::Metadata) -> Option<(u64, u64)> {
    use cap_std::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(unix)]
fn identity_std(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_: &cap_std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(not(unix))]
fn identity_std(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// The view of the store the sink's host functions work on.
pub(crate) struct SinkView<'a> {
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) ctx: &'a SinkCtx,
    pub(crate) last: &'a mut LastDir,
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
    /// The directory, opened once (and shared with the session's files
    /// after it, [`LastDir`]).
    dir: Arc<Dir>,
    /// The open file being written; `None` once finished.
    file: Option<File>,
    /// The file's name in `dir`.
    name: String,
    /// Where `file` is until `finish` names it.
    staging: Staging,
    /// Replace what is at `name` (renaming over it when a link finds it
    /// taken), or fail if anything is there.
    replace: bool,
    /// The path reported to the caller: the directory as given, and `name`.
    shown: PathBuf,
    finished: bool,
}

/// Where a file is written before `finish` gives it its name.
#[derive(Debug)]
enum Staging {
    /// A file with no name (Linux's `O_TMPFILE`), in the directory.
    Unnamed,
    /// A temporary file of this sink's, this name in the directory.
    Named(String),
}

impl SinkFile {
    fn io_error(&self, e: &io::Error) -> wit::SinkError {
        wit::SinkError::Io(format!("{}: {e}", self.shown.display()))
    }

    /// Publishes the written file `file` under its name. A name taken
    /// without `replace` hands the file back ([`Refused`]).
    fn publish(&mut self, file: File) -> Result<(), Refused> {
        match &self.staging {
            Staging::Unnamed => self.publish_unnamed(file),
            Staging::Named(temporary) => {
                let temporary = temporary.clone();
                self.publish_named(file, &temporary)
            }
        }
    }

    /// Links the unnamed `file` to its name. To replace what is there, it
    /// gets a temporary name first, published as a named file's is.
    fn publish_unnamed(&mut self, file: File) -> Result<(), Refused> {
        match unnamed::link(&file, &self.dir, &self.name) {
            Ok(()) => Ok(()),
            Err(e) if !self.replace && e.kind() == io::ErrorKind::AlreadyExists => {
                Err(Refused(wit::SinkError::Exists, Some(file)))
            }
            Err(e) if !self.replace => Err(Refused(self.io_error(&e), None)),
            Err(_) => loop {
                let temporary = temporary_name(&self.name);
                match unnamed::link(&file, &self.dir, &temporary) {
                    Ok(()) => {
                        // Removed by `drop` if the rename fails.
                        self.staging = Staging::Named(temporary.clone());
                        return self.publish_named(file, &temporary);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(Refused(self.io_error(&e), None)),
                }
            },
        }
    }

    /// Publishes `file`, written as `temporary`, under its name.
    ///
    /// Replacing, the file is first linked to the name as if it were not:
    /// when the name is free there is no old file to lose, and the file is
    /// not synced (a sync per file cost most of a getAll that saves 400
    /// attachments). When the name is taken (or the file system has no hard
    /// links), it is synced to disk and renamed over the name, so that a
    /// crash never leaves an empty file where the old one was.
    fn publish_named(&self, file: File, temporary: &str) -> Result<(), Refused> {
        let linked = self.dir.hard_link(temporary, &self.dir, &self.name);
        let failed = |e: &io::Error| Refused(self.io_error(e), None);
        match linked {
            Ok(()) => {
                drop(file);
                // The name holds the file now; the temporary name goes.
                let _ = self.dir.remove_file(temporary);
                Ok(())
            }
            Err(e) if !self.replace && e.kind() == io::ErrorKind::AlreadyExists => {
                Err(Refused(wit::SinkError::Exists, Some(file)))
            }
            Err(e) if !self.replace => Err(failed(&e)),
            Err(_) => {
                file.sync_all().map_err(|e| failed(&e))?;
                drop(file);
                self.dir
                    .rename(temporary, &self.dir, &self.name)
                    .map_err(|e| failed(&e))
            }
        }
    }
}

/// Why a file was not published, and the file when it may be published
/// under another name (the name was taken, without `replace`).
struct Refused(wit::SinkError, Option<File>);

impl Drop for SinkFile {
    fn drop(&mut self) {
        if !self.finished {
            // Unfinished (or refused at `finish`): its temporary file goes
            // (an unnamed one as it is closed). The name itself was never
            // touched.
            self.file = None;
            if let Staging::Named(temporary) = &self.staging {
                let _ = self.dir.remove_file(temporary);
            }
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

/// A temporary name for the file `name`: a dot file beside it, on the same
/// file system, so that the rename or link at `finish` is atomic. Unique in
/// this process; another process's may collide, and is then skipped.
fn temporary_name(name: &str) -> String {
    let n = TEMPORARY.fetch_add(1, Ordering::Relaxed);
    format!(".{name}.{}-{n}.part", std::process::id())
}

/// Files without a name, linked to their name once written (Linux).
#[cfg(target_os = "linux")]
mod unnamed {
    use std::io;
    use std::sync::OnceLock;

    use cap_std::fs::{Dir, File};
    use rustix::fs::{AtFlags, CWD, Mode, OFlags};
    use rustix::io::Errno;

    /// A new file without a name in `dir`, open for writing; `None` when
    /// the file system has no such files, or there is no `/proc` to say the
    /// umask (nor to link through where the kernel refuses to link by
    /// descriptor), and a named temporary file must do.
    pub(super) fn create(dir: &Dir) -> Option<File> {
        let flags = OFlags::RDWR | OFlags::TMPFILE | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(0o666 & !umask()?);
        let fd = rustix::fs::openat(dir, ".", flags, mode).ok()?;
        Some(File::from_std(std::fs::File::from(fd)))
    }

    /// The process's umask, from /proc (Linux 4.7 and later). Linux before
    /// 6.0 did not apply it to unnamed files on file systems without POSIX
    /// ACLs, so the mode asked for has it applied already: the file gets
    /// the mode a named one would (0666 less the umask), not 0666. (Asking
    /// the kernel with `umask(2)` would change it for a moment, for every
    /// thread.)
    pub(super) fn umask() -> Option<u32> {
        static UMASK: OnceLock<Option<u32>> = OnceLock::new();
        *UMASK.get_or_init(|| {
            let status = std::fs::read_to_string("/proc/self/status").ok()?;
            let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
            u32::from_str_radix(line.trim(), 8).ok()
        })
    }

    /// Links the unnamed `file` to `name` in `dir`: fails with
    /// `AlreadyExists` when anything is there (a symbolic link is not
    /// followed). `name` is one plain component, so it stays in `dir`.
    pub(super) fn link(file: &File, dir: &Dir, name: &str) -> io::Result<()> {
        use std::sync::atomic::{AtomicBool, Ordering};
        // By the descriptor alone where the kernel allows it (since Linux
        // 6.10 for a file the caller opened; to root before): the /proc
        // path costs a lookup of its own. Once refused, /proc it is for the
        // rest of the process.
        static BY_DESCRIPTOR: AtomicBool = AtomicBool::new(true);
        if !BY_DESCRIPTOR.load(Ordering::Relaxed) {
            return link_through_proc(file, dir, name).map_err(io::Error::from);
        }
        match link_by_descriptor(file, dir, name) {
            Err(e) if e == Errno::NOENT || e == Errno::PERM => {
                // Refused, or the directory is gone: only a link through
                // /proc that works says it was the former.
                let linked = link_through_proc(file, dir, name);
                if linked.is_ok() {
                    BY_DESCRIPTOR.store(false, Ordering::Relaxed);
                }
                linked.map_err(io::Error::from)
            }
            linked => linked.map_err(io::Error::from),
        }
    }

    /// `linkat` of the open file itself (`AT_EMPTY_PATH`).
    pub(super) fn link_by_descriptor(file: &File, dir: &Dir, name: &str) -> Result<(), Errno> {
        rustix::fs::linkat(file, "", dir, name, AtFlags::EMPTY_PATH)
    }

    /// `linkat` of the open file by its entry in /proc, which any process
    /// may use.
    pub(super) fn link_through_proc(file: &File, dir: &Dir, name: &str) -> Result<(), Errno> {
        use std::os::fd::AsRawFd;
        let open = format!("/proc/self/fd/{}", file.as_raw_fd());
        rustix::fs::linkat(CWD, open.as_str(), dir, name, AtFlags::SYMLINK_FOLLOW)
    }
}

/// Elsewhere every file is written under a temporary name.
#[cfg(not(target_os = "linux"))]
mod unnamed {
    use std::io;

    use cap_std::fs::{Dir, File};

    /// No unnamed files here: always a named temporary file.
    pub(super) fn create(_: &Dir) -> Option<File> {
        None
    }

    /// Never called: there are no unnamed files to link.
    pub(super) fn link(_: &File, _: &Dir, _: &str) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

impl SinkView<'_> {
    fn start(
        &mut self,
        directory: &str,
        name: &str,
        replace: bool,
    ) -> Result<SinkFile, wit::SinkError> {
        check_name(name)?;
        let dir = self.directory(directory)?;
        let shown = Path::new(directory).join(name);
        SinkFile::create(dir, name, replace, shown, true)
    }

    /// The directory `directory` names: the session's [`LastDir`] while
    /// its path still leads to it, else opened under the policy.
    fn directory(&mut self, directory: &str) -> Result<Arc<Dir>, wit::SinkError> {
        let path = normalized(Path::new(directory));
        if let Some(open) = self
            .last
            .0
            .as_ref()
            .filter(|open| open.path == path && open.lookup.current() == Some(open.id))
        {
            return Ok(Arc::clone(&open.dir));
        }
        let Opened { dir, lookup } = self.ctx.policy.open(directory)?;
        let dir = Arc::new(dir);
        self.last.0 = dir
            .dir_metadata()
            .ok()
            .and_then(|m| identity(&m))
            .map(|id| OpenDir {
                path,
                dir: Arc::clone(&dir),
                id,
                lookup,
            });
        Ok(dir)
    }
}

impl SinkFile {
    /// Starts the file `name` in `dir`: unnamed where it can be (and
    /// `try_unnamed` asks for it), else under a temporary name.
    fn create(
        dir: Arc<Dir>,
        name: &str,
        replace: bool,
        shown: PathBuf,
        try_unnamed: bool,
    ) -> Result<SinkFile, wit::SinkError> {
        let unnamed = if try_unnamed {
            unnamed::create(&dir)
        } else {
            None
        };
        let (file, staging) = match unnamed {
            Some(file) => (file, Staging::Unnamed),
            None => {
                let mut options = OpenOptions::new();
                options.read(true).write(true).create_new(true);
                loop {
                    let temporary = temporary_name(name);
                    match dir.open_with(&temporary, &options) {
                        Ok(file) => break (file, Staging::Named(temporary)),
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                        Err(e) => {
                            return Err(wit::SinkError::Io(format!("{}: {e}", shown.display())));
                        }
                    }
                }
            }
        };
        Ok(SinkFile {
            dir,
            file: Some(file),
            name: name.to_owned(),
            staging,
            replace,
            shown,
            finished: false,
        })
    }

    /// Completes the file: publishes it under its name, and returns the
    /// path shown for it. Refused (`exists`), the file stays unpublished
    /// and may be renamed and finished again.
    fn finish(&mut self) -> Result<String, wit::SinkError> {
        let Some(file) = self.file.take() else {
            return Err(self.finished_already());
        };
        match self.publish(file) {
            Ok(()) => {
                self.finished = true;
                Ok(self.shown.to_string_lossy().into_owned())
            }
            Err(Refused(e, file)) => {
                self.file = file;
                Err(e)
            }
        }
    }

    /// Up to `length` bytes of the file from `offset`, at most
    /// [`READ_BACK_MAX`].
    fn read(&self, offset: u64, length: u32) -> Result<Vec<u8>, wit::SinkError> {
        let Some(file) = &self.file else {
            return Err(self.finished_already());
        };
        let mut bytes = vec![0; (length as usize).min(READ_BACK_MAX)];
        let mut filled = 0;
        while filled < bytes.len() {
            match read_at(file, &mut bytes[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(&e)),
            }
        }
        bytes.truncate(filled);
        Ok(bytes)
    }

    /// Names the unfinished file `name` (checked as `create` checks it);
    /// without `replace`, refused with `exists` when the name is taken.
    fn rename(&mut self, name: &str, replace: bool) -> Result<(), wit::SinkError> {
        if self.file.is_none() {
            return Err(self.finished_already());
        }
        check_name(name)?;
        if !replace && self.dir.symlink_metadata(name).is_ok() {
            return Err(wit::SinkError::Exists);
        }
        let parent = self
            .shown
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        self.shown = parent.join(name);
        self.name = name.to_owned();
        self.replace = replace;
        Ok(())
    }

    fn finished_already(&self) -> wit::SinkError {
        wit::SinkError::Io(format!("{} is already finished", self.shown.display()))
    }
}

/// The most one `read` hands back: the guest asks again for the rest, and
/// the host never allocates what a guest merely asks for.
const READ_BACK_MAX: usize = 1024 * 1024;

/// Reads at `offset`, leaving the file's position at its end, where the
/// next write appends.
#[cfg(unix)]
fn read_at(file: &File, bytes: &mut [u8], offset: u64) -> io::Result<usize> {
    use cap_std::fs::FileExt;
    file.read_at(bytes, offset)
}

#[cfg(windows)]
fn read_at(file: &File, bytes: &mut [u8], offset: u64) -> io::Result<usize> {
    use cap_std::fs::FileExt;
    use std::io::Seek as _;
    let read = file.seek_read(bytes, offset)?;
    // Windows' positioned read moves the position too.
    let mut file = file;
    file.seek(io::SeekFrom::End(0))?;
    Ok(read)
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

    async fn read(
        &mut self,
        file: Resource<SinkFile>,
        offset: u64,
        length: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, wit::SinkError>> {
        // On this thread, unlike `write`: a read is rare (a large part that
        // was no attachment), at most `READ_BACK_MAX`, of bytes just written.
        Ok(self.table.get(&file)?.read(offset, length))
    }

    async fn rename(
        &mut self,
        file: Resource<SinkFile>,
        name: String,
        replace: bool,
    ) -> wasmtime::Result<Result<(), wit::SinkError>> {
        Ok(self.table.get_mut(&file)?.rename(&name, replace))
    }

    async fn finish(
        &mut self,
        file: Resource<SinkFile>,
    ) -> wasmtime::Result<Result<String, wit::SinkError>> {
        Ok(self.table.get_mut(&file)?.finish())
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

    /// The directory of the last file serves the next only while its path,
    /// looked up as the policy looks it up, leads to it; otherwise the path
    /// is opened again, under the policy.
    #[cfg(unix)]
    #[test]
    fn the_last_directory_is_reused_only_while_its_path_leads_to_it() {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let ctx = SinkCtx {
            policy: AttachmentPolicy::within(root.path()),
            on_current_thread: true,
        };
        let mut table = ResourceTable::new();
        let mut last = LastDir::default();
        let mut view = SinkView {
            table: &mut table,
            ctx: &ctx,
            last: &mut last,
        };
        let named = |p: &Path| p.to_string_lossy().into_owned();
        for nested in ["a", "x/a"] {
            let path = root.path().join(nested);
            let first = view.directory(&named(&path)).expect("made and opened");
            let again = view.directory(&named(&path)).expect("again");
            assert!(Arc::ptr_eq(&first, &again), "{nested}: the same handle");
            // The same directory through `..`: the same path to the policy.
            let roundabout = path.join("../a");
            assert!(Arc::ptr_eq(
                &first,
                &view.directory(&named(&roundabout)).expect("again")
            ));

            // Renamed away: the path is made again and the file goes there.
            let old = root
                .path()
                .join(format!("old-{}", nested.replace('/', "-")));
            std::fs::rename(&path, &old).expect("rename");
            let fresh = view.directory(&named(&path)).expect("made again");
            assert!(!Arc::ptr_eq(&first, &fresh), "{nested}");
            fresh.write("f", b"new").expect("write");
            assert_eq!(std::fs::read(path.join("f")).expect("read"), b"new");
            assert!(!old.join("f").exists());
        }

        // The directory in use moved out of the root and a link left in its
        // place, to it or to the directory above it: the same directory
        // (device and inode) at the end of the path, but out of the root,
        // so refused as the policy refuses it with nothing open.
        for (moved, link, through) in [("a", "a", "a"), ("x", "x", "x/a")] {
            let path = root.path().join(through);
            let open = view.directory(&named(&path)).expect("open");
            let away = outside.path().join(format!("moved-{moved}"));
            std::fs::rename(root.path().join(moved), &away).expect("move out");
            std::os::unix::fs::symlink(&away, root.path().join(link)).expect("link");
            assert_eq!(
                std::fs::metadata(&path).ok().and_then(|m| identity_std(&m)),
                open.dir_metadata().ok().and_then(|m| identity(&m)),
                "{through}: the path leads to the open directory from the process"
            );
            let refused = view.directory(&named(&path)).expect_err("not reused");
            let first_time = ctx.policy.open(&named(&path)).expect_err("refused");
            assert_eq!(format!("{refused:?}"), format!("{first_time:?}"));
            drop(open);
        }
        // Outside: only the files written before the moves.
        let mut files: Vec<_> = walk(outside.path())
            .into_iter()
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                outside.path().join("moved-a/f"),
                outside.path().join("moved-x/a/f")
            ]
        );
    }

    /// Every file and directory below `dir`.
    #[cfg(unix)]
    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() && !path.is_symlink() {
                out.extend(walk(&path));
            }
            out.push(path);
        }
        out
    }

    /// Every way a file is published, unnamed (Linux) and under a temporary
    /// name: nothing but the name is left in the directory, what must not be
    /// replaced is not, and a symbolic link at the name is replaced, never
    /// written through.
    #[test]
    fn files_are_published_alike_unnamed_or_through_a_temporary_name() {
        use std::io::Write as _;
        for unnamed in [true, false] {
            let root = tempfile::tempdir().expect("tempdir");
            let dir = || Dir::open_ambient_dir(root.path(), ambient_authority()).expect("dir");
            let start = |name: &str, replace: bool| {
                SinkFile::create(
                    Arc::new(dir()),
                    name,
                    replace,
                    root.path().join(name),
                    unnamed,
                )
                .expect("create")
            };
            let write = |sink: &mut SinkFile, bytes: &[u8]| {
                sink.file
                    .as_mut()
                    .expect("open")
                    .write_all(bytes)
                    .expect("write");
            };
            let listing = || {
                let mut names: Vec<String> = std::fs::read_dir(root.path())
                    .expect("read_dir")
                    .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                names
            };
            let read = |name: &str| std::fs::read(root.path().join(name)).expect("read");

            // A free name, either way.
            for (name, replace) in [("a.txt", false), ("b.txt", true)] {
                let mut sink = start(name, replace);
                // Unnamed where asked and the file system has such files
                // (Linux's tmpfs, ext4, xfs, btrfs; overlayfs since 6.6).
                let can = unnamed::create(&dir()).is_some();
                assert!(!can || cfg!(target_os = "linux"));
                assert_eq!(matches!(sink.staging, Staging::Unnamed), unnamed && can);
                write(&mut sink, b"first");
                assert_eq!(
                    sink.finish().expect("finish"),
                    root.path().join(name).to_string_lossy()
                );
                assert!(sink.finish().is_err(), "finished twice");
            }
            assert_eq!(listing(), ["a.txt", "b.txt"]);
            // Either way the mode a file created by name gets.
            #[cfg(target_os = "linux")]
            {
                use std::os::unix::fs::PermissionsExt;
                let meta = std::fs::metadata(root.path().join("a.txt")).expect("meta");
                let umask = unnamed::umask().expect("the umask");
                assert_eq!(meta.permissions().mode() & 0o777, 0o666 & !umask);
            }

            // Taken, not to be replaced: `exists`, and the old file stays.
            let mut sink = start("a.txt", false);
            write(&mut sink, b"second");
            assert!(matches!(sink.finish(), Err(wit::SinkError::Exists)));
            drop(sink);
            assert_eq!(read("a.txt"), b"first");
            assert_eq!(listing(), ["a.txt", "b.txt"], "unnamed {unnamed}");

            // Taken, to be replaced.
            let mut sink = start("a.txt", true);
            write(&mut sink, b"second");
            sink.finish().expect("replace");
            assert_eq!(read("a.txt"), b"second");
            assert_eq!(listing(), ["a.txt", "b.txt"], "unnamed {unnamed}");

            // Dropped unfinished: nothing of it is left.
            let mut sink = start("c.txt", true);
            write(&mut sink, b"never");
            drop(sink);
            assert_eq!(listing(), ["a.txt", "b.txt"], "unnamed {unnamed}");

            // A symbolic link at the name: replaced, its target untouched;
            // without replace, `exists`.
            let target = tempfile::NamedTempFile::new().expect("target");
            std::fs::write(target.path(), b"victim").expect("write");
            #[cfg(unix)]
            {
                std::os::unix::fs::symlink(target.path(), root.path().join("l.txt"))
                    .expect("symlink");
                let mut sink = start("l.txt", false);
                write(&mut sink, b"mail");
                assert!(matches!(sink.finish(), Err(wit::SinkError::Exists)));
                drop(sink);
                let mut sink = start("l.txt", true);
                write(&mut sink, b"mail");
                sink.finish().expect("replace the link");
                assert_eq!(std::fs::read(target.path()).expect("read"), b"victim");
                let meta = std::fs::symlink_metadata(root.path().join("l.txt")).expect("meta");
                assert!(meta.is_file());
                assert_eq!(read("l.txt"), b"mail");
                assert_eq!(listing(), ["a.txt", "b.txt", "l.txt"], "unnamed {unnamed}");
            }
        }
    }

    /// A file started under one name reads back what it holds, takes
    /// another name before `finish` (refused with `exists` when that one is
    /// taken and may not be replaced), and after `finish` found its name
    /// taken is still the same file, to be finished under the next name.
    #[test]
    fn a_file_reads_back_and_takes_its_name_at_the_end() {
        use std::io::Write as _;
        for unnamed in [true, false] {
            let root = tempfile::tempdir().expect("tempdir");
            let dir = Dir::open_ambient_dir(root.path(), ambient_authority()).expect("dir");
            let mut sink = SinkFile::create(
                Arc::new(dir),
                "arriving.part",
                true,
                root.path().join("arriving.part"),
                unnamed,
            )
            .expect("create");
            let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
            sink.file
                .as_mut()
                .expect("open")
                .write_all(&content)
                .expect("write");
            assert_eq!(sink.read(1000, 5000).expect("read"), &content[1000..6000]);
            assert_eq!(
                sink.read(299_990, 100).expect("read at the end"),
                &content[299_990..],
                "fewer bytes only at the end"
            );
            assert!(sink.read(400_000, 10).expect("past the end").is_empty());
            // Appends go on at the end, whatever was read.
            sink.file
                .as_mut()
                .expect("open")
                .write_all(b"tail")
                .expect("write");

            std::fs::write(root.path().join("taken.bin"), b"before").expect("write");
            assert!(matches!(
                sink.rename("taken.bin", false),
                Err(wit::SinkError::Exists)
            ));
            assert!(matches!(
                sink.rename("../out.bin", false),
                Err(wit::SinkError::InvalidName(_))
            ));
            sink.rename("free.bin", false).expect("rename");
            // Taken between the rename and `finish`: refused, and kept.
            std::fs::write(root.path().join("free.bin"), b"meanwhile").expect("write");
            assert!(matches!(sink.finish(), Err(wit::SinkError::Exists)));
            assert_eq!(sink.read(0, 10).expect("still open"), &content[..10]);
            sink.rename("next.bin", false).expect("rename again");
            assert_eq!(
                sink.finish().expect("finish"),
                root.path().join("next.bin").to_string_lossy()
            );
            let mut expected = content.clone();
            expected.extend_from_slice(b"tail");
            assert!(std::fs::read(root.path().join("next.bin")).expect("read") == expected);
            assert_eq!(
                std::fs::read(root.path().join("taken.bin")).expect("read"),
                b"before"
            );
            assert_eq!(
                std::fs::read(root.path().join("free.bin")).expect("read"),
                b"meanwhile"
            );
            assert!(sink.rename("other.bin", true).is_err(), "finished");
            assert!(sink.read(0, 1).is_err(), "finished");
            let mut names: Vec<String> = std::fs::read_dir(root.path())
                .expect("read_dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(
                names,
                ["free.bin", "next.bin", "taken.bin"],
                "unnamed {unnamed}"
            );
        }
    }

    /// Both ways of linking an unnamed file give it its name, and neither
    /// replaces what is there.
    #[cfg(target_os = "linux")]
    #[test]
    fn an_unnamed_file_is_linked_by_descriptor_or_through_proc() {
        use std::io::Write as _;
        // tmpfs, which has unnamed files on every Linux.
        let root = tempfile::tempdir_in("/dev/shm").expect("tempdir in /dev/shm");
        let dir = Dir::open_ambient_dir(root.path(), ambient_authority()).expect("dir");
        let mut file = unnamed::create(&dir).expect("an unnamed file");
        file.write_all(b"one").expect("write");
        // Allowed since Linux 6.10 (and always to root), refused before
        // with the errors `link` takes for "use /proc".
        let by_descriptor = unnamed::link_by_descriptor(&file, &dir, "a");
        match by_descriptor {
            Ok(()) => {
                assert_eq!(std::fs::read(root.path().join("a")).expect("read"), b"one");
                assert_eq!(
                    unnamed::link_by_descriptor(&file, &dir, "a"),
                    Err(rustix::io::Errno::EXIST)
                );
            }
            Err(e) => assert!(
                e == rustix::io::Errno::NOENT || e == rustix::io::Errno::PERM,
                "{e}"
            ),
        }
        unnamed::link_through_proc(&file, &dir, "b").expect("through /proc");
        assert_eq!(std::fs::read(root.path().join("b")).expect("read"), b"one");
        assert_eq!(
            unnamed::link_through_proc(&file, &dir, "b"),
            Err(rustix::io::Errno::EXIST)
        );
    }
}
