//! A large message taken apart as it arrives: its long runs of base64 lines
//! decoded straight into a file, the rest kept as a *skeleton*.
//!
//! Held whole, the largest message of a getAll (an attachment of 10 MB is
//! 14 MB of base64) is memory touched for the first time, and its decoding
//! waits until its last byte has arrived while the server, its socket full,
//! waits too. Fed to a [`Spill`] a read at a time, each long run of base64
//! lines of one width is decoded and written into a file of its own as it
//! comes, and only the skeleton stays: every byte but those runs' lines.
//! What a run left out is a [`Hole`]: where it was, how many bytes, and
//! where its decoded bytes are.
//!
//! The lines left out meet what the skeleton's argument asks of a run
//! ([`crate::message::elision::lines_left_out_safely`]), so that the
//! skeleton parses as the whole message does once its parse is checked: a
//! hole is a run of whole lines with no `-` in it, after the first blank
//! line of its dash-free stretch and one more line (the part's first body
//! line, kept), and before a kept line of the same stretch (the run's last
//! line). Each
//! line is exactly `width` base64 symbols of the standard alphabet, no `=`,
//! then CRLF, with `width` a multiple of four: such a line and its three
//! bytes per four symbols are one-to-one, so a hole's lines can always be
//! written again from its decoded bytes ([`Spilled::materialize`]), exactly
//! as they came.
//!
//! A hole's file starts with the decoded first body line, so that when the
//! part turns out to be a base64 attachment beginning at that line, the file
//! is its content but for the lines after the hole, which the skeleton
//! kept.

use std::io;
use std::ops::Range;

/// The shortest run of lines worth leaving out: below it, a file and its
/// bookkeeping cost more than holding the lines. Also how many bytes of a
/// run are held before they are decoded (besides the last read's), which
/// bounds what a run adds to the skeleton.
pub const RUN_MIN: usize = 64 * 1024;

/// The widest base64 line a hole takes (RFC 2045 §6.8 says 76).
const WIDTH_MAX: usize = 1024;

/// Symbols decoded in one call, at most: a read's worth of lines is one
/// decode and one write into the file (each write crosses into the host).
const BATCH: usize = 256 * 1024;

/// The most holes one message gets, each an open file in the host until its
/// row is built; a message of more long runs keeps the rest of them.
const HOLES_MAX: usize = 64;

/// Where the decoded bytes of holes go: provisional files the caller may
/// later publish, read back, or drop.
pub trait Store {
    /// Starts a file; its number for [`Store::write`].
    fn begin(&mut self) -> io::Result<usize>;
    /// Appends `bytes` to file `file`.
    fn write(&mut self, file: usize, bytes: &[u8]) -> io::Result<()>;
    /// Up to `len` bytes of file `file` from `offset`.
    fn read(&mut self, file: usize, offset: u64, len: usize) -> io::Result<Vec<u8>>;
}

/// Lines left out of a skeleton: a run of base64 lines decoded into a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    /// Where the lines were, in the skeleton.
    pub at: usize,
    /// How many bytes they were.
    pub len: usize,
    /// Their symbols each (each line is `width` symbols and CRLF).
    pub width: usize,
    /// The kept line before them (the first line after the blank one), in
    /// the skeleton: the file starts with its decoded bytes.
    pub first: Range<usize>,
    /// The [`Store`] file holding the first line's bytes, then the hole's.
    pub file: usize,
    /// How many of the file's bytes are the first line's.
    pub first_decoded: usize,
}

impl Hole {
    /// The decoded bytes of the hole's own lines.
    pub fn decoded_len(&self) -> usize {
        self.len / (self.width + 2) * (self.width / 4 * 3)
    }

    /// How many lines it left out.
    pub fn lines(&self) -> usize {
        self.len / (self.width + 2)
    }
}

/// What framing the lines of the current stretch found so far.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for a blank line in a dash-free stretch (a `-` since the last
    /// one, or none yet).
    Seeking,
    /// The last line was that blank line: the next is a body's first.
    AfterBlank,
    /// Lines of one width after a first line of that width: candidates
    /// from `from` in the skeleton, all whole lines.
    Run {
        width: usize,
        first: Range<usize>,
        from: usize,
        /// The hole the run's lines go into, once it has one.
        hole: Option<usize>,
    },
    /// A dash-free stretch that is no run (or no longer): nothing is left
    /// out until a `-` starts another.
    Closed,
}

