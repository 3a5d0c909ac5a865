//! Decoding what the server sends, one whole message at a time.
//!
//! A message is a line, or a line announcing a literal (`{n}` at its end),
//! the literal's `n` bytes and the rest, up to the final line end (RFC 3501
//! §4.3; RFC 7888 `{n+}` too). [`frame`] finds where the next message ends
//! by looking only at line ends and literal lengths, so a message is handed
//! to imap-codec's decoder once, complete, and never re-decoded as it grows.
//!
//! This framing is what imap-codec's `Fragmentizer` does; it is done here on
//! a plain buffer because the `Fragmentizer` moves every byte through a
//! queue one at a time, which took a fifth of getAll's time, and grows its
//! buffer by doubling where a literal's announced length lets the buffer be
//! sized once. A caller takes each message owned ([`Decoder::response`]) or
//! borrowed from the buffer ([`Decoder::with_response`]), which is how whole
//! messages are read without a copy. A message over the limit is refused
//! before it is buffered.
//!
//! A large literal is taken out before decoding and put back after it
//! ([`Lifted`]): imap-types checks every literal byte for NUL one at a time,
//! a sixth of getAll's instructions, where memchr checks 16 at a time.

use std::cell::RefCell;
use std::ops::Range;

use imap_codec::decode::Decoder as _;
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::core::{IString, Literal, NString, Vec1};
use imap_codec::imap_types::fetch::MessageDataItem;
use imap_codec::imap_types::response::{Code, Data, Greeting, Response, Status};
use imap_codec::imap_types::utils::escape_byte_string;
use imap_codec::{GreetingCodec, ResponseCodec};

use crate::error::{Error, Result};
use crate::imap::esearch;
use crate::imap::transport::{Link, READ_CHUNK};

/// How much of a malformed message an error quotes.
const QUOTE_LIMIT: usize = 120;

/// The smallest literal worth taking out before decoding (see [`Lifted`]):
/// a header block of a few hundred bytes already costs more to check a
/// byte at a time than to lift.
pub const LIFT_AT_LEAST: usize = 512;

/// The largest stand-in buffer of [`Lifted`] that is reused: one FETCH
/// without its literal is a few hundred bytes. A larger one (a message with
/// several big literals) is kept only until the next lift, then dropped.
const SCRATCH_KEEP: usize = 64 * 1024;

/// Where the bytes of a large literal go as they arrive, instead of the
/// receive buffer: a getAll that saves attachments takes a large message
/// apart as it comes (`message::spill`), rather than holding it whole.
pub trait LiteralSink {
    /// Whether to take the literal of `length` bytes that `message`, the
    /// message up to the literal (its announcement last), announces. A sink
    /// that says yes gets [`LiteralSink::take`] for each piece of it, then
    /// [`LiteralSink::end`].
    fn wants(&mut self, message: &[u8], length: usize) -> bool;
    /// The literal's next bytes.
    fn take(&mut self, bytes: &[u8]) -> Result<()>;
    /// The literal is complete: the bytes that stand in for it in the
    /// message, announced with their own length.
    fn end(&mut self) -> Result<Vec<u8>>;
}

/// Incremental decoder of server messages.
pub struct Decoder {
    /// Received bytes; `buffer[start..]` is not yet decoded.
    buffer: Vec<u8>,
    start: usize,
    limits: Limits,
    /// How far framing got in the message at `start`.
    scan: Scan,
    /// UIDs of the ESEARCH answers since the last tagged completion: their
    /// sets are expanded, so their sum is capped like each of them.
    searched: usize,
    /// The message with its largest literal lifted out ([`decode`]).
    scratch: Vec<u8>,
}

/// The most a server may send, checked as bytes arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// One whole message: its lines and its literals, those a
    /// [`LiteralSink`] took as they arrived included.
    pub message: usize,
    /// One line of a message, outside literals. A line has no length field,
    /// so without this a server could send one that never ends.
    pub line: usize,
}

/// Where the message that begins a buffer ends.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// The message is the first `n` bytes.
    Complete(usize),
    /// More bytes are needed: at least this many in all.
    Incomplete(usize),
    /// The message would be longer than [`Limits::message`].
    TooLong,
    /// A line would be longer than [`Limits::line`].
    LineTooLong,
}

