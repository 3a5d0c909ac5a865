//! Test harness for cfimap: everything the conformance tests need besides the product itself.
//!
//! - [`dovecot`]: a private Dovecot 2.3 on free loopback ports, one per [`dovecot::Flavor`]
//!   (shared per test binary), with generated certificates ([`certs`]) and pre-created users.
//! - [`target`]: where a test runs — the private Dovecot, or the server named by the
//!   `CFIMAP_TEST_*` environment variables — handing out an [`account::Account`] per test.
//! - [`refusals`]: what a server may lawfully refuse (`"` in folder names, 8-bit headers),
//!   probed so that a test needing it is skipped with the server's answer as the reason.
//! - [`imap`]: a tiny blocking IMAP client to seed mail and check the server's state
//!   independently of the product.
//! - [`fault`]: a scripted fault server replaying a transcript (quirky, broken or stalling
//!   servers) and recording every byte the client sent.
//! - [`cli`]: runs the `cfimap` binary with a timeout and captures its output; [`peak`]: its
//!   exact peak resident set, measured by a small waiter process.
//! - [`mail`]: builds small RFC 5322 messages for seeding; [`mutf7`]: modified UTF-7 mailbox
//!   names (RFC 3501 §5.1.3) for the raw client; [`ports`] and [`unique`]: small utilities.
//!
//! Library code returns `Result`s for anything a server controls. The few entry points that only
//! tests call and that nothing could recover from (`Dovecot::start`, `FaultServer::start`,
//! `cli::Invocation::run`, `target::account`) panic instead, with a message that says what to do
//! (install Dovecot, build the CLI, fix a `CFIMAP_TEST_*` variable).

#![warn(missing_docs)]

pub mod account;
pub mod certs;
pub mod cli;
pub mod dovecot;
pub mod fault;
pub mod imap;
pub mod mail;
pub mod mutf7;
pub mod peak;
pub mod ports;
pub mod refusals;
pub mod target;
pub mod unique;

pub use account::{Account, Secure};
pub use dovecot::{Dovecot, Flavor};