/// A message being taken apart as it arrives (see the module docs).
pub struct Spill<S: Store> {
    store: S,
    skeleton: Vec<u8>,
    /// Where the first line not yet looked at begins, in the skeleton.
    line: usize,
    state: State,
    holes: Vec<Hole>,
    symbols: Vec<u8>,
    decoded: Vec<u8>,
    /// Bytes of the message taken so far.
    taken: usize,
    /// Lines before this one are taken one at a time
    /// ([`Spill::pass_run_lines`]).
    slow_until: usize,
    /// Whether the store failed to start or write a file.
    failed: bool,
}

/// A message taken apart: its holes, in order, and where their bytes are.
/// The skeleton goes its own way ([`Spill::finish`]).
#[derive(Debug)]
pub struct Spilled<S: Store> {
    /// The store holding the holes' files.
    pub store: S,
    /// What was left out, in order of `at`.
    pub holes: Vec<Hole>,
    /// How long the message was.
    pub len: usize,
    /// How long its skeleton is.
    pub skeleton_len: usize,
    /// The skeleton's [`fingerprint`]: what tells it from other bytes of
    /// its length (a response with two whole-message literals).
    pub skeleton_print: u64,
    /// Whether the store failed: a hole's file may then hold bytes past
    /// its hole's (never read back, but no attachment to publish).
    pub failed: bool,
}

