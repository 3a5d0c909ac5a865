//! Content-Transfer-Encoding (RFC 2045 §6): which one a MIME part declares,
//! and undoing it — base64 a chunk at a time, straight into a writer.
//!
//! mail-parser reads a message's structure with the header ignored (see
//! `parsers::parser`), so it never decodes a body it will not show. Decoding
//! base64 inside its parser cost about 80 instructions a byte and held every
//! attachment decoded in memory beside the raw message; here `base64-simd`
//! decodes a run of lines of one width a few KiB at a time, any other
//! line where it lies (or a bounded chunk of gathered symbols, in place),
//! 16 bytes per step with WebAssembly SIMD, as the file is written.

use std::io::{self, Write};

use mail_parser::{HeaderName, MessagePart};

use crate::message::parameters::unescaped;

/// A part's declared transfer encoding. 7bit, 8bit, binary and anything
/// unknown leave the body as it is (RFC 2045 §6.4: an unknown encoding is
/// treated as opaque data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    /// The body is the content.
    Identity,
    /// RFC 2045 §6.8.
    Base64,
    /// RFC 2045 §6.7.
    QuotedPrintable,
}

impl TransferEncoding {
    /// The encoding `part` declares, read from its raw header in `raw` (the
    /// message the part was parsed from). Of two such headers the last
    /// counts, as in mail-parser, which reads the structure by it.
    pub fn of(part: &MessagePart<'_>, raw: &[u8]) -> Self {
        let Some(header) = part
            .headers
            .iter()
            .rev()
            .find(|h| h.name == HeaderName::ContentTransferEncoding)
        else {
            return Self::Identity;
        };
        let value = raw
            .get(header.offset_start as usize..header.offset_end as usize)
            .unwrap_or_default()
            .trim_ascii();
        // A comment may follow the token: "base64 (from the scanner)".
        let token = value
            .split(|&b| b == b'(' || b.is_ascii_whitespace() || b == b';')
            .next()
            .unwrap_or_default();
        if token.eq_ignore_ascii_case(b"base64") {
            Self::Base64
        } else if token.eq_ignore_ascii_case(b"quoted-printable") {
            Self::QuotedPrintable
        } else {
            Self::Identity
        }
    }

    /// `body` decoded into memory; the body itself when it does not decode
    /// (a broken encoding loses nothing: the bytes are kept as they came, as
    /// mail-parser does).
    pub fn decode(self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match self.decode_into(body, &mut out) {
            Ok(Decoded::Complete) => out,
            Ok(Decoded::Malformed) | Err(_) => body.to_vec(),
        }
    }

    /// Writes `body` decoded into `sink`. `Ok(Malformed)` means the body is
    /// not valid in its encoding; part of it may have been written, and the
    /// caller decides what to keep (see `attachments::Content`).
    pub fn decode_into(self, body: &[u8], sink: &mut impl Write) -> io::Result<Decoded> {
        match self {
            Self::Identity => sink.write_all(body).map(|()| Decoded::Complete),
            Self::QuotedPrintable => sink
                .write_all(&quoted_printable(body))
                .map(|()| Decoded::Complete),
            Self::Base64 => Base64Stream::new(sink).decode(body),
        }
    }
}

/// Quoted-printable (RFC 2045 §6.7), decoded the way mail readers do:
/// white space at a line's end is dropped (rule 3), a `=` ending a line
/// joins it to the next (rule 5), and `=XX` is that byte. Everything else
/// stays as it came: a stray `=` (common in pasted URLs), and 8-bit bytes a
/// mailer left raw (common in the wild), which mail-parser keeps too.
///
/// The body's last line is a line too: in a multipart its line break
/// belongs to the boundary that follows (RFC 2046 §5.1.1), so its blanks
/// are transport padding like any other line's. mail-parser drops them
/// there as well, but keeps them where no line break follows: at the
/// message's end, or before a boundary that (wrongly) starts mid-line.
fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for line in body.split_inclusive(|&b| b == b'\n') {
        let (text, end) = match line.strip_suffix(b"\r\n") {
            Some(text) => (text, &b"\r\n"[..]),
            None => match line.strip_suffix(b"\n") {
                Some(text) => (text, &b"\n"[..]),
                None => (line, &b""[..]),
            },
        };
        // Rule 3: transport padding is spaces and tabs.
        let blanks = text
            .iter()
            .rev()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let trimmed = &text[..text.len() - blanks];
        if let Some(joined) = trimmed.strip_suffix(b"=") {
            out.extend(unescaped(joined, b'='));
        } else {
            out.extend(unescaped(trimmed, b'='));
            out.extend_from_slice(end);
        }
    }
    out
}

