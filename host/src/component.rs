//! The embedded cfimap component and its compiled form.
//!
//! The component (built by the guest crate; `build.rs` finds or builds it)
//! is embedded in the host binary at build time. Compiling it
//! with Cranelift takes a few hundred milliseconds, which a command-line tool
//! must not pay on every start, so the compiled code is cached on disk:
//!
//! - the cache file is named after a SHA-256 of the component bytes, the host
//!   version and wasmtime's compatibility hash of the engine configuration, so
//!   a new component, a new wasmtime or a different configuration never loads
//!   stale code;
//! - it lives in `$XDG_CACHE_HOME/cfimap`, else `~/.cache/cfimap`, else a
//!   per-user directory in the system's temporary directory that only this
//!   user can write to (checked, since the file is loaded as native code);
//! - a file that fails to load is compiled again and replaced atomically
//!   (written to a temporary file, then renamed over the old one);
//! - if no cache directory is usable, the component is compiled in memory.
//!
//! A first start would still pay for the compile; [`crate::precompiled`]
//! compiles the component ahead of time, when a program is built or
//! installed, into a directory read before the cache.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, ProfilingStrategy};

use crate::Error;
use crate::deadline::{self, Interruption};

/// The component bytes, embedded from the path `build.rs` found or built.
pub(crate) const COMPONENT: &[u8] = include_bytes!(env!("CFIMAP_COMPONENT_PATH"));

/// Where the compiled component is cached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CompileCache {
    /// `$XDG_CACHE_HOME/cfimap`, else `~/.cache/cfimap`, else a private
    /// directory under the system's temporary directory.
    #[default]
    Default,
    /// This directory (created if missing). Only the current user should be
    /// able to write to it: its files are loaded as native code.
    Dir(PathBuf),
    /// No cache: compile the component in memory every time.
    Off,
}

/// The engine configuration of a runtime with this [`Interruption`].
/// Precompiled code is only valid for the configuration it was made with;
/// the cache key includes it.
pub(crate) fn engine(interruption: Interruption) -> Result<Engine, Error> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    deadline::configure(&mut config, interruption);
    // The component's memory is wasmtime's own. Huge pages for the memory a
    // getAll's largest message arrives into were tried and removed: under a
    // hypervisor that takes back freed memory (free page reporting, as
    // Firecracker's balloon does), a fresh huge page is often backed again
    // by the host on its first touch, and getAll took 0.87x the CPU without
    // them (docs/performance.md, "Fresh memory", under "getAll: cfimap's
    // CPU on two cores").
    // For `perf record`: `CFIMAP_PROFILER=perfmap` names the guest's compiled
    // functions in /tmp/perf-PID.map (the cache key covers this setting).
    if std::env::var_os("CFIMAP_PROFILER").is_some_and(|v| v == "perfmap") {
        config.profiler(ProfilingStrategy::PerfMap);
    }
    Engine::new(&config).map_err(|e| Error::Load(format!("cannot create the engine: {e}")))
}

/// Loads the embedded component: from the first trusted file compiled ahead
/// of time in `precompiled`, else from the compile cache when possible.
pub(crate) fn load(
    engine: &Engine,
    cache: &CompileCache,
    precompiled: &[PathBuf],
) -> Result<Component, Error> {
    check_embedded()?;
    let name = file_name(engine);
    for dir in precompiled {
        if let Some(component) = crate::precompiled::load(engine, dir, &name) {
            return Ok(component);
        }
    }
    let dir = match cache {
        CompileCache::Off => None,
        CompileCache::Dir(dir) => prepare_dir(dir, false),
        CompileCache::Default => default_dir(),
    };
    let Some(dir) = dir else {
        tracing::debug!("no compile cache; compiling the component in memory");
        return compile_in_memory(engine);
    };
    let file = dir.join(name);
    if file.is_file() {
        // SAFETY: `deserialize_file` loads native code without validating it.
        // The file is one this host wrote itself with `precompile_component`
        // for an engine of the same configuration (its name carries the hash
        // of the component, the host version and the engine's compatibility
        // hash), in a directory only this user can write to.
        match unsafe { Component::deserialize_file(engine, &file) } {
            Ok(component) => {
                tracing::debug!(path = %file.display(), "loaded the precompiled component");
                return Ok(component);
            }
            Err(e) => {
                tracing::warn!(path = %file.display(), error = %e, "cached component unusable; recompiling");
            }
        }
    }
    let compiled = precompile(engine)?;
    if let Err(e) = write_atomically(&file, &compiled) {
        tracing::warn!(path = %file.display(), error = %e, "cannot write the compile cache");
    } else {
        tracing::debug!(path = %file.display(), "wrote the compile cache");
    }
    // SAFETY: `compiled` was produced just now by `precompile_component` on this
    // very engine.
    unsafe { Component::deserialize(engine, &compiled) }
        .map_err(|e| Error::Load(format!("cannot load the compiled component: {e}")))
}

