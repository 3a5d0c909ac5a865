//! The component compiled ahead of time: writing it when a program is built
//! or installed, and deciding whether a file found at start-up may be
//! loaded.
//!
//! Without it, a first start compiles the component (about 0.6 s on two
//! cores) before it can cache it (see [`crate::component`]). [`precompile_into`]
//! writes the compiled component into a directory (the CLI's `cfimap
//! precompile`, run by `make build` and `make install`), and a runtime
//! looks there first ([`RuntimeOptions::precompiled`]), never writing
//! there. The file has the cache's name (a hash of the component, the host
//! version and the engine configuration), so only a host of the same build
//! and configuration ever finds it, and wasmtime refuses code compiled for
//! another CPU.
//!
//! The file is native code, loaded without validation, and the directory
//! may be shared (`/usr/local/lib/cfimap`). On Unix it is loaded only when
//! nobody but this user or root can have put it there:
//!
//! - the directory's path is resolved once, its symbolic links followed,
//!   and every directory on the resolved path, from the root down, belongs
//!   to this user or root and is writable by no one else (a sticky
//!   directory such as `/tmp` excepted: others may add to it, but not
//!   replace what is there), so no step of the path can be swapped between
//!   the check and the open;
//! - the file is opened without following a symbolic link, and the open
//!   file itself is checked: a regular file of this user or root, writable
//!   by no one else;
//! - it is loaded from that open file: mapped through `/proc/self/fd` on
//!   Linux, which names the open file and not its path; read where that
//!   is not possible or the mapping fails (a `noexec` mount).
//!
//! A file that fails a check or does not load is skipped with a warning, for
//! the compile cache. A missing file is not worth a word.
//!
//! [`RuntimeOptions::precompiled`]: crate::RuntimeOptions::precompiled

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::component::{self, check_embedded, file_name, write_atomically};
use crate::{Error, RuntimeOptions};

/// Compiles the embedded component ahead of time for this host and for
/// runtimes made with `options`, into `dir` (created if missing), and
/// returns the file written. Of the options only
/// [`RuntimeOptions::interruption`] changes the compiled code: a runtime
/// with another one looks for another file.
///
/// A [`Runtime`](crate::Runtime) whose
/// [`RuntimeOptions::precompiled`](crate::RuntimeOptions::precompiled) names
/// `dir` then starts without compiling. The file is named after the
/// component, this crate's version and the engine configuration, so a later
/// build writes a file of another name instead of replacing one a running
/// program may use. It is written whole before it appears (a temporary file,
/// then a rename), readable by everyone and writable only by its owner.
///
/// Fails with [`Error::Load`] when the component cannot be compiled, `dir`
/// cannot be created or written, or (on Unix) a runtime would not load the
/// file from there: when `dir` or a directory above it can be written by
/// another user (a umask of 002 makes new directories group-writable).
pub fn precompile_into(dir: &Path, options: &RuntimeOptions) -> Result<PathBuf, Error> {
    check_embedded()?;
    let engine = component::engine(options.interruption)?;
    let compiled = component::precompile(&engine)?;
    let io = |e: io::Error| Error::Load(format!("cannot write into {}: {e}", dir.display()));
    create_dir(dir).map_err(io)?;
    let name = file_name(&engine);
    let file = dir.join(&name);
    write_atomically(&file, &compiled).map_err(io)?;
    // Checked as a runtime would, without reading the file back.
    if let Err(why) = open_trusted(dir, &name) {
        return Err(Error::Load(format!(
            "wrote {}, but cfimap will not load it: {why}",
            file.display()
        )));
    }
    Ok(file)
}