/// A quoted-printable body text in the strict form of RFC 2045 §6.7, decoded
/// as mail-parser decodes a body that is all of its input; `None` for any
/// other body, which the caller leaves to mail-parser.
///
/// The strict form: every line ends with CRLF but the last, which may end
/// without one; no other CR; every `=` starts `=XX` (two hex digits, of
/// either case) or ends a line (a soft break, rule 5). Then mail-parser's
/// byte loop (`decode_quoted_printable_mime`) does what this does with
/// `memchr`, a line at a time: `=XX` is the byte, a soft break joins the
/// lines, the blanks ending a line with a line break are dropped (rule 3;
/// ASCII white space: space, tab, form feed), and those ending the last
/// line without one are kept. Its byte loop was a thirtieth of getAll; the
/// fuzz target `rows` holds the two to the same result.
pub fn strict_quoted_printable(body: &[u8]) -> Option<Vec<u8>> {
    // Every LF ends a CRLF (checked per line below); as many CRs means no
    // CR stands alone.
    if memchr::memchr_iter(b'\r', body).count() != memchr::memchr_iter(b'\n', body).count() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        let (line, broken) = match memchr::memchr(b'\n', rest) {
            Some(lf) => {
                let line = rest[..lf].strip_suffix(b"\r")?;
                rest = &rest[lf + 1..];
                (line, true)
            }
            None => (std::mem::take(&mut rest), false),
        };
        let soft = broken && line.last() == Some(&b'=');
        let text = if soft {
            &line[..line.len() - 1]
        } else if broken {
            let blanks = line
                .iter()
                .rev()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\x0c'))
                .count();
            &line[..line.len() - blanks]
        } else {
            line
        };
        let mut from = 0;
        // An escape's digits hold no `=`, so each `=` found starts one.
        for at in memchr::memchr_iter(b'=', text) {
            let high = hex_digit(*text.get(at + 1)?)?;
            let low = hex_digit(*text.get(at + 2)?)?;
            out.extend_from_slice(&text[from..at]);
            out.push(high << 4 | low);
            from = at + 3;
        }
        out.extend_from_slice(&text[from..]);
        if broken && !soft {
            out.extend_from_slice(b"\r\n");
        }
    }
    Some(out)
}

/// The value of a hex digit of either case.
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// How decoding a body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// All of it was decoded and written.
    Complete,
    /// It holds something its encoding does not allow.
    Malformed,
}

/// Base64 symbols gathered before a decode (its whole quanta; the rest waits
/// for the next): large enough that a decode is worth its call, small
/// enough that the buffer and the write stay cheap.
const SYMBOL_CHUNK: usize = 256 * 1024;

/// Decoded bytes held before they are written: what a chunk of symbols
/// decodes to, so that the sink sees writes of the same size either way.
const DECODED_CHUNK: usize = SYMBOL_CHUNK / 4 * 3;

/// Symbols of a run of lines decoded at once, at most (see
/// [`Base64Stream::run`]): enough that a decode runs long in 16-byte steps,
/// few enough that they stay in the cache between the copy and the decode.
const RUN_BATCH: usize = 4096;

/// The longest line decoded on its own, straight from the body; a longer
/// one (a body on one long line) is gathered a chunk at a time, so that
/// memory stays bounded.
const LINE_MAX: usize = 4096;