/// How far framing got in an incomplete message, so that the next call
/// resumes there: every byte is searched for a line end once, and framing
/// costs time linear in what the server sends, however it is split into
/// reads.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Where the line being read begins (past the literals before it).
    line: usize,
    /// How far that line was searched for its end.
    searched: usize,
    /// Where the literal that ends at `line` begins, while its bytes are
    /// still arriving.
    literal: usize,
    /// Bytes of the message that a [`LiteralSink`] took and the buffer
    /// never held (what its literals were longer than their stand-ins):
    /// they count against the message limit all the same.
    spilled: usize,
}

impl Scan {
    /// Finds where the message at the start of `bytes` ends, resuming where
    /// the last call on these bytes (grown since) stopped. A complete or
    /// refused message resets the scan for the next one.
    pub fn frame(&mut self, bytes: &[u8], limits: Limits) -> Frame {
        let result = self.resume(bytes, limits);
        if !matches!(result, Frame::Incomplete(_)) {
            *self = Scan::default();
        }
        result
    }

    /// The literal whose bytes are arriving, given that `have` bytes of the
    /// message are in: where it begins and ends in the message.
    fn literal(&self, have: usize) -> Option<Range<usize>> {
        (have < self.line && self.literal > 0).then_some(self.literal..self.line)
    }

    /// This scan once a literal, taken by a sink, stands in the buffer up
    /// to `end`, `spilled` bytes shorter than it was.
    fn past_literal(self, end: usize, spilled: usize) -> Self {
        Self {
            line: end,
            searched: end,
            literal: 0,
            spilled: self.spilled.saturating_add(spilled),
        }
    }

    fn resume(&mut self, bytes: &[u8], limits: Limits) -> Frame {
        let limits = Limits {
            message: limits.message.saturating_sub(self.spilled),
            ..limits
        };
        let (mut at, mut from) = (self.line, self.searched.max(self.line));
        if bytes.len() < at {
            // Still inside a literal.
            return Frame::Incomplete(at);
        }
        loop {
            let Some(newline) = memchr::memchr(b'\n', bytes.get(from..).unwrap_or_default()) else {
                if bytes.len().saturating_sub(at) > limits.line {
                    return Frame::LineTooLong;
                }
                if bytes.len() > limits.message {
                    return Frame::TooLong;
                }
                (self.line, self.searched) = (at, bytes.len());
                return Frame::Incomplete(bytes.len() + 1);
            };
            let line_end = from + newline + 1;
            if line_end - at > limits.line {
                return Frame::LineTooLong;
            }
            if line_end > limits.message {
                return Frame::TooLong;
            }
            let Some(length) = literal_length(&bytes[at..line_end]) else {
                return Frame::Complete(line_end);
            };
            at = match line_end.checked_add(length) {
                Some(next) if next <= limits.message => next,
                _ => return Frame::TooLong,
            };
            from = at;
            if bytes.len() < at {
                (self.line, self.searched, self.literal) = (at, at, line_end);
                return Frame::Incomplete(at);
            }
        }
    }
}

/// Finds where the message at the start of `bytes` ends, given that it (and
/// each of its lines) may be at most `limit` bytes long; a fresh [`Scan`].
pub fn frame(bytes: &[u8], limit: usize) -> Frame {
    Scan::default().frame(
        bytes,
        Limits {
            message: limit,
            line: limit,
        },
    )
}

/// The length announced by a line ending in `{n}` or `{n+}` (and CRLF, or a
/// bare LF), if it does.
fn literal_length(line: &[u8]) -> Option<usize> {
    announcement(line).map(|(_, length)| length)
}

/// Where a line's literal announcement (`{n}`, `{n+}`) begins, and `n`.
fn announcement(line: &[u8]) -> Option<(usize, usize)> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((open, std::str::from_utf8(digits).ok()?.parse().ok()?))
}