impl<S: Store> Spill<S> {
    /// A spill writing into `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            skeleton: Vec::new(),
            line: 0,
            state: State::Seeking,
            holes: Vec::new(),
            symbols: Vec::new(),
            decoded: Vec::new(),
            taken: 0,
            slow_until: 0,
            failed: false,
        }
    }

    /// Takes the message's next bytes. A store that fails only ends the
    /// spilling: the lines it would have taken stay in the skeleton.
    pub fn push(&mut self, bytes: &[u8]) {
        self.taken += bytes.len();
        self.skeleton.extend_from_slice(bytes);
        loop {
            self.pass_run_lines();
            let Some(end) = memchr::memchr(b'\n', &self.skeleton[self.line..]) else {
                break;
            };
            let len = end + 1;
            if let State::Run { width, .. } = self.state
                && !is_run_line(&self.skeleton[self.line..self.line + len], width)
            {
                // The run ends before this line: what it held goes, but its
                // last line, which stays as a cut keeps its stretch's last.
                self.leave_out_held(self.line, 1);
            }
            let line = self.line..self.line + len;
            self.line = line.end;
            self.classify(line);
        }
        // Held lines are left out a batch at a time, which bounds the
        // skeleton; the last whole line stays, as above.
        self.leave_out_held(self.line, RUN_MIN);
    }

    /// In a run, passes over the whole lines of its shape at once, looking
    /// only where each must end; then checks them all for a `-`, or a line
    /// end inside, with two passes of memchr. Lines that fail are taken one
    /// at a time ([`Spill::classify`]), and not looked at this way again.
    fn pass_run_lines(&mut self) {
        let State::Run { width, .. } = self.state else {
            return;
        };
        if self.line < self.slow_until {
            return;
        }
        let stride = width + 2;
        let start = self.line;
        let mut at = start;
        while at + stride <= self.skeleton.len()
            && self.skeleton[at + width..at + stride] == *b"\r\n"
        {
            at += stride;
        }
        let lines = &self.skeleton[start..at];
        if memchr::memchr(b'-', lines).is_none()
            && memchr::memchr_iter(b'\n', lines).count() == lines.len() / stride
        {
            self.line = at;
        } else {
            self.slow_until = at;
        }
    }

    /// Leaves out the run's lines before `end` but the last, when there are
    /// at least `least` bytes of them.
    fn leave_out_held(&mut self, end: usize, least: usize) {
        let State::Run {
            width, from, hole, ..
        } = self.state
        else {
            return;
        };
        let Some(last) = end.checked_sub(width + 2).filter(|&last| last >= from) else {
            return;
        };
        let least = if hole.is_some() { least } else { RUN_MIN };
        if last - from >= least {
            self.leave_out(last);
        }
    }

    /// The message is complete: its skeleton, and its holes.
    pub fn finish(self) -> (Vec<u8>, Spilled<S>) {
        let spilled = Spilled {
            store: self.store,
            holes: self.holes,
            len: self.taken,
            skeleton_len: self.skeleton.len(),
            skeleton_print: fingerprint(&self.skeleton),
            failed: self.failed,
        };
        (self.skeleton, spilled)
    }

    /// Moves the state on by one whole line, `line` in the skeleton.
    fn classify(&mut self, line: Range<usize>) {
        let bytes = &self.skeleton[line.clone()];
        if memchr::memchr(b'-', bytes).is_some() {
            self.state = State::Seeking;
            return;
        }
        self.state = match std::mem::replace(&mut self.state, State::Closed) {
            State::Seeking if bytes == b"\r\n" || bytes == b"\n" => State::AfterBlank,
            State::Seeking => State::Seeking,
            State::AfterBlank => match run_width(bytes) {
                Some(width) => State::Run {
                    width,
                    from: line.end,
                    first: line,
                    hole: None,
                },
                None => State::Closed,
            },
            State::Run {
                width,
                first,
                from,
                hole,
            } if is_run_line(bytes, width) => State::Run {
                width,
                first,
                from,
                hole,
            },
            State::Run { .. } | State::Closed => State::Closed,
        };
    }

    /// Decodes the run's candidate lines up to `end` into its hole's file
    /// and leaves them out of the skeleton. A line that is not base64 ends
    /// the run where it is: it and the lines after it stay.
    fn leave_out(&mut self, end: usize) {
        let State::Run {
            width,
            ref first,
            from,
            hole,
        } = self.state
        else {
            return;
        };
        let first = first.clone();
        let stride = width + 2;
        let per_batch = (BATCH / width).max(1) * stride;
        let mut hole = hole;
        let mut done = from;
        let mut broken = false;
        while done < end {
            let batch = done..end.min(done + per_batch);
            self.symbols.clear();
            for line in self.skeleton[batch.clone()].chunks_exact(stride) {
                self.symbols.extend_from_slice(&line[..width]);
            }
            self.decoded.clear();
            // A run's file starts with its first line's bytes, and is
            // started only once a batch of its lines has decoded.
            if hole.is_none()
                && !decode_exact(
                    &self.skeleton[first.start..first.end - 2],
                    &mut self.decoded,
                )
            {
                broken = true;
                break;
            }
            let first_decoded = self.decoded.len();
            if !decode_exact(&self.symbols, &mut self.decoded) {
                broken = true;
                break;
            }
            let file = match hole {
                Some(hole) => self.holes[hole].file,
                None => match self.begin_hole() {
                    Some(file) => {
                        self.holes.push(Hole {
                            at: from,
                            len: 0,
                            width,
                            first: first.clone(),
                            file,
                            first_decoded,
                        });
                        hole = Some(self.holes.len() - 1);
                        file
                    }
                    None => {
                        broken = true;
                        break;
                    }
                },
            };
            if self.store.write(file, &self.decoded).is_err() {
                // What the file holds past the hole is never read; a file
                // that holds less than its first line is no attachment.
                self.failed = true;
                broken = true;
                break;
            }
            done = batch.end;
        }
        let moved = done - from;
        if let Some(hole) = hole {
            self.holes[hole].len += moved;
        }
        self.skeleton.drain(from..done);
        self.line -= moved;
        self.slow_until = self.slow_until.saturating_sub(moved);
        if broken {
            self.state = State::Closed;
        } else if let State::Run { hole: h, .. } = &mut self.state {
            *h = hole;
        }
    }

    /// Starts a hole's file, unless the store failed before or the message
    /// has as many holes as it may.
    fn begin_hole(&mut self) -> Option<usize> {
        if self.failed || self.holes.len() >= HOLES_MAX {
            return None;
        }
        let file = self.store.begin().ok();
        self.failed |= file.is_none();
        file
    }
}

