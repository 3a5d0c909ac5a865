//! The cfimap guest: ColdFusion's `<cfimap>` actions spoken as IMAP inside a
//! WebAssembly component.
//!
//! The modules follow the protocol's flow: [`transport`] moves bytes over the
//! host's connection, [`responses`] decodes what the server sends,
//! [`session`] runs commands and logs in, [`folders`] and the other action
//! modules turn the tag's attributes into commands, and [`component`] maps
//! the results onto the WIT face.

#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "cfimap",
        pub_export_macro: true,
        with: {
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
        },
    });
}

pub mod attachments;
pub mod changes;
pub mod component;
pub mod error;
pub mod fetch;
pub mod folders;
pub mod mailbox;
pub mod responses;
pub mod rows;
pub mod selection;
pub mod session;
pub mod transfer_encoding;
pub mod transport;
pub mod utf7;

use component::Component;
bindings::export!(Component with_types_in bindings);