/// Fails when the component was not embedded (an empty placeholder).
pub(crate) fn check_embedded() -> Result<(), Error> {
    if COMPONENT.is_empty() {
        return Err(Error::Load(
            "the embedded cfimap component is empty: build the guest first (make build), \
             then rebuild the host"
                .into(),
        ));
    }
    Ok(())
}

/// The compiled component's file name, in the cache and ahead of time.
pub(crate) fn file_name(engine: &Engine) -> String {
    format!("cfimap-{}.cwasm", cache_key(engine))
}

/// The embedded component compiled for `engine`.
pub(crate) fn precompile(engine: &Engine) -> Result<Vec<u8>, Error> {
    tracing::debug!(bytes = COMPONENT.len(), "compiling the component");
    engine
        .precompile_component(COMPONENT)
        .map_err(|e| Error::Load(format!("cannot compile the cfimap component: {e}")))
}

fn compile_in_memory(engine: &Engine) -> Result<Component, Error> {
    let compiled = precompile(engine)?;
    // SAFETY: produced just now by `precompile_component` on this engine.
    unsafe { Component::deserialize(engine, &compiled) }
        .map_err(|e| Error::Load(format!("cannot load the compiled component: {e}")))
}

/// Hex SHA-256 (first 128 bits) of everything compiled code depends on.
fn cache_key(engine: &Engine) -> String {
    struct ShaHasher(Sha256);
    impl std::hash::Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut h = ShaHasher(Sha256::new());
    // The component's own SHA-256, computed by build.rs.
    h.0.update(env!("CFIMAP_COMPONENT_SHA256").as_bytes());
    h.0.update(b"\0cfimap-host ");
    h.0.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.0.update(b"\0");
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
    let digest = h.0.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// `$XDG_CACHE_HOME/cfimap`, `~/.cache/cfimap`, or a checked private
/// directory in the temporary directory.
fn default_dir() -> Option<PathBuf> {
    let from_env = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(dir) = from_env("XDG_CACHE_HOME") {
        return prepare_dir(&dir.join("cfimap"), false);
    }
    if let Some(home) = from_env("HOME") {
        return prepare_dir(&home.join(".cache").join("cfimap"), false);
    }
    let name = private_tmp_name();
    prepare_dir(&std::env::temp_dir().join(name), true)
}

#[cfg(unix)]
fn private_tmp_name() -> String {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    format!("cfimap-cache-{uid}")
}

#[cfg(not(unix))]
fn private_tmp_name() -> String {
    "cfimap-cache".to_owned()
}

/// Creates `dir` if needed. In a shared location (`shared`), the directory
/// must belong to this user and be writable by nobody else, or it is not used.
fn prepare_dir(dir: &Path, shared: bool) -> Option<PathBuf> {
    let created = create_dir(dir);
    if let Err(e) = created {
        tracing::debug!(path = %dir.display(), error = %e, "cache directory unusable");
        return None;
    }
    if shared && !is_private(dir) {
        tracing::warn!(path = %dir.display(), "cache directory is not private to this user; not using it");
        return None;
    }
    Some(dir.to_path_buf())
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn is_private(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // `symlink_metadata`: a symlink planted by someone else is not followed.
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    meta.is_dir() && meta.uid() == uid && meta.mode() & 0o022 == 0
}

#[cfg(not(unix))]
fn is_private(_dir: &Path) -> bool {
    true
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over
/// `path`, so a reader never sees a half-written file. The file is readable
/// by all and writable by its owner only, whatever the umask allows more.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        // A leftover of a process that died mid-write under the same pid.
        let mut f = match create_file(&tmp) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(&tmp)?;
                create_file(&tmp)?
            }
            created => created?,
        };
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `path`, which must not exist, readable by all and writable by
/// its owner only, whatever the umask allows more (a group-writable file
/// would not be trusted as precompiled code).
#[cfg(unix)]
fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)?;
    // The umask may have taken bits away; never adds any.
    f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    Ok(f)
}

#[cfg(not(unix))]
fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}