/// The largest literal of a whole message, when it is large enough to be
/// worth taking out of the message before decoding.
///
/// imap-codec checks that a literal holds no NUL (RFC 3501 §4.3) one byte at
/// a time. For a large FETCH body the message is decoded with the literal
/// announced as `{0}` instead, the body is checked with memchr, and put back
/// as the one empty `BODY[...]` literal of the FETCH. Anything that does not
/// fit that shape is decoded whole, as it came.
#[derive(Debug, PartialEq, Eq)]
struct Lifted {
    /// Where the `{n}` announcing it begins.
    brace: usize,
    /// The literal's bytes.
    data: Range<usize>,
}

impl Lifted {
    /// The largest literal of `message` (complete, as framed), if it is at
    /// least [`LIFT_AT_LEAST`] bytes.
    fn find(message: &[u8]) -> Option<Self> {
        let mut largest: Option<Self> = None;
        let mut at = 0;
        while let Some(newline) = memchr::memchr(b'\n', &message[at..]) {
            let line_end = at + newline + 1;
            let Some((open, length)) = announcement(&message[at..line_end]) else {
                break;
            };
            let data = line_end..line_end.checked_add(length)?;
            // An empty literal of the server's own would be taken for the
            // lifted one's place; and the message must be whole.
            if length == 0 || data.end > message.len() {
                return None;
            }
            if length >= LIFT_AT_LEAST && largest.as_ref().is_none_or(|l| l.data.len() < length) {
                largest = Some(Self {
                    brace: at + open,
                    data: data.clone(),
                });
            }
            at = data.end;
        }
        largest
    }

    /// `message` decoded with this literal put back; `None` when it does
    /// not decode that way or holds a NUL (then the whole message is
    /// decoded as it came, and refused by imap-codec if it must be).
    /// The rest of the message is decoded from `scratch`, which the
    /// response borrows, as it borrows the literal from `message`.
    fn decode<'a>(self, message: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<Response<'a>> {
        let data = &message[self.data.clone()];
        if memchr::memchr(0, data).is_some() {
            return None;
        }
        // `{0+}` for `{n+}`: imap-codec records the form (its literal
        // mode), and the answer must not depend on whether a literal was
        // lifted.
        let announced = &message[self.brace..self.data.start];
        let stand_in: &[u8] = if announced.contains(&b'+') {
            b"{0+}\r\n"
        } else {
            b"{0}\r\n"
        };
        if scratch.capacity() > SCRATCH_KEEP {
            *scratch = Vec::new();
        }
        scratch.clear();
        scratch.extend_from_slice(&message[..self.brace]);
        scratch.extend_from_slice(stand_in);
        scratch.extend_from_slice(&message[self.data.end..]);
        let stand_in: &'a [u8] = scratch;
        let response = match ResponseCodec::default().decode(stand_in) {
            Ok(([], response)) => response,
            _ => return None,
        };
        let Response::Data(Data::Fetch { seq, items }) = response else {
            return None;
        };
        let mut items = items.into_inner();
        {
            let mut empty = items.iter_mut().filter_map(|item| match item {
                MessageDataItem::BodyExt {
                    data: NString(Some(IString::Literal(literal))),
                    ..
                } if literal.data().is_empty() => Some(literal),
                _ => None,
            });
            let (Some(slot), None) = (empty.next(), empty.next()) else {
                return None;
            };
            // Checked above: the data holds no NUL, all a literal may not.
            let mode = slot.mode();
            *slot = Literal::unvalidated(data);
            slot.set_mode(mode);
        }
        Some(Response::Data(Data::Fetch {
            seq,
            items: Vec1::unvalidated(items),
        }))
    }
}

