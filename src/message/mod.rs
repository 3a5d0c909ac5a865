//! The message layer: one RFC 5322 message and its MIME parts, as bytes
//! that arrived, without IMAP.
//!
//! [`parsers`] are mail-parser as cfimap configures it, [`elision`] parses a
//! large message without reading its every byte, [`spill`] takes one apart
//! as it arrives (its long base64 runs decoded into files),
//! [`transfer_encoding`], [`encoded_words`] and [`parameters`] undo what
//! MIME encodes, and [`attachments`] names parts and writes them through
//! the host's sink.
//! This layer imports neither [`crate::imap`] nor [`crate::actions`].

pub mod attachments;
pub mod elision;
pub mod encoded_words;
pub mod parameters;
pub mod parsers;
pub mod spill;
pub mod transfer_encoding;
