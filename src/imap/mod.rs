//! The protocol layer: IMAP as bytes, responses and a logged-in session
//! (RFC 3501, RFC 9051 and the extensions cfimap uses).
//!
//! [`transport`] moves bytes over the host's connection, [`responses`]
//! decodes what the server sends (with [`esearch`] for the one answer
//! imap-codec lacks), [`session`] connects, secures, logs in and runs
//! commands, and [`mailbox`] with [`utf7`] turns folder names into the
//! server's mailbox names. Nothing here knows the tag's actions or what a
//! message holds: this layer imports neither [`crate::message`] nor
//! [`crate::actions`].

pub mod esearch;
pub mod mailbox;
pub mod responses;
pub mod session;
pub mod transport;
pub mod utf7;