/// Base64 body → decoded bytes, a line at a time where lines are whole
/// quanta, else through one bounded buffer of symbols decoded in place.
///
/// The symbols are the body without its whitespace (RFC 2045 §6.8: line
/// breaks and other characters outside the alphabet are ignored — in
/// practice only whitespace, and anything else marks a broken part). `=`
/// ends an encoded unit; another may follow, as when parts were
/// concatenated. A unit's last quantum may be short: padding is optional and
/// stray low bits are dropped (WHATWG's forgiving base64), as mail readers
/// do.
///
/// Nearly every mailer writes lines of the same width (76 symbols), whole
/// quanta, each ending in CRLF. A run of such lines is found by looking
/// only where each line must end ([`Base64Stream::run`]); its symbols are
/// copied together (a fixed-size copy for the usual widths) and decoded a
/// few KiB at a time, where a call per line spent more on the call and on
/// the line's short tail than on its 16-byte steps. A line that breaks the
/// pattern, or holds a blank, takes the line-at-a-time path: decoded where
/// it lies when it is whole quanta, else gathered without its blanks.
struct Base64Stream<'w, W: Write> {
    sink: &'w mut W,
    /// Symbols gathered and not yet decoded, never whitespace: from a line
    /// that could not be decoded on its own until the symbols are whole
    /// quanta again (at a line's end) or a chunk, or the unit ends.
    symbols: Vec<u8>,
    /// Decoded bytes not yet written.
    decoded: Vec<u8>,
    /// The symbols of a run's lines, copied together for one decode.
    run: Vec<u8>,
}

impl<'w, W: Write> Base64Stream<'w, W> {
    fn new(sink: &'w mut W) -> Self {
        Self {
            sink,
            symbols: Vec::new(),
            decoded: Vec::new(),
            run: Vec::new(),
        }
    }

    fn decode(mut self, body: &[u8]) -> io::Result<Decoded> {
        self.decoded
            .reserve_exact(DECODED_CHUNK.min(body.len()) + LINE_MAX);
        let mut rest = body;
        loop {
            let unit_end = memchr::memchr(b'=', rest);
            let (symbols, after) = rest.split_at(unit_end.unwrap_or(rest.len()));
            // The body's end ends a unit too.
            if !self.lines(symbols)? || !self.flush(true)? {
                return Ok(Decoded::Malformed);
            }
            if unit_end.is_none() {
                self.sink.write_all(&self.decoded)?;
                return Ok(Decoded::Complete);
            }
            rest = &after[after.iter().take_while(|&&b| b == b'=').count()..];
        }
    }

