//! The cfimap guest: ColdFusion's `<cfimap>` actions spoken as IMAP inside a
//! WebAssembly component.
//!
//! The modules follow the protocol's flow: [`transport`] moves bytes over the
//! host's connection (the imported `transport` byte pipe), [`responses`]
//! decodes what the server sends (with [`esearch`] for the one answer
//! imap-codec lacks), [`session`] runs commands and logs in,
//! [`folders`] and the other action modules turn the tag's attributes into
//! commands ([`search`] turns `<cfimapfilter>`s into search keys),
//! [`attachments`] writes files through the host's imported sink,
//! and [`component`] maps the results onto the WIT face. The component
//! touches no file, socket, clock or environment of its own.

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

pub mod attachments;
pub mod changes;
pub mod component;
pub mod elision;
pub mod encoded_words;
pub mod error;
pub mod esearch;
pub mod fetch;
pub mod folders;
pub mod mailbox;
pub mod parameters;
pub mod responses;
pub mod rows;
pub mod search;
pub mod selection;
pub mod session;
pub mod tag_json;
pub mod transfer_encoding;
pub mod transport;
pub mod utf7;

// The exports exist in the component only. A native build (unit tests, the
// fuzz targets in fuzz/) has no use for them, and its cdylib cannot carry
// them: the linker's version script refuses their names
// (`cfimap:imap/...#[method]...`).
#[cfg(target_arch = "wasm32")]
use component::Component;
#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);