/// Whether `line` can continue a run of lines `width` symbols wide (its
/// symbols are checked as they are decoded; a `-` ends any run).
fn is_run_line(line: &[u8], width: usize) -> bool {
    line.len() == width + 2 && line.ends_with(b"\r\n") && memchr::memchr(b'-', line).is_none()
}

/// The width of a line that can start a run: `width` symbols and CRLF, the
/// width a multiple of four (its symbols are checked as they are decoded).
fn run_width(line: &[u8]) -> Option<usize> {
    let symbols = line.strip_suffix(b"\r\n")?;
    let width = symbols.len();
    (width > 0 && width.is_multiple_of(4) && width <= WIDTH_MAX && !symbols.contains(&b'='))
        .then_some(width)
}

/// Decodes whole quanta of the standard alphabet, no padding: `false` for
/// anything else (nothing is appended then).
fn decode_exact(symbols: &[u8], out: &mut Vec<u8>) -> bool {
    let before = out.len();
    if !symbols.len().is_multiple_of(4)
        || base64_simd::STANDARD.decode_append(symbols, out).is_err()
        || out.len() - before != symbols.len() / 4 * 3
    {
        out.truncate(before);
        return false;
    }
    true
}

/// A 64-bit fingerprint of `bytes`, eight at a time (FxHash's step): not
/// for hostile collisions, which could only pick one of a server's own
/// messages for another, but so that bytes of the same length are not
/// taken for a skeleton by chance.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let step = |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    let mut hash = step(0, bytes.len() as u64);
    for word in &mut words {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        hash = step(hash, u64::from_le_bytes(w));
    }
    let mut tail = [0; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    step(hash, u64::from_le_bytes(tail))
}

impl<S: Store> Spilled<S> {
    /// Whether `bytes` are this message's skeleton.
    pub fn is_skeleton(&self, bytes: &[u8]) -> bool {
        bytes.len() == self.skeleton_len && fingerprint(bytes) == self.skeleton_print
    }

