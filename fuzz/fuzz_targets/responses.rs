//! Fuzz target `responses`: framing and decoding of what a server sends
//! (`cfimap::imap::responses`).
//!
//! The input is a 4-byte header and the bytes the server sends:
//!
//! - byte 0: the limit on one message, byte 1 the limit on one line (0: no
//!   limit; `n`: `n * n / 8 + 1` bytes, so small limits are common);
//! - bytes 2–3: how the bytes arrive (0: one byte per read; else reads of
//!   random sizes up to `2^(n % 13)` bytes, seeded with `n`).
//!
//! Checked, beyond "no panic":
//!
//! - framing, fed in the reads above exactly as `Decoder::fill` feeds it
//!   (one resumed [`Scan`] per message), gives the same messages and the
//!   same end as framing all the bytes at once with fresh scans; and every
//!   resumed call answers what a fresh scan of the same bytes answers;
//! - every frame is within the bytes given and the limits (the message's,
//!   and each of its lines' outside literals), ends with a line end, and an
//!   incomplete one asks for more than it has;
//! - without limits, the messages are those imap-codec's `Fragmentizer`
//!   finds (an independent implementation of the same framing);
//! - [`responses::decode`] (a large FETCH literal lifted out and put back)
//!   equals imap-codec decoding the whole message, for every message and
//!   for the message with its literals blown up past the lifting threshold
//!   (fuzz inputs are too small to reach it otherwise).

#![no_main]

use cfimap::imap::esearch;
use cfimap::imap::responses::{self, Frame, LIFT_AT_LEAST, Limits, Scan};
use imap_codec::ResponseCodec;
use imap_codec::decode::Decoder as _;
use imap_codec::fragmentizer::Fragmentizer;
use imap_codec::imap_types::response::{Data, Response, Status};
use libfuzzer_sys::fuzz_target;

/// Bytes of the input that steer the run rather than being sent.
const HEADER: usize = 4;

/// No limit at all, as far as fuzz inputs go.
const UNLIMITED: Limits = Limits {
    message: usize::MAX,
    line: usize::MAX,
};

/// How framing a byte stream ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The bytes ran out inside a message (or right after one).
    Incomplete,
    /// A message or line was over its limit.
    Refused,
}

/// The messages found, by length, and how the stream ended.
#[derive(Debug, PartialEq, Eq)]
struct Framing {
    /// The length of each whole message, in order.
    messages: Vec<usize>,
    /// What came after the last whole message.
    end: End,
}

fuzz_target!(|input: &[u8]| {
    let (header, data) = input.split_at(input.len().min(HEADER));
    let header: [u8; HEADER] = std::array::from_fn(|i| header.get(i).copied().unwrap_or(0));
    let limits = Limits {
        message: limit(header[0]),
        line: limit(header[1]),
    };
    let reads = u16::from_le_bytes([header[2], header[3]]);

    let whole = frame_whole(data, limits);
    let chunked = frame_chunked(data, limits, reads);
    assert_eq!(whole, chunked, "framing depends on how the bytes arrive");

    if !has_long_announcement(data) {
        let unlimited = frame_whole(data, UNLIMITED);
        assert_eq!(
            unlimited.messages,
            fragmentizer(data),
            "framing differs from imap-codec's Fragmentizer"
        );
    }

    let mut at = 0;
    for &length in &whole.messages {
        let message = &data[at..at + length];
        at += length;
        check_decoding(message);
        let _ = responses::quote(message);
        if let Some(big) = amplified(message) {
            assert_eq!(
                Scan::default().frame(&big, UNLIMITED),
                Frame::Complete(big.len()),
                "a message with padded literals is no longer one message"
            );
            check_decoding(&big);
        }
    }
});

/// A limit from one header byte (see the module documentation).
fn limit(byte: u8) -> usize {
    match byte {
        0 => usize::MAX,
        n => usize::from(n) * usize::from(n) / 8 + 1,
    }
}

