//! # cfimap-host
//!
//! ColdFusion's `<cfimap>` tag — full IMAP mailbox management — as a library.
//! The IMAP client itself is a WebAssembly component (embedded in this crate);
//! this crate runs it in wasmtime and gives it exactly two capabilities: TCP
//! and TLS connections to the servers a [`Policy`] allows, and attachment
//! files in the directories an [`AttachmentPolicy`] allows.
//!
//! The API is small:
//!
//! 1. make one [`Runtime`] per process from [`RuntimeOptions`] — it loads the
//!    component (compiled ahead of time by [`precompile_into`], or once and
//!    then cached on disk) and fixes the policy, the
//!    attachment directories, the trusted certificate authorities and the
//!    resource limits;
//! 2. [`Runtime::open`] a [`Session`] with [`ConnectOptions`] — this is the
//!    tag's `action="open"`: connect, secure, log in;
//! 3. call the tag's actions as methods of the session — `list_all_folders`,
//!    `create_folder`, `get_header_only`, `delete`, … — each returning the
//!    tag's columns as typed rows ([`FolderRow`], [`MessageRow`]) or a report
//!    of what changed ([`FolderChange`], [`ChangeReport`]);
//! 4. [`Session::close`] — LOGOUT.
//!
//! ```no_run
//! use cfimap_host::{
//!     ConnectOptions, Credentials, Policy, ReadOptions, Runtime, RuntimeOptions, Selection,
//! };
//!
//! # async fn demo() -> Result<(), cfimap_host::Error> {
//! let runtime = Runtime::new(RuntimeOptions::new(Policy::only("imap.example.com", 993)))?;
//! let mut session = runtime
//!     .open(&ConnectOptions::new(
//!         "imap.example.com",
//!         "alice",
//!         Credentials::Password(std::env::var("IMAP_PASSWORD").unwrap_or_default()),
//!     ))
//!     .await?;
//!
//! let unread_window = Selection::Rows(cfimap_host::RowWindow { startrow: 1, maxrows: Some(20) });
//! for row in session
//!     .get_header_only(Some("INBOX"), &unread_window, &ReadOptions::default())
//!     .await?
//! {
//!     println!("{:>6} {}", row.uid, row.subject.as_deref().unwrap_or("(no subject)"));
//! }
//! session.close().await?;
//! # Ok(()) }
//! ```
//!
//! The async methods need a Tokio runtime (current-thread is enough) with I/O
//! and time enabled.
//!
//! ## What the component can and cannot do
//!
//! It can connect only where the policy says ([`Error::DeniedByPolicy`]
//! otherwise); every TLS certificate is verified against the Mozilla roots and
//! the optional [`RuntimeOptions::extra_ca`]; every network wait is bounded by
//! the caller's `timeout`; memory is bounded by
//! [`RuntimeOptions::memory_limit`], and each call into the component by
//! [`RuntimeOptions::deadline`], computing or waiting (see [`deadline`] for
//! what that costs, and the [`Interruption`] that spares it to a program
//! that may end its own process). Attachments are written by this crate
//! into the directories [`RuntimeOptions::attachments`] allows, created
//! exclusively and never through a symbolic link. The component gets no
//! environment, no arguments, no files and no sockets of its own.
//!
//! Reads of any size go a batch at a time through a [`RowReader`]
//! ([`Session::begin_get_header_only`], [`Session::begin_get_all`]). A read
//! narrowed by `<cfimapfilter>`s is [`ReadOptions::filter`] ([`filters`]).

#![warn(missing_docs)]

pub mod attachments;
mod bindings;
pub mod component;
pub mod deadline;
mod error;
pub mod filters;
pub mod policy;
pub mod precompiled;
mod runtime;
mod session;
mod tls;
mod trace;
pub mod transport;

pub use attachments::AttachmentPolicy;
pub use component::CompileCache;
pub use deadline::Interruption;
pub use error::{CommandStatus, Error, ResponseCode};
pub use policy::Policy;
pub use precompiled::precompile_into;
pub use runtime::{Runtime, RuntimeOptions};
pub use session::{ConnectOptions, Credentials, RowReader, Session};

/// The component's record and variant types, as generated from the WIT
/// package `cfimap:imap` (interface `types`). They derive `serde::Serialize`
/// with the WIT field names (lower case, e.g. `fullname`).
pub use bindings::types::{
    ChangeReport, Criterion, Day, DayRange, Filter, FlagState, FolderChange, FolderRow,
    HeaderMatch, MessageRow, MovedUid, ReadOptions, RowWindow, Security, Selection, UidRange,
};

impl Default for ReadOptions {
    /// No attachment directory, no unique file names, stop on the first
    /// error (the tag's defaults), no filters, oldest first.
    fn default() -> Self {
        ReadOptions {
            attachmentpath: None,
            generateuniquefilenames: false,
            stoponerror: true,
            filters: Vec::new(),
            newest_first: false,
        }
    }
}
