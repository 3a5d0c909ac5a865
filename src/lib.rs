//! The cfimap guest: ColdFusion's `<cfimap>` actions spoken as IMAP inside a
//! WebAssembly component.
//!
//! Three layers, each importing only those below it:
//!
//! - [`imap`]: the protocol. Bytes over the host's connection (the imported
//!   `transport` byte pipe), responses decoded, a session that logs in and
//!   runs commands, folder names as the server spells them.
//! - [`message`]: one message and its MIME parts, parsed and decoded, and
//!   attachments written through the host's imported sink.
//! - [`actions`]: the tag's actions, turning its attributes into commands
//!   and messages into its rows.
//!
//! Beside them, [`error`] is the one error type all layers return, and
//! [`component`] maps the actions onto the WIT face. The component touches
//! no file, socket, clock or environment of its own.

#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "cfimap",
        pub_export_macro: true,
        // The WASI the world names is the `wasip2` crate's, not a second
        // copy of its bindings.
        with: {
            "wasi:cli/environment@0.2.12": wasip2::cli::environment,
            "wasi:cli/exit@0.2.12": wasip2::cli::exit,
            "wasi:cli/stdin@0.2.12": wasip2::cli::stdin,
            "wasi:cli/stdout@0.2.12": wasip2::cli::stdout,
            "wasi:cli/stderr@0.2.12": wasip2::cli::stderr,
            "wasi:cli/terminal-input@0.2.12": wasip2::cli::terminal_input,
            "wasi:cli/terminal-output@0.2.12": wasip2::cli::terminal_output,
            "wasi:cli/terminal-stdin@0.2.12": wasip2::cli::terminal_stdin,
            "wasi:cli/terminal-stdout@0.2.12": wasip2::cli::terminal_stdout,
            "wasi:cli/terminal-stderr@0.2.12": wasip2::cli::terminal_stderr,
            "wasi:random/insecure-seed@0.2.12": wasip2::random::insecure_seed,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
        },
    });
}

pub mod actions;
pub mod component;
pub mod error;
pub mod imap;
pub mod message;

// The exports exist in the component only. A native build (unit tests, the
// fuzz targets in fuzz/) has no use for them, and its cdylib cannot carry
// them: the linker's version script refuses their names
// (`cfimap:imap/...#[method]...`).
#[cfg(target_arch = "wasm32")]
use component::Component;
#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);

/// The layering rule of the module docs above, checked on the sources: a
/// lower layer that starts to import a higher one fails here, not in review.
#[cfg(test)]
mod layering {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file under `src/<layer>`.
    fn sources(layer: &str) -> Vec<PathBuf> {
        let mut pending = vec![
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src")
                .join(layer),
        ];
        let mut files = Vec::new();
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("the layer's folder is readable") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        assert!(!files.is_empty(), "no sources under src/{layer}");
        files
    }

    /// The lines of `layer` that name `crate::<higher>` outside a comment.
    fn imports_of(layer: &str, higher: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for file in sources(layer) {
            let text = std::fs::read_to_string(&file).expect("a source is readable");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if higher.iter().any(|h| code.contains(&format!("crate::{h}"))) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
        found
    }

    #[test]
    fn lower_layers_never_import_higher_ones() {
        assert_eq!(
            imports_of("imap", &["message", "actions", "component"]),
            Vec::<String>::new()
        );
        assert_eq!(
            imports_of("message", &["imap", "actions", "component"]),
            Vec::<String>::new()
        );
        assert_eq!(imports_of("actions", &["component"]), Vec::<String>::new());
    }

    #[test]
    fn the_check_sees_an_import() {
        // The rule's own test: `actions` does import `message`.
        assert!(!imports_of("actions", &["message"]).is_empty());
    }
}