/// Frames `data` with all of it at hand: a fresh scan per message.
fn frame_whole(data: &[u8], limits: Limits) -> Framing {
    let mut messages = Vec::new();
    let mut start = 0;
    loop {
        let rest = &data[start..];
        let framed = Scan::default().frame(rest, limits);
        check_frame(rest, limits, &framed);
        match framed {
            Frame::Complete(length) => {
                messages.push(length);
                start += length;
            }
            Frame::Incomplete(_) => {
                return Framing {
                    messages,
                    end: End::Incomplete,
                };
            }
            Frame::TooLong | Frame::LineTooLong => {
                return Framing {
                    messages,
                    end: End::Refused,
                };
            }
        }
    }
}

/// Frames `data` as it arrives in reads (see the module documentation),
/// resuming one scan per message as `Decoder::fill` does, with the buffer
/// compacted before each read as there.
fn frame_chunked(data: &[u8], limits: Limits, reads: u16) -> Framing {
    let mut sizes = ReadSizes::new(reads);
    let mut buffer: Vec<u8> = Vec::new();
    let mut start = 0;
    let mut fed = 0;
    let mut scan = Scan::default();
    let mut messages = Vec::new();
    loop {
        let rest = &buffer[start..];
        let framed = scan.frame(rest, limits);
        assert_eq!(
            framed,
            Scan::default().frame(rest, limits),
            "a resumed scan answers otherwise than a fresh one"
        );
        check_frame(rest, limits, &framed);
        match framed {
            Frame::Complete(length) => {
                messages.push(length);
                start += length;
            }
            Frame::Incomplete(_) if fed == data.len() => {
                return Framing {
                    messages,
                    end: End::Incomplete,
                };
            }
            Frame::Incomplete(_) => {
                buffer.drain(..start);
                start = 0;
                let read = sizes.next().min(data.len() - fed);
                buffer.extend_from_slice(&data[fed..fed + read]);
                fed += read;
            }
            Frame::TooLong | Frame::LineTooLong => {
                return Framing {
                    messages,
                    end: End::Refused,
                };
            }
        }
    }
}

/// What any answer of the scanner on `bytes` must satisfy.
fn check_frame(bytes: &[u8], limits: Limits, framed: &Frame) {
    match *framed {
        Frame::Complete(length) => {
            assert!(length > 0, "an empty message");
            assert!(length <= bytes.len(), "a message beyond the bytes given");
            assert!(length <= limits.message, "a message over the limit");
            assert_eq!(bytes[length - 1], b'\n', "a message not ending a line");
            for line in lines(&bytes[..length]) {
                assert!(line <= limits.line, "a line over the limit");
            }
        }
        Frame::Incomplete(needed) => {
            assert!(needed > bytes.len(), "incomplete, yet all it needs is here");
        }
        Frame::TooLong | Frame::LineTooLong => {}
    }
}

/// The lengths of the lines of a whole message, its literals left out.
fn lines(message: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(newline) = message[at..].iter().position(|&b| b == b'\n') {
        let line_end = at + newline + 1;
        out.push(line_end - at);
        let literal = announcement(&message[at..line_end]).map_or(0, |(_, length, _)| length);
        at = line_end + literal;
        if at >= message.len() {
            break;
        }
    }
    out
}

/// Sizes of successive reads: one byte each, or random up to a power of two.
struct ReadSizes {
    state: u32,
    most: usize,
}

impl ReadSizes {
    fn new(seed: u16) -> Self {
        Self {
            state: u32::from(seed) | 0x1_0000,
            most: if seed == 0 { 1 } else { 1 << (seed % 13) },
        }
    }

    fn next(&mut self) -> usize {
        // xorshift32: any fixed sequence will do, as long as the seed
        // picks it.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        1 + self.state as usize % self.most
    }
}

/// The messages imap-codec's `Fragmentizer` finds in `data`, by length.
fn fragmentizer(data: &[u8]) -> Vec<usize> {
    let mut fragmentizer = Fragmentizer::without_max_message_size();
    fragmentizer.enqueue_bytes(data);
    let mut messages = Vec::new();
    while fragmentizer.progress().is_some() {
        if fragmentizer.is_message_complete() {
            messages.push(fragmentizer.message_bytes().len());
        }
    }
    messages
}