    /// The message as it came: `skeleton` with each hole's lines written
    /// again from its file.
    pub fn materialize(&mut self, skeleton: &[u8]) -> io::Result<Vec<u8>> {
        let mut raw = Vec::with_capacity(self.len);
        let mut kept = 0;
        for hole in &self.holes {
            raw.extend_from_slice(&skeleton[kept..hole.at]);
            let per_line = hole.width / 4 * 3;
            let lines_per_read = (256 * 1024 / per_line).max(1);
            let mut offset = hole.first_decoded as u64;
            let mut left = hole.lines();
            while left > 0 {
                let lines = left.min(lines_per_read);
                let bytes = self.store.read(hole.file, offset, lines * per_line)?;
                if bytes.len() != lines * per_line {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "a spilled file is shorter than what was written",
                    ));
                }
                for line in bytes.chunks_exact(per_line) {
                    base64_simd::STANDARD.encode_append(line, &mut raw);
                    raw.extend_from_slice(b"\r\n");
                }
                offset += bytes.len() as u64;
                left -= lines;
            }
            kept = hole.at;
        }
        raw.extend_from_slice(&skeleton[kept..]);
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files in memory.
    #[derive(Debug, Default)]
    struct Memory(Vec<Vec<u8>>);

    impl Store for Memory {
        fn begin(&mut self) -> io::Result<usize> {
            self.0.push(Vec::new());
            Ok(self.0.len() - 1)
        }
        fn write(&mut self, file: usize, bytes: &[u8]) -> io::Result<()> {
            self.0[file].extend_from_slice(bytes);
            Ok(())
        }
        fn read(&mut self, file: usize, offset: u64, len: usize) -> io::Result<Vec<u8>> {
            let data = &self.0[file];
            let start = (offset as usize).min(data.len());
            Ok(data[start..(start + len).min(data.len())].to_vec())
        }
    }

    fn encoded(bytes: &[u8], width: usize) -> Vec<u8> {
        let text = base64_simd::STANDARD.encode_to_string(bytes);
        let mut out = Vec::new();
        for line in text.as_bytes().chunks(width) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    fn attachment_message(content: &[u8], width: usize) -> Vec<u8> {
        let mut m = b"From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n\
hello\r\n--b1\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
        m.extend_from_slice(&encoded(content, width));
        m.extend_from_slice(b"--b1--\r\n");
        m
    }

    fn content(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    struct Taken {
        skeleton: Vec<u8>,
        spilled: Spilled<Memory>,
    }

    impl Taken {
        fn materialize(&mut self) -> Vec<u8> {
            self.spilled.materialize(&self.skeleton).unwrap()
        }
    }

    fn spill_in(message: &[u8], chunk: usize) -> Taken {
        let mut spill = Spill::new(Memory::default());
        for piece in message.chunks(chunk.max(1)) {
            spill.push(piece);
        }
        let (skeleton, spilled) = spill.finish();
        assert_eq!(skeleton.len(), spilled.skeleton_len);
        Taken { skeleton, spilled }
    }

    #[test]
    fn a_long_run_goes_to_a_file_and_comes_back_exactly() {
        let data = content(300_000);
        let message = attachment_message(&data, 76);
        for chunk in [1 << 20, 256 * 1024, 65_536, 4096, 77, 1] {
            let mut spilled = spill_in(&message, chunk);
            assert_eq!(spilled.spilled.holes.len(), 1, "chunk {chunk}");
            let hole = spilled.spilled.holes[0].clone();
            assert!(spilled.skeleton.len() < RUN_MIN + 2048, "chunk {chunk}");
            assert_eq!(spilled.spilled.len, message.len());
            // The file: the first line's bytes, then the hole's.
            let file = &spilled.spilled.store.0[hole.file];
            assert_eq!(file.len(), hole.first_decoded + hole.decoded_len());
            assert_eq!(&file[..], &data[..file.len()], "chunk {chunk}");
            // The first line and the last run line are kept.
            assert_eq!(hole.first.end, hole.at);
            assert_eq!(spilled.materialize(), message, "chunk {chunk}");
        }
    }

    #[test]
    fn the_kept_lines_around_a_hole_are_whole_dash_free_lines() {
        let message = attachment_message(&content(200_000), 76);
        let spilled = spill_in(&message, 4096);
        let hole = &spilled.spilled.holes[0];
        let s = &spilled.skeleton;
        assert_eq!(s[hole.at - 1], b'\n');
        // The line after the hole is a run line, kept.
        let next = memchr::memchr(b'\n', &s[hole.at..]).unwrap() + 1;
        assert_eq!(next, 78);
        assert!(!s[hole.at..hole.at + next].contains(&b'-'));
    }

    #[test]
    fn short_runs_and_other_widths_and_encodings_stay() {
        // Too short to leave out.
        let small = attachment_message(&content(30_000), 76);
        let spilled = spill_in(&small, 4096);
        assert!(spilled.spilled.holes.is_empty());
        assert_eq!(spilled.skeleton, small);
        // Other widths, each a multiple of four.
        for width in [4, 64, 72, 100, 1024] {
            let message = attachment_message(&content(200_000), width);
            let mut spilled = spill_in(&message, 8192);
            assert_eq!(spilled.spilled.holes.len(), 1, "width {width}");
            assert_eq!(spilled.materialize(), message, "width {width}");
        }
        // A width that is not whole quanta, or too wide: kept whole.
        for width in [75, 2048] {
            let message = attachment_message(&content(200_000), width);
            let spilled = spill_in(&message, 8192);
            assert!(spilled.spilled.holes.is_empty(), "width {width}");
            assert_eq!(spilled.skeleton, message);
        }
    }

    #[test]
    fn a_stray_byte_ends_the_run_where_it_is() {
        let data = content(400_000);
        let mut message = attachment_message(&data, 76);
        // A line of the right width holding a byte outside the alphabet,
        // far into the run, and a padded one later.
        let body = message.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let stray = body + 78 * 2000 + 10;
        message[stray] = b'*';
        let pad = body + 78 * 3000 + 20;
        message[pad] = b'=';
        let mut spilled = spill_in(&message, 4096);
        assert_eq!(spilled.spilled.holes.len(), 1);
        assert!(spilled.spilled.holes[0].lines() < 2000);
        assert!(spilled.skeleton.len() > message.len() / 2);
        assert_eq!(spilled.materialize(), message);
    }

    #[test]
    fn dashes_blank_lines_and_lf_endings_keep_their_stretch() {
        // LF line ends: no run.
        let data = content(200_000);
        let message: Vec<u8> = attachment_message(&data, 76)
            .into_iter()
            .filter(|&b| b != b'\r')
            .collect();
        let spilled = spill_in(&message, 4096);
        assert!(spilled.spilled.holes.is_empty());
        assert_eq!(spilled.skeleton, message);
        // A body without a blank line before it (no header end): no run.
        let mut message = b"Subject: x\r\n".to_vec();
        message.extend_from_slice(&encoded(&data, 76));
        let spilled = spill_in(&message, 4096);
        assert!(spilled.spilled.holes.is_empty());
        // Two attachments: two holes, each its own file.
        let mut message = attachment_message(&data, 76);
        message.truncate(message.len() - b"--b1--\r\n".len());
        message.extend_from_slice(
            b"--b1\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        );
        message.extend_from_slice(&encoded(&content(150_000), 64));
        message.extend_from_slice(b"--b1--\r\n");
        let mut spilled = spill_in(&message, 65_536);
        assert_eq!(spilled.spilled.holes.len(), 2);
        assert_ne!(spilled.spilled.holes[0].file, spilled.spilled.holes[1].file);
        assert_eq!(spilled.spilled.holes[1].width, 64);
        assert_eq!(spilled.materialize(), message);
    }

    #[test]
    fn a_message_gets_at_most_its_number_of_holes_and_no_file_for_a_bad_run() {
        let mut message =
            b"Subject: many\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for i in 0..HOLES_MAX + 6 {
            message.extend_from_slice(b"--b\r\nContent-Type: application/octet-stream\r\n\r\n");
            message.extend_from_slice(&encoded(&content(70_000 + i), 76));
        }
        message.extend_from_slice(b"--b--\r\n");
        let mut taken = spill_in(&message, 256 * 1024);
        assert_eq!(taken.spilled.holes.len(), HOLES_MAX);
        assert_eq!(taken.spilled.store.0.len(), HOLES_MAX);
        assert_eq!(taken.materialize(), message);

        // A run whose first batch does not decode starts no file.
        let mut bad = attachment_message(&content(100_000), 76);
        let body = bad.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let first = body + 4 + 78 * 30 + 5;
        bad[first] = b'!';
        let taken = spill_in(&bad, 1 << 20);
        assert!(taken.spilled.holes.is_empty());
        assert!(
            taken.spilled.store.0.is_empty(),
            "no file for a run that never decoded"
        );
        assert_eq!(taken.skeleton, bad);
    }

    #[test]
    fn a_skeleton_is_told_from_other_bytes_of_its_length() {
        let message = attachment_message(&content(200_000), 76);
        let taken = spill_in(&message, 4096);
        assert!(taken.spilled.is_skeleton(&taken.skeleton));
        let mut other = taken.skeleton.clone();
        for at in [0, other.len() / 2, other.len() - 1] {
            other[at] ^= 1;
            assert!(!taken.spilled.is_skeleton(&other), "a byte at {at}");
            other[at] ^= 1;
        }
        assert!(!taken.spilled.is_skeleton(&taken.skeleton[1..]));
        assert!(!taken.spilled.is_skeleton(&message));
    }

    #[test]
    fn every_split_of_a_message_spills_alike() {
        let data = content(140_000);
        let message = attachment_message(&data, 76);
        let whole = spill_in(&message, message.len());
        for chunk in [3, 500, 7777, 65_535, 65_537, 131_072] {
            let spilled = spill_in(&message, chunk);
            // Where the runs are cut into batches may differ; what is left
            // out and kept must come back the same.
            let mut a = spilled;
            assert_eq!(a.materialize(), message, "chunk {chunk}");
            assert_eq!(
                a.spilled.holes.len(),
                whole.spilled.holes.len(),
                "chunk {chunk}"
            );
        }
    }
}
