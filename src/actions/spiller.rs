//! The large messages of a getAll that saves attachments, taken apart as
//! they arrive ([`crate::message::spill`]) rather than held whole: the
//! receive buffer hands each large `BODY[]` literal of a FETCH to a
//! [`Spiller`], which keeps its skeleton for the response and its holes for
//! the row ([`crate::actions::rows::build`]).

use crate::error::Result;
use crate::imap::responses::LiteralSink;
use crate::message::attachments::Provisional;
use crate::message::spill::{Spill, Spilled};

/// The smallest literal taken apart as it arrives: below it, holding the
/// message costs less than files started before their parts are known.
pub const SPILL_AT: usize = 1024 * 1024;

/// The [`LiteralSink`] of a read that saves attachments into `dir`.
pub struct Spiller {
    dir: String,
    /// The literal arriving.
    arriving: Option<Spill<Provisional>>,
    /// The last literal taken, until its message's row takes it.
    taken: Option<Spilled<Provisional>>,
}

impl Spiller {
    /// A spiller starting its files in `dir` (`attachmentpath`).
    pub fn new(dir: String) -> Self {
        Self {
            dir,
            arriving: None,
            taken: None,
        }
    }

    /// The holes of the literal taken last, if `body` (the `BODY[]` of the
    /// FETCH response just read) is its skeleton. Each FETCH response asks,
    /// so that what one took never passes to another; what no response
    /// claims is dropped with its files.
    pub fn claim(&mut self, body: &[u8]) -> Option<Spilled<Provisional>> {
        self.taken.take().filter(|s| s.is_skeleton(body))
    }
}

impl LiteralSink for Spiller {
    fn wants(&mut self, message: &[u8], length: usize) -> bool {
        // A literal refused leaves what was taken alone: it may be another
        // item of the FETCH whose body was taken.
        if length < SPILL_AT || !is_fetch_body(message) {
            return false;
        }
        self.taken = None;
        self.arriving = Some(Spill::new(Provisional::new(self.dir.clone())));
        true
    }

    fn take(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(spill) = &mut self.arriving {
            spill.push(bytes);
        }
        Ok(())
    }

    fn end(&mut self) -> Result<Vec<u8>> {
        let Some(spill) = self.arriving.take() else {
            return Ok(Vec::new());
        };
        let (skeleton, spilled) = spill.finish();
        self.taken = Some(spilled);
        Ok(skeleton)
    }
}

/// Whether `message` is an untagged FETCH whose last item so far is
/// `BODY[]` announcing a literal: the whole message, as getAll asks for it.
fn is_fetch_body(message: &[u8]) -> bool {
    // The announcing line: after the line end before its own.
    let line_start = message[..message.len().saturating_sub(1)]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |at| at + 1);
    let line = &message[line_start..];
    let announced = line
        .iter()
        .rposition(|&b| b == b'{')
        .map(|open| &line[..open]);
    message.starts_with(b"* ")
        && memchr::memmem::find(&message[..message.len().min(64)], b" FETCH (").is_some()
        && announced.is_some_and(|before| before.ends_with(b"BODY[] "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fetch_body_literal_is_taken() {
        assert!(is_fetch_body(b"* 12 FETCH (UID 7 BODY[] {2000000}\r\n"));
        assert!(is_fetch_body(b"* 12 FETCH (UID 7 BODY[] {2000000+}\r\n"));
        assert!(is_fetch_body(
            b"* 1 FETCH (BODY[HEADER] {3}\r\nabc BODY[] {2000000}\r\n"
        ));
        assert!(!is_fetch_body(
            b"* 12 FETCH (UID 7 BODY[HEADER] {2000000}\r\n"
        ));
        assert!(!is_fetch_body(b"* 12 FETCH (UID 7 BODY[1] {2000000}\r\n"));
        assert!(!is_fetch_body(b"* LIST () \"/\" {2000000}\r\n"));
        assert!(!is_fetch_body(b"C3 OK BODY[] {2000000}\r\n"));
    }
}