impl Decoder {
    /// A decoder refusing messages and lines over `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            buffer: Vec::new(),
            start: 0,
            limits,
            scan: Scan::default(),
            searched: 0,
            scratch: Vec::new(),
        }
    }

    /// Whether bytes have arrived that no message has used yet.
    pub fn has_unread_bytes(&self) -> bool {
        self.start < self.buffer.len()
    }

    /// Reads the server's greeting.
    ///
    /// A TLS record where the greeting belongs (content type 21 or 22,
    /// version 3.x) means the port speaks implicit TLS: said at once rather
    /// than after waiting for a line end that will never come. A wait that
    /// times out says it was for the greeting, the usual sign of the same
    /// mistake with a server that waits for the client to speak TLS first.
    pub fn greeting(&mut self, link: &mut Link) -> Result<Greeting<'static>> {
        if !self.has_unread_bytes() {
            let bytes = link.read_some().map_err(waiting_for_greeting)?;
            self.buffer.extend_from_slice(&bytes);
        }
        if let [21 | 22, 3, ..] = &self.buffer[self.start..] {
            return Err(Error::ProtocolViolation(
                "the server answered with a TLS record instead of an IMAP greeting: this \
                 port expects implicit TLS (secure=yes)"
                    .into(),
            ));
        }
        let end = self.fill(link, None).map_err(waiting_for_greeting)?;
        let bytes = &self.buffer[self.start..end];
        let decoded = match GreetingCodec::default().decode(bytes) {
            Ok(([], greeting)) => Ok(greeting.into_static()),
            _ => Err(malformed(bytes)),
        };
        self.start = end;
        decoded
    }

    /// Reads the next response (data, status or continuation request).
    pub fn response(&mut self, link: &mut Link) -> Result<Response<'static>> {
        self.with_response(link, |r| r.into_static())
    }

    /// Reads the next response and hands it to `f` borrowed from the
    /// receive buffer, returning what `f` returns. The borrow ends with `f`:
    /// nothing of the response outlives it unless `f` copies it.
    pub fn with_response<R>(
        &mut self,
        link: &mut Link,
        f: impl FnOnce(Response<'_>) -> R,
    ) -> Result<R> {
        self.with_response_spilling(link, None, f)
    }

    /// [`Decoder::with_response`], offering each large literal still
    /// arriving to `sink` (borrowed only while the message is read, not
    /// while `f` runs).
    pub fn with_response_spilling<R>(
        &mut self,
        link: &mut Link,
        sink: Option<&RefCell<dyn LiteralSink>>,
        f: impl FnOnce(Response<'_>) -> R,
    ) -> Result<R> {
        let end = self.fill(link, sink)?;
        let message = &self.buffer[self.start..end];
        let decoded = decode(message, &mut self.scratch).and_then(|response| {
            match &response {
                Response::Data(Data::Search(uids)) if esearch::is_esearch(message) => {
                    self.searched = self.searched.saturating_add(uids.len());
                    if self.searched > esearch::MAX_UIDS {
                        return Err(Error::ProtocolViolation(format!(
                            "the ESEARCH answers to one command list more than {} UIDs",
                            esearch::MAX_UIDS
                        )));
                    }
                }
                Response::Status(Status::Tagged(_)) => self.searched = 0,
                _ => {}
            }
            Ok(f(response))
        });
        self.start = end;
        decoded
    }

    /// Reads until one whole message is buffered; returns where it ends.
    fn fill(&mut self, link: &mut Link, sink: Option<&RefCell<dyn LiteralSink>>) -> Result<usize> {
        loop {
            match self.scan.frame(&self.buffer[self.start..], self.limits) {
                Frame::Complete(length) => return Ok(self.start + length),
                Frame::TooLong => {
                    return Err(Error::ProtocolViolation(format!(
                        "a response exceeds the limit of {} for one response",
                        size(self.limits.message)
                    )));
                }
                Frame::LineTooLong => {
                    return Err(Error::ProtocolViolation(format!(
                        "a response line exceeds the limit of {} for one line without \
                         ending (the server sent no line end)",
                        size(self.limits.line)
                    )));
                }
                Frame::Incomplete(needed) => {
                    self.compact();
                    if let (Some(sink), Some(literal)) =
                        (sink, self.scan.literal(self.buffer.len()))
                    {
                        let mut sink = sink.borrow_mut();
                        if sink.wants(&self.buffer[..literal.start], literal.len()) {
                            self.spill(link, &mut *sink, literal)?;
                            continue;
                        }
                    }
                    self.make_room(needed);
                    let bytes = link.read_some()?;
                    self.buffer.extend_from_slice(&bytes);
                }
            }
        }
    }

    /// Hands the literal at `literal` (in the message at the buffer's
    /// start, its first bytes in) to `sink` as it arrives, and puts what
    /// the sink gives back in its place, announced with its length. The
    /// bytes after the literal stay in the buffer, and framing goes on past
    /// the stand-in.
    fn spill(
        &mut self,
        link: &mut Link,
        sink: &mut dyn LiteralSink,
        literal: Range<usize>,
    ) -> Result<()> {
        let arrived = self.buffer.split_off(literal.start);
        let mut left = literal.len() - arrived.len();
        sink.take(&arrived)?;
        let mut after = Vec::new();
        while left > 0 {
            let bytes = link.read_some()?;
            let n = bytes.len().min(left);
            sink.take(&bytes[..n])?;
            left -= n;
            after.extend_from_slice(&bytes[n..]);
        }
        let stand_in = sink.end()?;
        // `{n}` or `{n+}` before the line end: the form stays, the length is
        // the stand-in's.
        let head = &self.buffer[..literal.start];
        let (Some(close), Some(open)) = (
            head.iter().rposition(|&b| b == b'}'),
            head.iter().rposition(|&b| b == b'{'),
        ) else {
            return Err(Error::ProtocolViolation(
                "a literal without its announcement".into(),
            ));
        };
        let plus = match close.checked_sub(1).and_then(|at| head.get(at)) {
            Some(b'+') => "+",
            _ => "",
        };
        let announced = format!("{{{}{plus}}}", stand_in.len());
        self.buffer.splice(open..=close, announced.bytes());
        let start = self.buffer.len();
        self.buffer.extend_from_slice(&stand_in);
        self.buffer.extend_from_slice(&after);
        let shorter = literal.len().saturating_sub(stand_in.len());
        self.scan = self.scan.past_literal(start + stand_in.len(), shorter);
        Ok(())
    }

    /// Room for the next read, given that the message needs `needed` bytes.
    /// A literal's length is known: room for all of it is made once,
    /// exactly, with two more reads to spare. Letting the Vec double when the
    /// read after the literal overflowed it held twice the largest message
    /// (31 MB for a 15 MB one). A line of unknown length grows as Vecs do.
    fn make_room(&mut self, needed: usize) {
        let len = self.buffer.len();
        if needed > len + 1 {
            // Two reads to spare: the one that ends the literal may stop
            // short of the line after it, and the next must fit too.
            let wanted = needed.saturating_add(2 * READ_CHUNK);
            if wanted > self.buffer.capacity() {
                self.buffer.reserve_exact(wanted - len);
            }
        } else {
            self.buffer.reserve(READ_CHUNK);
        }
    }

    /// Drops the bytes of messages already decoded.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
    }
}