    /// The lines of one unit's symbols; `Ok(false)` when they are not base64.
    fn lines(&mut self, symbols: &[u8]) -> io::Result<bool> {
        let mut rest = symbols;
        // After a batch of a run failed, its lines go one at a time: trying
        // the run again at each of them would decode the batch again.
        let mut runs_from = usize::MAX;
        while !rest.is_empty() {
            if self.symbols.is_empty() && rest.len() <= runs_from {
                let (used, refused) = self.run(rest)?;
                rest = &rest[used..];
                runs_from = rest.len() - refused;
                if rest.is_empty() {
                    break;
                }
            }
            let line = match memchr::memchr(b'\n', rest) {
                Some(end) => {
                    let line = &rest[..end];
                    rest = &rest[end + 1..];
                    line
                }
                None => std::mem::take(&mut rest),
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if self.symbols.is_empty()
                && line.len().is_multiple_of(4)
                && line.len() <= LINE_MAX
                && base64_simd::STANDARD
                    .decode_append(line, &mut self.decoded)
                    .is_ok()
            {
                self.written()?;
                continue;
            }
            for piece in line.chunks(SYMBOL_CHUNK) {
                self.push(piece);
                if self.symbols.len() >= SYMBOL_CHUNK && !self.flush(false)? {
                    return Ok(false);
                }
            }
            // Whole quanta again: the next line may be decoded on its own.
            if self.symbols.len().is_multiple_of(4) && !self.flush(false)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Decodes the run of lines `body` starts with: lines of one width, whole
    /// quanta and at most [`LINE_MAX`], each ending in CRLF. Returns the
    /// bytes used — all of the run's lines, or those before the batch that
    /// failed to decode (a blank or a stray byte in it) — and the length of
    /// that batch, which the caller then takes a line at a time. Nothing is
    /// used when `body` does not start with two such lines.
    fn run(&mut self, body: &[u8]) -> io::Result<(usize, usize)> {
        // The first line gives the width; its CRLF is checked with the rest.
        let width = match memchr::memchr(b'\n', &body[..body.len().min(LINE_MAX + 2)]) {
            Some(lf) if lf > 0 => lf - 1,
            _ => return Ok((0, 0)),
        };
        if width == 0 || !width.is_multiple_of(4) {
            return Ok((0, 0));
        }
        let stride = width + 2;
        let aligned = |lines: &[u8], most: usize| {
            lines
                .chunks_exact(stride)
                .take(most)
                .take_while(|line| line[width..] == *b"\r\n")
                .count()
        };
        if aligned(body, 2) < 2 {
            return Ok((0, 0));
        }
        // A few KiB of symbols per decode: the decoded bytes stay within
        // what `decoded` holds beyond a chunk. Each batch's lines are
        // counted as it is taken, never the whole run ahead: after a batch
        // fails, the run is looked at again past it, and counting ahead
        // each time would be quadratic in a run of failing batches.
        let per_batch = (RUN_BATCH / width).max(1);
        let mut used = 0;
        loop {
            let lines = aligned(&body[used..], per_batch);
            if lines == 0 {
                break;
            }
            let batch = &body[used..used + lines * stride];
            self.run.clear();
            match width {
                76 => gather::<76>(batch, &mut self.run),
                64 => gather::<64>(batch, &mut self.run),
                72 => gather::<72>(batch, &mut self.run),
                _ => {
                    for line in batch.chunks_exact(stride) {
                        self.run.extend_from_slice(&line[..width]);
                    }
                }
            }
            let before = self.decoded.len();
            if base64_simd::STANDARD
                .decode_append(&self.run, &mut self.decoded)
                .is_err()
            {
                // base64-simd appends nothing when a decode fails; should
                // that change, no partial decode may reach the file.
                self.decoded.truncate(before);
                return Ok((used, batch.len()));
            }
            self.written()?;
            used += batch.len();
            if lines < per_batch {
                break;
            }
        }
        Ok((used, 0))
    }

    /// Appends a line's symbols, dropping the ASCII whitespace inside it
    /// (all of it: a blank left in would shift every quantum after it).
    fn push(&mut self, symbols: &[u8]) {
        let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\x0c');
        // Both searches are memchr's, 16 bytes a step: `<[u8]>::contains`
        // looked for the form feed a word at a time, a tenth of saving
        // attachments.
        if memchr::memchr3(b' ', b'\t', b'\r', symbols).is_some()
            || memchr::memchr(b'\x0c', symbols).is_some()
        {
            self.symbols.extend(symbols.iter().filter(|b| !blank(b)));
        } else {
            self.symbols.extend_from_slice(symbols);
        }
    }

    /// Writes the decoded bytes once they are a chunk.
    fn written(&mut self) -> io::Result<()> {
        if self.decoded.len() >= DECODED_CHUNK {
            self.sink.write_all(&self.decoded)?;
            self.decoded.clear();
        }
        Ok(())
    }

    /// Decodes the gathered symbols: all of them at the end of a unit, else
    /// every whole quantum. `Ok(false)` when they are not base64.
    fn flush(&mut self, end_of_unit: bool) -> io::Result<bool> {
        let mut take = if end_of_unit {
            self.symbols.len()
        } else {
            self.symbols.len() / 4 * 4
        };
        // One symbol alone carries less than a byte: nothing to write.
        if end_of_unit && take % 4 == 1 {
            take -= 1;
        }
        match base64_simd::forgiving_decode_inplace(&mut self.symbols[..take]) {
            // Behind what was decoded before, in order: a line's few bytes
            // join them, a chunk is written as it lies.
            Ok(decoded) if self.decoded.len() + decoded.len() <= DECODED_CHUNK => {
                self.decoded.extend_from_slice(decoded);
                self.written()?;
            }
            Ok(decoded) => {
                self.sink.write_all(&self.decoded)?;
                self.decoded.clear();
                self.sink.write_all(decoded)?;
            }
            Err(_) => return Ok(false),
        }
        if end_of_unit {
            self.symbols.clear();
        } else {
            self.symbols.drain(..take);
        }
        Ok(true)
    }
}

/// Appends the first `WIDTH` symbols of each line of `lines` (lines of
/// `WIDTH` symbols and CRLF) to `run`. The width being known, each copy is
/// a few 16-byte moves instead of a call to copy memory.
fn gather<const WIDTH: usize>(lines: &[u8], run: &mut Vec<u8>) {
    for line in lines.chunks_exact(WIDTH + 2) {
        if let Some(symbols) = line.first_chunk::<WIDTH>() {
            run.extend_from_slice(symbols);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// mail-parser's own decoding of a quoted-printable body that is all
    /// of its input.
    fn mail_parsers_qp(body: &[u8]) -> Vec<u8> {
        let (end, decoded) =
            mail_parser::parsers::MessageStream::new(body).decode_quoted_printable_mime(b"");
        assert_eq!(end, body.len(), "{body:?}");
        decoded.into_owned()
    }

    #[test]
    fn strict_quoted_printable_decodes_as_mail_parser_does() {
        for body in [
            &b""[..],
            b"plain text",
            b"caf=C3=A9 na=c3=afve\r\n",
            b"soft=\r\nbreak, and blanks before it  =\r\nstay\r\n",
            b"blanks at a line break go \t\x0c\r\n\r\n  \r\nbut at the end stay  ",
            b"an escaped blank stays=20\r\nand one after it goes=20 \r\n",
            b"=3D=3d equal signs, 8-bit \xe9 and NUL \0 bytes\r\n",
            b"last line soft=\r\n",
            b"=\r\n=\r\n\r\n",
        ] {
            assert_eq!(
                strict_quoted_printable(body).as_deref(),
                Some(&mail_parsers_qp(body)[..]),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn strict_quoted_printable_refuses_any_other_form() {
        for body in [
            &b"a stray = sign\r\n"[..],
            b"half an escape =4",
            b"not hex =4G\r\n",
            b"a soft break with padding = \r\n",
            b"ends in a soft break with no line after=",
            b"a bare LF\nline\r\n",
            b"a lone CR\r in a line\r\n",
            b"ends in a CR\r",
            b"==41\r\n",
        ] {
            assert_eq!(
                strict_quoted_printable(body),
                None,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    fn b64(body: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let end = TransferEncoding::Base64
            .decode_into(body.as_bytes(), &mut out)
            .unwrap();
        assert_eq!(end, Decoded::Complete, "{body:?}");
        out
    }

    #[test]
    fn base64_lines_and_padding() {
        assert_eq!(b64("aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(b64("aGVsbG8"), b"hello", "padding is optional");
        assert_eq!(b64(" aGVs bG8=\t\r\n"), b"hello", "blanks are ignored");
        assert_eq!(b64("aG\x0cVsbG8="), b"hello", "a form feed too");
        assert_eq!(b64("aGk=aGk="), b"hihi", "concatenated units");
        assert_eq!(b64("aGk=\r\n\r\n"), b"hi");
        assert_eq!(b64("YR=="), b"a", "stray low bits are dropped");
        assert_eq!(b64("aGk=Y"), b"hi", "a lone last symbol carries no byte");
        assert_eq!(b64(""), b"");
    }

    #[test]
    fn base64_across_chunks() {
        let data: Vec<u8> = (0..SYMBOL_CHUNK as u32 + 4099).map(|i| i as u8).collect();
        let encoded = base64_simd::STANDARD.encode_to_string(&data);
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(75)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        assert_eq!(b64(&lines.join("\r\n")), data);
    }

    /// The rule as the module states it: the body without its whitespace,
    /// cut at every `=` into units, each decoded on its own (a lone last
    /// symbol dropped); any unit that does not decode breaks the body.
    fn b64_by_the_rule(body: &[u8]) -> Option<Vec<u8>> {
        let symbols: Vec<u8> = body
            .iter()
            .copied()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c'))
            .collect();
        let mut out = Vec::new();
        for unit in symbols.split(|&b| b == b'=') {
            let mut unit = unit.to_vec();
            if unit.len() % 4 == 1 {
                unit.pop();
            }
            out.extend(base64_simd::forgiving_decode_to_vec(&unit).ok()?);
        }
        Some(out)
    }

    /// Bodies of every shape — lines of any length and ending, blanks
    /// anywhere, units ended by `=` mid-line, chunks of the decoder cut
    /// anywhere, stray bytes — decode as the rule says.
    #[test]
    fn base64_decodes_by_the_rule_whatever_the_shape() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        // Line lengths about the limits: whole quanta or not, up to and past
        // the longest line decoded on its own, and past a whole chunk.
        let lengths = [
            76,
            76,
            64,
            73,
            LINE_MAX,
            LINE_MAX + 4,
            LINE_MAX + 1,
            SYMBOL_CHUNK + 3,
        ];
        for case in 0..400 {
            // A long body is one unit, its blanks and bad bytes rare.
            let long = case % 25 == 0;
            let size = if long {
                SYMBOL_CHUNK as u64 * 2 + next(9000)
            } else {
                next(600)
            };
            let rare = if long { 40_000 } else { 400 };
            let mut line = 1 + next(90) as usize;
            let mut body = Vec::new();
            let mut column = 0;
            while (body.len() as u64) < size {
                let byte = match next(rare) {
                    0 if !long => b'=',
                    1 => b' ',
                    2 => b'\t',
                    3 if case % 3 == 0 => b'\x0c',
                    4 if case % 7 == 0 => b'-',
                    5 if case % 5 == 0 => b'\r',
                    6 if case % 11 == 0 => b'\x0b',
                    _ => alphabet[next(64) as usize],
                };
                body.push(byte);
                column += 1;
                if column == line {
                    body.extend_from_slice(if case % 2 == 0 { b"\r\n" } else { b"\n" });
                    column = 0;
                    if long {
                        line = lengths[next(lengths.len() as u64) as usize];
                    }
                }
            }
            let mut out = Vec::new();
            let decoded = TransferEncoding::Base64
                .decode_into(&body, &mut out)
                .expect("into memory");
            match b64_by_the_rule(&body) {
                Some(expected) => {
                    assert_eq!(decoded, Decoded::Complete, "case {case}");
                    assert!(out == expected, "case {case}: {} bytes", body.len());
                }
                None => assert_eq!(decoded, Decoded::Malformed, "case {case}"),
            }
        }
    }

    /// Runs of lines of one width decode as the rule says, whatever breaks
    /// them: a blank, an LF alone, a line of another width, a stray byte,
    /// a `=` mid-body, in the first line, the last, or mid-batch.
    #[test]
    fn base64_runs_of_lines_decode_by_the_rule() {
        let data: Vec<u8> = (0..40_000_u32).map(|i| (i * 31 + i / 7) as u8).collect();
        let encoded = base64_simd::STANDARD.encode_to_string(&data);
        for width in [4, 64, 72, 76, 100, LINE_MAX] {
            for count in [1, 2, 3, 60, 200] {
                let lines: Vec<Vec<u8>> = encoded
                    .as_bytes()
                    .chunks(width)
                    .take(count)
                    .map(<[u8]>::to_vec)
                    .collect();
                let whole = lines.len();
                let body = |lines: &[Vec<u8>], ends: &dyn Fn(usize) -> &'static [u8]| {
                    let mut body = Vec::new();
                    for (i, line) in lines.iter().enumerate() {
                        body.extend_from_slice(line);
                        body.extend_from_slice(ends(i));
                    }
                    body
                };
                let crlf = |_: usize| &b"\r\n"[..];
                let check = |body: &[u8], what: &str| {
                    let mut out = Vec::new();
                    let decoded = TransferEncoding::Base64
                        .decode_into(body, &mut out)
                        .expect("into memory");
                    match b64_by_the_rule(body) {
                        Some(expected) => {
                            assert_eq!(decoded, Decoded::Complete, "{width}×{count} {what}");
                            assert!(out == expected, "{width}×{count} {what}");
                        }
                        None => assert_eq!(decoded, Decoded::Malformed, "{width}×{count} {what}"),
                    }
                };
                check(&body(&lines, &crlf), "as written");
                check(
                    &body(&lines, &|i| if i + 1 == whole { b"" } else { b"\r\n" }),
                    "no last CRLF",
                );
                for at in [0, whole / 2, whole.saturating_sub(1)] {
                    check(
                        &body(&lines, &|i| if i == at { b"\n" } else { b"\r\n" }),
                        "an LF alone",
                    );
                    for (byte, what) in [
                        (b' ', "a blank"),
                        (b'-', "a stray byte"),
                        (b'=', "a unit's end"),
                        (b'\r', "a CR"),
                    ] {
                        // Inserted, the line is longer and ends the run;
                        // put in place of a symbol, the line keeps its width
                        // and the batch holding it fails to decode.
                        let mut longer = lines.clone();
                        let middle = longer[at].len() / 2;
                        longer[at].insert(middle, byte);
                        check(&body(&longer, &crlf), what);
                        let mut same = lines.clone();
                        same[at][middle] = byte;
                        check(&body(&same, &crlf), what);
                    }
                    let mut other = lines.clone();
                    let shorter = other[at].len().saturating_sub(4);
                    other[at].truncate(shorter);
                    check(&body(&other, &crlf), "a shorter line");
                }
            }
        }
    }

    #[test]
    fn base64_on_one_long_line() {
        let data: Vec<u8> = (0..3 * SYMBOL_CHUNK as u32)
            .map(|i| (i * 7) as u8)
            .collect();
        let encoded = base64_simd::STANDARD.encode_to_string(&data);
        assert_eq!(b64(&encoded), data);
    }

    #[test]
    fn quoted_printable_keeps_stray_equal_signs() {
        assert_eq!(
            TransferEncoding::QuotedPrintable.decode(b"a=3Db ?x=1&y=zz =\r\nend"),
            b"a=b ?x=1&y=zz end"
        );
    }

    #[test]
    fn quoted_printable_keeps_raw_8bit_bytes_and_drops_line_end_blanks() {
        assert_eq!(
            TransferEncoding::QuotedPrintable
                .decode("Müller;Gr=C3=BC=C3=9Fe  \r\nx= \r\ny\n".as_bytes()),
            "Müller;Grüße\r\nxy\n".as_bytes()
        );
        // The last line's padding too, its line break being the boundary's;
        // an encoded blank stays.
        assert_eq!(
            TransferEncoding::QuotedPrintable.decode(b"a=E2=82=AC\t \r\nb=20\t"),
            "a€\r\nb ".as_bytes()
        );
        // Latin-1 left raw: the byte itself, not dropped.
        assert_eq!(
            TransferEncoding::QuotedPrintable.decode(b"caf\xe9=3F"),
            b"caf\xe9?"
        );
    }

    #[test]
    fn broken_base64_keeps_the_raw_bytes() {
        let raw = b"not base64! at all";
        let mut out = Vec::new();
        let end = TransferEncoding::Base64.decode_into(raw, &mut out).unwrap();
        assert_eq!(end, Decoded::Malformed);
        assert_eq!(TransferEncoding::Base64.decode(raw), raw);
    }

    #[test]
    fn declared_encoding_is_read_from_the_raw_header() {
        let raw =
            b"Content-Type: text/plain\r\nContent-Transfer-Encoding:  BASE64 (scanner)\r\n\r\naGk=";
        let message = mail_parser::MessageParser::new()
            .with_mime_headers()
            .ignore_header(HeaderName::ContentTransferEncoding)
            .parse(&raw[..])
            .unwrap();
        let part = &message.parts[0];
        assert_eq!(TransferEncoding::of(part, raw), TransferEncoding::Base64);
        assert_eq!(
            TransferEncoding::QuotedPrintable.decode(b"caf=C3=A9"),
            "café".as_bytes()
        );
        assert_eq!(TransferEncoding::Identity.decode(b"x=41"), b"x=41");
    }
}