/// The component compiled ahead of time as `name` in `dir`, when there is
/// one this host may trust and load.
pub(crate) fn load(engine: &Engine, dir: &Path, name: &str) -> Option<Component> {
    let file = match open_trusted(dir, name) {
        Ok(file) => file,
        Err(Refused::Missing) => return None,
        Err(why) => {
            tracing::warn!(dir = %dir.display(), %name, "not loading the precompiled component: {why}");
            return None;
        }
    };
    // SAFETY: the file is loaded as native code without validation. It is
    // one that only this user or root could have written, reached through a
    // path no one else can change (see the module docs), and its name
    // carries the hash of the component, the host version and the engine's
    // compatibility hash, which wasmtime checks again with the CPU features.
    // A mapped file must also not change while it is loaded: cfimap never
    // writes one in place (`precompile_into` writes a new file and renames
    // it, `make install` removes the old one first).
    // Mapped, not read: the start skips copying 3.4 MB and the pages come
    // from the page cache, shared between processes.
    let mapped =
        opened_again(&file).map(|path| unsafe { Component::deserialize_file(engine, path) });
    let loaded = match mapped {
        Some(Ok(component)) => Ok(component),
        // Not mappable here (or no /proc): read through the open file.
        Some(Err(_)) | None => match read_all(file) {
            Ok(bytes) => unsafe { Component::deserialize(engine, &bytes) },
            Err(why) => {
                tracing::warn!(dir = %dir.display(), %name, "not loading the precompiled component: {why}");
                return None;
            }
        },
    };
    match loaded {
        Ok(component) => {
            tracing::debug!(dir = %dir.display(), %name, "loaded the component compiled ahead of time");
            Some(component)
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), %name, error = %e, "precompiled component unusable; skipping it");
            None
        }
    }
}

/// A path that opens exactly the file `file` has open, whatever happens to
/// its name meanwhile: Linux's `/proc/self/fd/N` (a link to the open file's
/// inode, not to its path). wasmtime maps a file only by path, and this
/// path cannot be swapped between the checks and the mapping. `None`
/// elsewhere, or without `/proc`: the file is then read through `file`.
#[cfg(target_os = "linux")]
fn opened_again(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    let same = |there: &std::fs::Metadata, here: &std::fs::Metadata| {
        use std::os::unix::fs::MetadataExt;
        there.dev() == here.dev() && there.ino() == here.ino()
    };
    // A sanity check that /proc is what it should be (replacing it takes
    // root or a mount namespace of one's own, outside what is defended
    // against): the path leads to the very inode that was checked.
    match (std::fs::metadata(&path), file.metadata()) {
        (Ok(there), Ok(here)) if same(&there, &here) => Some(path),
        _ => None,
    }
}

#[cfg(not(target_os = "linux"))]
fn opened_again(_: &File) -> Option<PathBuf> {
    None
}

/// Why a precompiled file is not loaded.
#[derive(Debug)]
enum Refused {
    /// There is none (the usual case for all but one directory).
    Missing,
    /// A directory on its resolved path may be written by someone else.
    Directory(PathBuf),
    /// A symbolic link, or not a regular file.
    NotAFile,
    /// Another user's, or writable by others.
    File,
    /// Reading it failed.
    Io(io::Error),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Missing => write!(f, "there is no such file"),
            Refused::Directory(dir) => write!(
                f,
                "{} belongs to another user or can be written by others",
                dir.display()
            ),
            Refused::NotAFile => write!(f, "it is a symbolic link or not a regular file"),
            Refused::File => write!(
                f,
                "the file belongs to another user or can be written by others"
            ),
            Refused::Io(e) => write!(f, "cannot read it: {e}"),
        }
    }
}

/// `name` in `dir`, opened, when every check of the module docs passes.
fn open_trusted(dir: &Path, name: &str) -> Result<File, Refused> {
    let missing = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Refused::Missing,
        _ => Refused::Io(e),
    };
    let dir = std::fs::canonicalize(dir).map_err(missing)?;
    for step in dir.ancestors() {
        let meta = std::fs::metadata(step).map_err(Refused::Io)?;
        if !trusted_directory(&meta) {
            return Err(Refused::Directory(step.to_path_buf()));
        }
    }
    let file = open_no_follow(&dir.join(name)).map_err(|e| {
        if is_symlink_refusal(&e) {
            Refused::NotAFile
        } else {
            missing(e)
        }
    })?;
    let meta = file.metadata().map_err(Refused::Io)?;
    if !meta.is_file() {
        return Err(Refused::NotAFile);
    }
    if !trusted_file(&meta) {
        return Err(Refused::File);
    }
    Ok(file)
}