/// Decodes one whole message, as [`Scan::frame`] found it: a large FETCH
/// literal is lifted out first ([`Lifted`]), anything else is decoded as it
/// came. The result is imap-codec's for the whole message, only faster; the
/// fuzz target `responses` (fuzz/) holds the two paths to that. An ESEARCH
/// answer, which imap-codec does not know, is decoded by [`esearch`].
/// `scratch` is a buffer to reuse for the lifted form.
pub fn decode<'a>(message: &'a [u8], scratch: &'a mut Vec<u8>) -> Result<Response<'a>> {
    if esearch::is_esearch(message) {
        return esearch::decode(message);
    }
    match Lifted::find(message).and_then(|lifted| lifted.decode(message, scratch)) {
        Some(response) => Ok(response),
        None => match ResponseCodec::default().decode(message) {
            Ok(([], response)) => Ok(response),
            _ => Err(malformed(message)),
        },
    }
}

/// A byte count for a person: `16 MiB`, `900 bytes`.
fn size(bytes: usize) -> String {
    const MIB: usize = 1 << 20;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The error for a message that did not decode.
fn malformed(bytes: &[u8]) -> Error {
    Error::ProtocolViolation(format!("malformed response: {}", quote(bytes)))
}

/// A short, escaped quotation of server bytes for an error message.
pub fn quote(bytes: &[u8]) -> String {
    let cut = bytes.len().min(QUOTE_LIMIT);
    let mut quoted = escape_byte_string(&bytes[..cut]);
    if cut < bytes.len() {
        quoted.push('…');
    }
    format!("\"{quoted}\"")
}

/// The name of a response code as the server wrote it, e.g. `ALREADYEXISTS`.
pub fn code_name(code: &Code<'_>) -> String {
    let name = match code {
        Code::Alert => "ALERT",
        Code::BadCharset { .. } => "BADCHARSET",
        Code::Capability(_) => "CAPABILITY",
        Code::Parse => "PARSE",
        Code::PermanentFlags(_) => "PERMANENTFLAGS",
        Code::ReadOnly => "READ-ONLY",
        Code::ReadWrite => "READ-WRITE",
        Code::TryCreate => "TRYCREATE",
        Code::UidNext(_) => "UIDNEXT",
        Code::UidValidity(_) => "UIDVALIDITY",
        Code::Unseen(_) => "UNSEEN",
        Code::CompressionActive => "COMPRESSIONACTIVE",
        Code::OverQuota => "OVERQUOTA",
        Code::TooBig => "TOOBIG",
        Code::UnknownCte => "UNKNOWN-CTE",
        Code::AppendUid { .. } => "APPENDUID",
        Code::CopyUid { .. } => "COPYUID",
        Code::UidNotSticky => "UIDNOTSTICKY",
        Code::Other(other) => {
            let text = String::from_utf8_lossy(other.inner());
            return text
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
        }
        #[allow(unreachable_patterns)]
        _ => "OTHER",
    };
    name.to_owned()
}

/// A timeout while waiting for the greeting, saying so.
fn waiting_for_greeting(e: Error) -> Error {
    match e {
        Error::Timeout(s) => Error::Timeout(format!("{s} while waiting for the server's greeting")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_a_message() {
        assert_eq!(frame(b"* OK hi\r\n* 1 EXISTS\r\n", 100), Frame::Complete(9));
        assert_eq!(frame(b"* OK hi\n", 100), Frame::Complete(8), "bare LF");
        assert_eq!(frame(b"* OK h", 100), Frame::Incomplete(7));
        assert_eq!(frame(b"", 100), Frame::Incomplete(1));
    }

    #[test]
    fn literals_are_skipped_whole() {
        let m = b"* 1 FETCH (BODY[] {5}\r\nab\r\nc UID 1)\r\nC1 OK\r\n";
        assert_eq!(frame(m, 100), Frame::Complete(37));
        // A line end inside the literal does not end the message.
        assert_eq!(frame(&m[..25], 100), Frame::Incomplete(28));
        assert_eq!(frame(&m[..28], 100), Frame::Incomplete(29));
        let plus = b"* 1 FETCH (BODY[] {2+}\r\nxy)\r\n";
        assert_eq!(frame(plus, 100), Frame::Complete(plus.len()));
        let two = b"* 1 FETCH (A {1}\r\nx B {1}\r\ny)\r\n";
        assert_eq!(frame(two, 100), Frame::Complete(two.len()));
        let empty = b"* 1 FETCH (A {0}\r\n)\r\n";
        assert_eq!(frame(empty, 100), Frame::Complete(empty.len()));
    }

    #[test]
    fn only_a_brace_number_at_the_line_end_announces_a_literal() {
        for line in [
            &b"* OK {5} in the middle\r\n"[..],
            b"* OK {}\r\n",
            b"* OK {x}\r\n",
            b"* OK {12345678901}\r\n",
            b"* OK 5}\r\n",
        ] {
            assert_eq!(frame(line, 100), Frame::Complete(line.len()), "{line:?}");
        }
    }

    #[test]
    fn the_limit_is_checked_before_buffering() {
        assert_eq!(
            frame(b"* 1 FETCH (BODY[] {4000000000}\r\n", 1000),
            Frame::TooLong
        );
        assert_eq!(frame(b"* 1 FETCH (BODY[] {990}\r\n", 1000), Frame::TooLong);
        let limits = Limits {
            message: 1000,
            line: 2000,
        };
        assert_eq!(Scan::default().frame(&[b'x'; 1001], limits), Frame::TooLong);
        assert_eq!(
            frame(b"* 1 FETCH (BODY[] {900}\r\n", 1000),
            Frame::Incomplete(925)
        );
    }

    #[test]
    fn what_a_sink_took_counts_against_the_message_limit() {
        let limits = Limits {
            message: 1000,
            line: 1000,
        };
        // A literal of 900 taken by a sink, 50 bytes standing in for it: a
        // second literal of 100 ends the message past the limit.
        let first = b"* 1 FETCH (BODY[] {50}\r\n";
        let mut message = first.to_vec();
        message.extend_from_slice(&[b'a'; 50]);
        let end = message.len();
        message.extend_from_slice(b" BODY[1] {100}\r\n");
        let mut scan = Scan::default().past_literal(end, 850);
        assert_eq!(scan.frame(&message, limits), Frame::TooLong);
        // Within it, framing goes on past the stand-in.
        let mut scan = Scan::default().past_literal(end, 700);
        let at = message.len() + 100;
        assert_eq!(scan.frame(&message, limits), Frame::Incomplete(at));
        message.extend_from_slice(&[b'b'; 100]);
        message.extend_from_slice(b")\r\n");
        assert_eq!(scan.frame(&message, limits), Frame::Complete(message.len()));
        // A complete message leaves nothing of it to the next.
        assert_eq!(scan, Scan::default());
    }

    #[test]
    fn a_line_that_never_ends_is_refused_at_the_line_limit() {
        let limits = Limits {
            message: 1 << 20,
            line: 100,
        };
        let mut scan = Scan::default();
        assert_eq!(scan.frame(&[b'x'; 100], limits), Frame::Incomplete(101));
        assert_eq!(scan.frame(&[b'x'; 101], limits), Frame::LineTooLong);
        assert_eq!(scan, Scan::default(), "a refusal resets the scan");
        // A literal is not a line: only the lines around it count.
        let long_literal = [
            &b"* 1 FETCH (BODY[] {150}\r\n"[..],
            &[b'y'; 150],
            b" UID 1)\r\n",
        ]
        .concat();
        assert_eq!(
            Scan::default().frame(&long_literal, limits),
            Frame::Complete(long_literal.len())
        );
        let long_tail = [&long_literal[..long_literal.len() - 2], &[b'z'; 100]].concat();
        assert_eq!(
            Scan::default().frame(&long_tail, limits),
            Frame::LineTooLong
        );
    }

    #[test]
    fn framing_resumes_where_it_stopped() {
        // Fed a byte at a time, as a trickling server sends it: the search
        // only ever moves forward, so every byte is looked at once.
        let m = b"* 1 FETCH (BODY[] {5}\r\nab\r\nc UID 1)\r\nC1 OK\r\n";
        let limits = Limits {
            message: 100,
            line: 100,
        };
        let mut scan = Scan::default();
        let mut searched = 0;
        for n in 0..37 {
            let framed = scan.frame(&m[..n], limits);
            assert!(matches!(framed, Frame::Incomplete(_)), "{n}: {framed:?}");
            assert!(scan.searched >= searched, "{n}: the search went back");
            searched = scan.searched;
        }
        assert_eq!(scan.frame(&m[..37], limits), Frame::Complete(37));
        assert_eq!(scan, Scan::default(), "the next message starts afresh");
        assert_eq!(frame(&m[..25], 100), Frame::Incomplete(28));
    }

    #[test]
    fn room_for_a_literal_is_made_once_and_exactly() {
        let mut decoder = Decoder::new(Limits {
            message: usize::MAX,
            line: usize::MAX,
        });
        decoder
            .buffer
            .extend_from_slice(b"* 1 FETCH (BODY[] {20000000}\r\n");
        let Frame::Incomplete(needed) = frame(&decoder.buffer, usize::MAX) else {
            panic!("the literal is not here yet");
        };
        decoder.make_room(needed);
        let room = decoder.buffer.capacity();
        assert!((needed + 2 * READ_CHUNK..needed + 3 * READ_CHUNK).contains(&room));
        // Reads of the most a read gives, the last one past the literal.
        while decoder.buffer.len() < needed {
            decoder.make_room(needed);
            let len = decoder.buffer.len();
            decoder.buffer.resize(len + READ_CHUNK, b'x');
        }
        // The line after the literal is still incomplete: one more read.
        let len = decoder.buffer.len();
        decoder.make_room(len + 1);
        decoder.buffer.resize(len + READ_CHUNK, b'x');
        assert_eq!(decoder.buffer.capacity(), room, "the buffer grew again");
    }

    fn fetch_with(body: &[u8]) -> Vec<u8> {
        let mut message = format!("* 7 FETCH (UID 9 BODY[] {{{}}}\r\n", body.len()).into_bytes();
        message.extend_from_slice(body);
        message.extend_from_slice(b" FLAGS (\\Seen))\r\n");
        message
    }

    fn body_of(response: &Response<'_>) -> Vec<u8> {
        let Response::Data(Data::Fetch { items, .. }) = response else {
            panic!("not a FETCH: {response:?}");
        };
        items
            .as_ref()
            .iter()
            .find_map(|item| match item {
                MessageDataItem::BodyExt { data, .. } => Some(
                    data.0
                        .as_ref()
                        .map(|s| s.as_ref().to_vec())
                        .unwrap_or_default(),
                ),
                _ => None,
            })
            .expect("a BODY[] item")
    }

    #[test]
    fn a_large_literal_is_lifted_and_put_back() {
        let body: Vec<u8> = (0..LIFT_AT_LEAST + 3)
            .map(|i| b'a' + (i % 26) as u8)
            .collect();
        let message = fetch_with(&body);
        let lifted = Lifted::find(&message).expect("large enough to lift");
        assert_eq!(&message[lifted.brace..lifted.brace + 1], b"{");
        let mut scratch = Vec::new();
        let response = lifted
            .decode(&message, &mut scratch)
            .expect("decodes lifted");
        assert_eq!(body_of(&response), body);
        // The same as decoding it whole.
        let ([], whole) = ResponseCodec::default().decode(&message).unwrap() else {
            panic!("bytes left over");
        };
        assert_eq!(response, whole);
    }

    #[test]
    fn a_lifted_literal_keeps_its_announced_form() {
        // `{n+}` has no place in a server's reply, but imap-codec takes it
        // and records the form: lifting must not change the answer.
        let body = vec![b'q'; LIFT_AT_LEAST];
        let message = String::from_utf8(fetch_with(&body))
            .unwrap()
            .replacen("}\r\n", "+}\r\n", 1)
            .into_bytes();
        let lifted = Lifted::find(&message).expect("large enough to lift");
        let mut scratch = Vec::new();
        let response = lifted
            .decode(&message, &mut scratch)
            .expect("decodes lifted");
        let ([], whole) = ResponseCodec::default().decode(&message).unwrap() else {
            panic!("bytes left over");
        };
        assert_eq!(response, whole);
    }

    #[test]
    fn what_cannot_be_lifted_is_decoded_whole() {
        let small = fetch_with(b"short");
        assert_eq!(Lifted::find(&small), None, "small literals stay");
        let mut body = vec![b'x'; LIFT_AT_LEAST];
        body[100] = 0;
        let with_nul = fetch_with(&body);
        let lifted = Lifted::find(&with_nul).unwrap();
        assert!(
            lifted.decode(&with_nul, &mut Vec::new()).is_none(),
            "a NUL is imap-codec's to refuse"
        );
        // An empty literal of the server's own would make the place
        // ambiguous: a large literal elsewhere (here in the BODY structure)
        // must not land in it.
        let body = vec![b'x'; LIFT_AT_LEAST];
        let mut elsewhere = format!(
            "* 1 FETCH (BODY[HEADER] {{0}}\r\n BODY (\"text\" \"plain\" NIL NIL {{{}}}\r\n",
            body.len()
        )
        .into_bytes();
        elsewhere.extend_from_slice(&body);
        elsewhere.extend_from_slice(b" \"7bit\" 3 1))\r\n");
        assert_eq!(Lifted::find(&elsewhere), None);
        let ([], whole) = ResponseCodec::default().decode(&elsewhere).unwrap() else {
            panic!("bytes left over");
        };
        assert_eq!(body_of(&whole), b"", "BODY[HEADER] stays empty");
    }
}
