//! Locates the guest component so `component.rs` can embed it with `include_bytes!`.
//!
//! The component is built by the workspace's guest crate (`make build`, or
//! `cargo build --release -p cfimap --target wasm32-wasip2`) into
//! `<workspace>/target/wasm32-wasip2/release/cfimap.wasm`. This script passes its
//! absolute path to the compiler as `CFIMAP_COMPONENT_PATH` and asks Cargo to
//! rebuild the host whenever the file changes. It also passes the file's
//! SHA-256 as `CFIMAP_COMPONENT_SHA256`: the compile cache is keyed by it,
//! and hashing 1 MB at every start cost several milliseconds of each run.

use std::path::PathBuf;
use std::process::ExitCode;

use sha2::{Digest, Sha256};

fn main() -> ExitCode {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        eprintln!("error: CARGO_MANIFEST_DIR is not set; run this build through cargo");
        return ExitCode::FAILURE;
    };
    let workspace = PathBuf::from(manifest_dir).join("..");
    let component = workspace
        .join("target")
        .join("wasm32-wasip2")
        .join("release")
        .join("cfimap.wasm");
    // Absolute and without `..`, so the path in error messages is readable.
    let component = component.canonicalize().unwrap_or(component);

    println!("cargo::rerun-if-changed={}", component.display());
    println!("cargo::rerun-if-changed=build.rs");

    if !component.is_file() {
        eprintln!(
            "error: the cfimap component is missing at {}\n\
             build the guest first: make build",
            component.display()
        );
        return ExitCode::FAILURE;
    }
    println!(
        "cargo::rustc-env=CFIMAP_COMPONENT_PATH={}",
        component.display()
    );
    let bytes = match std::fs::read(&component) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", component.display());
            return ExitCode::FAILURE;
        }
    };
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("cargo::rustc-env=CFIMAP_COMPONENT_SHA256={digest}");
    ExitCode::SUCCESS
}