/// The bytes of a file [`open_trusted`] opened, read from it (not by its
/// path again, which could name another file by now).
fn read_all(mut file: File) -> Result<Vec<u8>, Refused> {
    let size = file.metadata().map_or(0, |m| m.len());
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(Refused::Io)?;
    Ok(bytes)
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// `O_NOFOLLOW` refuses a symbolic link with `ELOOP`.
#[cfg(unix)]
fn is_symlink_refusal(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_symlink_refusal(_e: &io::Error) -> bool {
    false
}

/// This user's or root's.
#[cfg(unix)]
fn owned_by_us_or_root(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    meta.uid() == uid || meta.uid() == 0
}

/// Ours or root's, and writable by no one else; or sticky (others may add
/// entries, but not rename or remove ours).
#[cfg(unix)]
fn trusted_directory(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    owned_by_us_or_root(meta) && (meta.mode() & 0o022 == 0 || meta.mode() & 0o1000 != 0)
}

/// Ours or root's, and writable by no one else.
#[cfg(unix)]
fn trusted_file(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    owned_by_us_or_root(meta) && meta.mode() & 0o022 == 0
}

// Elsewhere there are no such owners and modes to check: the directory is
// trusted as the caller named it.
#[cfg(not(unix))]
fn trusted_directory(_meta: &std::fs::Metadata) -> bool {
    true
}

#[cfg(not(unix))]
fn trusted_file(_meta: &std::fs::Metadata) -> bool {
    true
}

/// Creates `dir` readable by all and writable by its owner only.
#[cfg(unix)]
fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// `lib/c.cwasm` holding `content` in a new temporary directory, both as
    /// `precompile_into` would leave them: the root, `lib`, and the file.
    fn compiled_file(content: &[u8]) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("lib");
        create_dir(&dir).expect("mkdir");
        let file = dir.join("c.cwasm");
        std::fs::write(&file, content).expect("write");
        chmod(&file, 0o644);
        (root, dir, file)
    }

    #[test]
    fn only_a_file_no_one_else_can_have_written_is_read() {
        let (root, dir, file) = compiled_file(b"code");
        assert_eq!(
            open_trusted(&dir, "c.cwasm")
                .and_then(read_all)
                .expect("trusted"),
            b"code"
        );
        assert!(matches!(
            open_trusted(&dir, "other.cwasm"),
            Err(Refused::Missing)
        ));

        // The file writable by the group.
        chmod(&file, 0o664);
        assert!(matches!(open_trusted(&dir, "c.cwasm"), Err(Refused::File)));
        chmod(&file, 0o644);

        // A directory on the way writable by others, not sticky.
        chmod(&dir, 0o777);
        assert!(matches!(
            open_trusted(&dir, "c.cwasm"),
            Err(Refused::Directory(_))
        ));
        // Sticky: others cannot replace what is in it.
        chmod(&dir, 0o1777);
        assert!(open_trusted(&dir, "c.cwasm").is_ok());
        chmod(&dir, 0o755);

        // A symbolic link as the file is not followed.
        std::os::unix::fs::symlink(&file, dir.join("link.cwasm")).expect("symlink");
        assert!(matches!(
            open_trusted(&dir, "link.cwasm"),
            Err(Refused::NotAFile)
        ));

        // A symbolic link to the directory is resolved once, and the real
        // path is what is checked.
        let alias = root.path().join("alias");
        std::os::unix::fs::symlink(&dir, &alias).expect("symlink");
        assert_eq!(
            open_trusted(&alias, "c.cwasm")
                .and_then(read_all)
                .expect("trusted"),
            b"code"
        );
        chmod(&dir, 0o775);
        assert!(
            matches!(open_trusted(&alias, "c.cwasm"), Err(Refused::Directory(d)) if d == dir.canonicalize().unwrap())
        );
    }

    /// What is mapped is the file that was checked, even when its name is
    /// given to another file between the check and the mapping.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_file_mapped_is_the_one_opened_not_whatever_has_its_name_now() {
        let (_root, dir, file) = compiled_file(b"checked");
        let opened = open_trusted(&dir, "c.cwasm").expect("trusted");

        let swapped = dir.join("swap");
        std::fs::write(&swapped, b"swapped").expect("write");
        std::fs::rename(&swapped, &file).expect("rename");

        let path = opened_again(&opened).expect("/proc/self/fd");
        assert_eq!(std::fs::read(path).expect("read"), b"checked");
        assert_eq!(std::fs::read(&file).expect("read"), b"swapped");
    }
}
