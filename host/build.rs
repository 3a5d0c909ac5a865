//! Finds or builds the guest component so `component.rs` can embed it with
//! `include_bytes!`.
//!
//! - `CFIMAP_COMPONENT=<path>`: that file is the component (the Makefile
//!   passes the one it has just built). It must be newer than every source
//!   its build read (the dep-info file `cfimap.d` beside it lists them), or
//!   the build fails: a stale component is never embedded silently.
//! - otherwise this script builds the guest crate itself (`cargo build
//!   --release -p cfimap --target wasm32-wasip2`) into a target directory of
//!   its own under `OUT_DIR` — inside whatever target directory the outer
//!   build uses (`CARGO_TARGET_DIR` included), and never the outer one,
//!   whose lock the outer build holds. A project that depends on this crate
//!   by path or git therefore needs no `make` first, only the
//!   `wasm32-wasip2` target (`rustup target add wasm32-wasip2`).
//!
//! Either way Cargo reruns the script when the guest's sources change, and
//! the component's SHA-256 goes to the compiler as
//! `CFIMAP_COMPONENT_SHA256`: the compile cache is keyed by it, and hashing
//! 1 MB at every start cost several milliseconds of each run.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// The guest's sources, relative to the guest crate (this crate's parent).
const GUEST_SOURCES: &[&str] = &[
    "src",
    "wit",
    "Cargo.toml",
    "Cargo.lock",
    ".cargo/config.toml",
];

/// Where the sources are when a prebuilt component has no dep-info file
/// beside it: every change under them makes Cargo write a new component, so
/// a component older than them is stale. (The manifest and lock file also
/// change for the host's sake, without a new component.)
const ALWAYS_REBUILT: &[&str] = &["src", "wit"];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let guest = manifest_dir.join("..");
    let guest = guest.canonicalize().unwrap_or(guest);
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CFIMAP_COMPONENT");
    let sources: Vec<PathBuf> = GUEST_SOURCES
        .iter()
        .map(|s| guest.join(s))
        .filter(|p| p.exists())
        .collect();
    for source in &sources {
        println!("cargo::rerun-if-changed={}", source.display());
    }

    let component = match std::env::var_os("CFIMAP_COMPONENT").filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            // The sources the compiler read, from the build's dep-info file;
            // without one, everything under the always-rebuilt folders.
            let rebuilt = dep_info(&path.with_extension("d"))
                .unwrap_or_else(|| ALWAYS_REBUILT.iter().map(|s| guest.join(s)).collect());
            prebuilt(path, &rebuilt)?
        }
        None => build_guest(&guest, &env_path("OUT_DIR")?)?,
    };
    println!("cargo::rerun-if-changed={}", component.display());
    println!(
        "cargo::rustc-env=CFIMAP_COMPONENT_PATH={}",
        component.display()
    );
    let bytes = std::fs::read(&component)
        .map_err(|e| format!("cannot read {}: {e}", component.display()))?;
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("cargo::rustc-env=CFIMAP_COMPONENT_SHA256={digest}");
    Ok(())
}

fn env_path(name: &str) -> Result<PathBuf, String> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .ok_or_else(|| format!("{name} is not set; run this build through cargo"))
}

/// The component named by `CFIMAP_COMPONENT`, checked to exist and to be
/// newer than the guest's `sources`.
fn prebuilt(path: PathBuf, sources: &[PathBuf]) -> Result<PathBuf, String> {
    let path = path.canonicalize().map_err(|e| {
        format!(
            "CFIMAP_COMPONENT={}: {e}\nbuild the guest first (make build), or unset \
             CFIMAP_COMPONENT to let this build make it",
            path.display()
        )
    })?;
    let built = modified(&path).unwrap_or(SystemTime::UNIX_EPOCH);
    if let Some((source, changed)) = sources
        .iter()
        .filter_map(|s| newest(s).map(|t| (s, t)))
        .max_by_key(|(_, t)| *t)
        && changed > built
    {
        return Err(format!(
            "CFIMAP_COMPONENT={} is older than the guest's sources ({} changed since): \
             rebuild it (make build), or unset CFIMAP_COMPONENT to let this build make it",
            path.display(),
            source.display()
        ));
    }
    Ok(path)
}

/// Builds the guest crate at `guest` into a target directory under
/// `out_dir` and returns the component's path.
fn build_guest(guest: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let target_dir = out_dir.join("guest");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(guest)
        .args([
            "build",
            "--release",
            "-p",
            "cfimap",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--manifest-path")
        .arg(guest.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // The outer build's flags and wrappers are for the host: the guest
        // takes its own from `.cargo/config.toml` (e.g. +simd128).
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        // A build directory of its own too: sharing the outer build's would
        // wait forever on the lock the outer build holds.
        .env("CARGO_BUILD_BUILD_DIR", target_dir.join("build"))
        // Cargo reads this script's stdout for directives: the nested
        // build's output goes to stderr.
        .stdout(std::process::Stdio::from(std::io::stderr()));
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo to build the cfimap guest: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the cfimap guest failed ({status}); is the target installed? \
             rustup target add wasm32-wasip2 (or set CFIMAP_COMPONENT to a built component)"
        ));
    }
    let component = target_dir
        .join("wasm32-wasip2")
        .join("release")
        .join("cfimap.wasm");
    if !component.is_file() {
        return Err(format!(
            "the guest build succeeded but {} is missing",
            component.display()
        ));
    }
    Ok(component)
}

/// The files a dep-info file (`target: dep dep …`, spaces escaped as `\ `)
/// lists, or `None` when it cannot be read.
fn dep_info(path: &Path) -> Option<Vec<PathBuf>> {
    let text = std::fs::read_to_string(path).ok()?;
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    let (_, deps) = first.split_once(": ")?;
    let mut files = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    files.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        files.push(PathBuf::from(current));
    }
    Some(files)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of `path` and, for a directory, of
/// everything below it.
fn newest(path: &Path) -> Option<SystemTime> {
    let own = modified(path);
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries
        .flatten()
        .filter_map(|e| newest(&e.path()))
        .chain(own)
        .max()
}