/// Whether `data` holds `{` and ten digits or more: the one place the
/// guest's framing and the `Fragmentizer` knowingly differ. The guest takes
/// at most ten digits as a literal's length (a longer number is no
/// announcement), the `Fragmentizer` any number of digits up to `u32::MAX`
/// (`{00000000001}` is a literal there, `{4294967296}` is not).
fn has_long_announcement(data: &[u8]) -> bool {
    data.windows(11)
        .any(|w| w[0] == b'{' && w[1..].iter().all(u8::is_ascii_digit))
}

/// [`responses::decode`] against imap-codec's decoding of the whole
/// message: the same response, or both refuse it.
fn check_decoding(message: &[u8]) {
    if esearch::is_esearch(message) {
        // imap-codec does not know ESEARCH (RFC 4731): no decoder to compare
        // with, only what the answer must be.
        let mut scratch = Vec::new();
        if let Ok(response) = responses::decode(message, &mut scratch) {
            let Response::Data(Data::Search(uids)) = &response else {
                panic!("an ESEARCH answer decoded as {response:?}");
            };
            assert!(uids.len() <= esearch::MAX_UIDS, "over the cap");
            assert!(
                uids.windows(2).all(|w| w[0] < w[1]),
                "not ascending: {uids:?}"
            );
        }
        return;
    }
    let mut scratch = Vec::new();
    let ours = responses::decode(message, &mut scratch);
    let theirs = match ResponseCodec::default().decode(message) {
        Ok(([], response)) => Some(response),
        _ => None,
    };
    match (&ours, &theirs) {
        (Ok(ours), Some(theirs)) => {
            assert_eq!(ours, theirs, "the lifted decoding differs");
            if let Response::Status(status) = ours {
                let code = match status {
                    Status::Untagged(s) => s.code.as_ref(),
                    Status::Tagged(t) => t.body.code.as_ref(),
                    Status::Bye(b) => b.code.as_ref(),
                };
                if let Some(code) = code {
                    let _ = responses::code_name(code);
                }
            }
        }
        (Err(_), None) => {}
        (Ok(ours), None) => panic!("decoded what imap-codec refuses: {ours:?}"),
        (Err(e), Some(_)) => panic!("refused what imap-codec decodes: {e}"),
    }
}

/// `message` with its first three non-empty literals padded to more than
/// [`LIFT_AT_LEAST`] bytes (their own bytes repeated, announcements
/// rewritten), so that the lifting path is taken; `None` when it has no
/// literal to pad. The announcements are recognised as the guest does: a
/// line ending in `{n}` or `{n+}`, at most ten digits, CRLF or LF.
fn amplified(message: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut padded = 0;
    let mut at = 0;
    while let Some(newline) = message[at..].iter().position(|&b| b == b'\n') {
        let line_end = at + newline + 1;
        let line = &message[at..line_end];
        let Some((open, length, plus)) = announcement(line) else {
            break;
        };
        let data = message.get(line_end..line_end.checked_add(length)?)?;
        if length == 0 || padded == 3 {
            out.extend_from_slice(&message[at..line_end + length]);
        } else {
            let ending = if line.ends_with(b"\r\n") {
                &b"\r\n"[..]
            } else {
                b"\n"
            };
            let longer = LIFT_AT_LEAST + length;
            out.extend_from_slice(&line[..open]);
            out.extend_from_slice(
                format!("{{{longer}{}}}", if plus { "+" } else { "" }).as_bytes(),
            );
            out.extend_from_slice(ending);
            out.extend(data.iter().copied().cycle().take(longer));
            padded += 1;
        }
        at = line_end + length;
    }
    out.extend_from_slice(&message[at..]);
    (padded > 0).then_some(out)
}

/// A line's literal announcement: where its `{` is, the length, and
/// whether it is `{n+}`.
fn announcement(line: &[u8]) -> Option<(usize, usize, bool)> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let (digits, plus) = match digits.strip_suffix(b"+") {
        Some(digits) => (digits, true),
        None => (digits, false),
    };
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let length = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((open, length, plus))
}
