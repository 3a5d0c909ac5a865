//! The cfimap guest: ColdFusion's `<cfimap>` actions spoken as IMAP inside a
//! WebAssembly component.
//!
//! Three layers. [`imap`] and [`message`] know nothing of each other;
//! [`actions`] builds on both; none of them imports [`component`]:
//!
//! - [`imap`]: the protocol. Bytes over the host's connection (the imported
//!   `transport` byte pipe), responses decoded, a session that logs in and
//!   runs commands, folder names as the server spells them.
//! - [`message`]: one message and its MIME parts, parsed and decoded, and
//!   attachments written through the host's imported sink.
//! - [`actions`]: the tag's actions, turning its attributes into commands
//!   and messages into its rows.
//!
//! Under all of them lie [`bindings`] (the WIT world's types, imports and
//! exports) and [`error`], the one error type every layer returns; above
//! them, [`component`] maps the actions onto the WIT face. The component
//! touches no file, socket, clock or environment of its own.

#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

/// The component's allocator: talc, not the Rust toolchain's dlmalloc for
/// WebAssembly. Parsing a message allocates for every header field and part,
/// and dlmalloc's `malloc` and `free` were 5% of a getAll's instructions;
/// talc took 2.5% off the whole process's instructions for that read and
/// 3.4% for getHeaderOnly of 10,000 messages, with the same peak memory
/// (callgrind and `wait4`, `make bench`'s folders).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

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
/// layer that starts to import one it must not fails here, not in review.
#[cfg(test)]
mod layering {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file under `src/<path>` (a folder or one file), with how
    /// deep its module lies below the crate root.
    fn sources(path: &str) -> Vec<(PathBuf, usize)> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut pending = vec![src.join(path)];
        let mut files = Vec::new();
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("a layer's folder is readable") {
                    pending.push(entry.expect("a directory entry").path());
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&src).expect("under src/");
                let mut depth = relative.components().count();
                if path.file_name().is_some_and(|n| n == "mod.rs") {
                    depth -= 1;
                }
                files.push((path, depth));
            }
        }
        assert!(!files.is_empty(), "no sources at src/{path}");
        files
    }

    /// The crate-root modules `code` names: `crate::x`, each item of a
    /// `crate::{x, y::z}` group, and `super::` chains `depth` deep or more
    /// (which reach the root from a module that deep) as `super`.
    fn roots_named(code: &str, depth: usize) -> Vec<String> {
        // Comments out, then every space: `use crate::{ a, b }` reads as
        // `usecrate::{a,b}`.
        let code: String = code
            .lines()
            .map(|line| line.split("//").next().unwrap_or_default())
            .flat_map(str::chars)
            .filter(|c| !c.is_whitespace())
            .collect();
        let mut found = Vec::new();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            match rest.strip_prefix('{') {
                Some(group) => {
                    let mut nesting = 0;
                    let mut item = String::new();
                    for c in group.chars() {
                        match c {
                            '{' => nesting += 1,
                            '}' if nesting == 0 => break,
                            '}' => nesting -= 1,
                            ',' if nesting == 0 => {
                                found.push(first_segment(&item));
                                item.clear();
                                continue;
                            }
                            _ => {}
                        }
                        item.push(c);
                    }
                    found.push(first_segment(&item));
                }
                None => found.push(first_segment(rest)),
            }
        }
        // A test module's `use super::*` names its own file's module, not
        // the root, even in a file one level deep (`error.rs`).
        let code = code.replace("usesuper::*;", "");
        if depth > 0 && code.contains(&"super::".repeat(depth)) {
            found.push("super".to_owned());
        }
        found.retain(|name| !name.is_empty());
        found
    }

    fn first_segment(path: &str) -> String {
        path.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The places in `path` that name one of `forbidden` (or reach the root
    /// by `super::`).
    fn violations(path: &str, forbidden: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for (file, depth) in sources(path) {
            let text = std::fs::read_to_string(&file).expect("a source is readable");
            for name in roots_named(&text, depth) {
                if name == "super" || forbidden.contains(&name.as_str()) {
                    found.push(format!("{}: {name}", file.display()));
                }
            }
        }
        found
    }

    #[test]
    fn layers_import_only_what_the_module_docs_allow() {
        let none = Vec::<String>::new();
        assert_eq!(
            violations("imap", &["message", "actions", "component"]),
            none
        );
        assert_eq!(
            violations("message", &["imap", "actions", "component"]),
            none
        );
        assert_eq!(violations("actions", &["component"]), none);
        let above_error = ["imap", "message", "actions", "component"];
        assert_eq!(violations("error.rs", &above_error), none);
    }

    #[test]
    fn every_way_of_naming_a_module_is_seen() {
        let named = |code: &str, depth| roots_named(code, depth);
        assert_eq!(named("use crate::actions::rows;", 2), ["actions"]);
        assert_eq!(
            named(
                "use crate::{\n    error::Result,\n    message::{elision, parsers},\n};",
                2
            ),
            ["error", "message"]
        );
        assert_eq!(
            named("let p = crate :: imap :: utf7::encode(x);", 2),
            ["imap"]
        );
        assert_eq!(named("use super::super::actions;", 2), ["super"]);
        assert_eq!(named("use super::Session;", 3), Vec::<String>::new());
        assert_eq!(
            named("mod tests {\n    use super::*;\n}", 1),
            Vec::<String>::new()
        );
        assert_eq!(named("use super::actions;", 1), ["super"]);
        assert_eq!(named("// use crate::actions;", 2), Vec::<String>::new());
        // And on the sources: `actions` does import `message`.
        assert!(!violations("actions", &["message"]).is_empty());
    }
}
