//! Rows as the tag's JSON lines: what `row-reader.next-ndjson` hands out.
//!
//! One JSON object per message and line (NDJSON), keyed by the tag's
//! column names in upper case (`MESSAGENUMBER`, `UID`, `SUBJECT`, …) in the
//! order of the WIT record `message-row`: getHeaderOnly's rows carry the
//! header columns and `ERROR`, getAll's every column. An absent value is
//! `null`, a list a JSON array, `CIDS` an object (Content-ID → file name,
//! in the message's order). This is what the `cfimap` CLI prints with
//! `--format ndjson` (and, joined into one array, compact `--format json`):
//! a host that only prints or forwards rows takes one byte list a batch
//! instead of lifting every field of every row, which in the CLI cost the
//! host a copy and a UTF-8 check of each string and in a JavaScript host
//! most of a read.
//!
//! The lines are written here field by field rather than by serde_json,
//! whose string escaping looks at one byte at a time: rows are mostly text
//! (getAll of 2,000 messages writes 12 MB of bodies and headers), and that
//! loop was an eighth of such a read's CPU. [`string`] looks at eight bytes
//! at a time for the few that JSON escapes and copies the runs between
//! them whole. The bytes are serde_json's, escapes included (`\u001f`,
//! not `\u001F`; `\u007f` left as it is): the tests hold the two to that,
//! every byte value in every position of a word.

use std::ops::Range;

use crate::actions::fetch::Depth;
use crate::bindings::cfimap::imap::types::MessageRow;

/// `rows` as JSON lines, each ended by `\n`, appended to `out`. Each row
/// is dropped once written: the component's memory, which never shrinks,
/// holds the lines and one row, not the whole batch twice.
pub fn write(rows: Vec<MessageRow>, depth: Depth, out: &mut Vec<u8>) {
    for row in rows {
        write_row(&row, depth, out);
        out.push(b'\n');
    }
}

/// One row as a JSON object, with the tag's column names.
fn write_row(r: &MessageRow, depth: Depth, out: &mut Vec<u8>) {
    let mut o = Object::open(out);
    o.column("MESSAGENUMBER").number(u64::from(r.messagenumber));
    o.column("UID").number(u64::from(r.uid));
    o.column("SUBJECT").text(r.subject.as_deref());
    o.column("FROM").string(&r.from);
    o.column("TO").string(&r.to);
    o.column("CC").string(&r.cc);
    o.column("REPLYTO").string(&r.replyto);
    o.column("MESSAGEID").string(&r.messageid);
    o.column("DATE").text(r.date.as_deref());
    o.column("SENTDATE").text(r.sentdate.as_deref());
    o.column("RXDDATE").text(r.rxddate.as_deref());
    o.column("SIZE").number(r.size);
    match r.lines {
        Some(lines) => o.column("LINES").number(u64::from(lines)),
        None => o.column("LINES").null(),
    }
    o.column("HEADER").string(&r.header);
    o.column("ANSWERED").boolean(r.answered);
    o.column("DELETED").boolean(r.deleted);
    o.column("DRAFT").boolean(r.draft);
    o.column("FLAGGED").boolean(r.flagged);
    o.column("RECENT").boolean(r.recent);
    o.column("SEEN").boolean(r.seen);
    o.column("USER").strings(&r.user);
    if depth == Depth::Whole {
        // BODY is TEXTBODY or HTMLBODY again: escaped once, then copied.
        let written = o.column("BODY").spanned(|v| v.text(r.body.as_deref()));
        for (name, text) in [("TEXTBODY", &r.textbody), ("HTMLBODY", &r.htmlbody)] {
            let value = o.column(name);
            if let (Some(text), Some(body)) = (text, &r.body)
                && same(text, body)
            {
                value.0.extend_from_within(written.clone());
            } else {
                value.text(text.as_deref());
            }
        }
        o.column("ATTACHMENTS").strings(&r.attachments);
        o.column("ATTACHMENTFILES").strings(&r.attachmentfiles);
        // Content-ID → file name pairs in order: a repeated Content-ID
        // stays repeated, as the message has it.
        let mut cids = Object::open(o.column("CIDS").0);
        for (cid, file) in &r.cids {
            cids.field(cid).string(file);
        }
        cids.close();
        o.column("DELIVERYSTATUS").text(r.deliverystatus.as_deref());
    }
    o.column("ERROR").text(r.error.as_deref());
    o.close();
}

/// Whether `a` and `b` are the same text, compared eight bytes at a time:
/// the guest's `memcmp`, which `==` calls, compares one at a time, and
/// took as long as escaping the text again.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (words_a, words_b) = (a.chunks_exact(8), b.chunks_exact(8));
    a.len() == b.len()
        && words_a.remainder() == words_b.remainder()
        && words_a
            .zip(words_b)
            .all(|(x, y)| u64::from_ne_bytes(word(x)) == u64::from_ne_bytes(word(y)))
}

/// Eight bytes of a slice that has them.
fn word(bytes: &[u8]) -> [u8; 8] {
    <[u8; 8]>::try_from(bytes).unwrap_or_default()
}

/// A JSON object being written: its fields follow one another, comma
/// separated.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// Starts the field `name`, escaped; its value is written next.
    fn field(&mut self, name: &str) -> Value<'_> {
        self.separate();
        string(self.out, name);
        self.out.push(b':');
        Value(self.out)
    }

    /// Starts the field of the tag's column `name` (upper-case ASCII
    /// letters, nothing to escape), written as it is: the same few names on
    /// every row.
    fn column(&mut self, name: &'static str) -> Value<'_> {
        debug_assert!(name.bytes().all(|b| b.is_ascii_uppercase()), "{name}");
        self.separate();
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        Value(self.out)
    }

    fn separate(&mut self) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// Where one JSON value is written.
struct Value<'a>(&'a mut Vec<u8>);

impl Value<'_> {
    fn number(self, n: u64) {
        self.0
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    /// Writes the value by `write`; where in the output it went.
    fn spanned(self, write: impl FnOnce(Value<'_>)) -> Range<usize> {
        let start = self.0.len();
        write(Value(&mut *self.0));
        start..self.0.len()
    }

    fn boolean(self, b: bool) {
        self.0.extend_from_slice(if b { b"true" } else { b"false" });
    }

    fn null(self) {
        self.0.extend_from_slice(b"null");
    }

    fn string(self, s: &str) {
        string(self.0, s);
    }

    /// A string, or `null` when absent.
    fn text(self, s: Option<&str>) {
        match s {
            Some(s) => string(self.0, s),
            None => self.null(),
        }
    }

    fn strings(self, list: &[String]) {
        self.0.push(b'[');
        for (i, s) in list.iter().enumerate() {
            if i > 0 {
                self.0.push(b',');
            }
            string(self.0, s);
        }
        self.0.push(b']');
    }
}

/// `s` as a JSON string, quotes included, appended to `out`, escaped as
/// serde_json escapes it: `"` and `\` with a backslash, the control
/// characters with their short escapes (`\n`, `\r`, `\t`, `\b`, `\f`)
/// or as `\u00xx`, everything else as it is (the text is UTF-8 already).
fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // `bytes[copied..at]` needs no escape and is not written yet.
    let mut copied = 0;
    let mut at = 0;
    while let Some(eight) = bytes.get(at..at + 8) {
        let mask = escapes(u64::from_le_bytes(word(eight)));
        if mask == 0 {
            at += 8;
            continue;
        }
        // The first byte to escape; the scan goes on right after it.
        let i = at + (mask.trailing_zeros() / 8) as usize;
        out.extend_from_slice(&bytes[copied..i]);
        escape(bytes[i], out);
        copied = i + 1;
        at = i + 1;
    }
    for (i, &byte) in bytes.iter().enumerate().skip(at) {
        if byte < 0x20 || byte == b'"' || byte == b'\\' {
            out.extend_from_slice(&bytes[copied..i]);
            escape(byte, out);
            copied = i + 1;
        }
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

/// The high bit of each of a word's eight bytes.
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The low seven bits of each of a word's eight bytes.
const LOWS: u64 = !HIGHS;

/// `byte` in each of a word's eight bytes.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// The bytes of `word` (eight, read little-endian) that JSON must escape,
/// a control character (below 0x20), `"` or `\`, each marked by its high
/// bit in the result. Per byte, exactly: adding to the low seven bits
/// alone can never carry into the next byte. A byte's high bit ends set
/// when it is 0x20 or more (`+ 0x60` reaches 0x80 from 0x20; a byte of
/// 0x80 or more has it already), and when it differs from `"` and from
/// `\` (its XOR with them nonzero: `+ 0x7f` reaches 0x80 from 1); the
/// bytes to escape are those where one of the three is clear.
fn escapes(word: u64) -> u64 {
    let at_least_space = ((word & LOWS) + splat(0x60)) | word;
    let differs = |c: u8| {
        let x = word ^ splat(c);
        ((x & LOWS) + LOWS) | x
    };
    !(at_least_space & differs(b'"') & differs(b'\\')) & HIGHS
}

/// Writes the escape of `byte`, one that JSON strings must escape, as
/// serde_json writes it: a backslash and a letter where JSON has one,
/// else `\u00` and two lower-case hex digits.
fn escape(byte: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => {
            let hex = [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]];
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex[0], hex[1]]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::ser::{Serialize, SerializeMap, Serializer};

    /// The row as serde_json writes it: what [`write`] wrote before it
    /// wrote rows itself, and must still write, byte for byte.
    struct Reference<'a> {
        row: &'a MessageRow,
        depth: Depth,
    }

    impl Serialize for Reference<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let r = self.row;
            let mut map = s.serialize_map(None)?;
            map.serialize_entry("MESSAGENUMBER", &r.messagenumber)?;
            map.serialize_entry("UID", &r.uid)?;
            map.serialize_entry("SUBJECT", &r.subject)?;
            map.serialize_entry("FROM", &r.from)?;
            map.serialize_entry("TO", &r.to)?;
            map.serialize_entry("CC", &r.cc)?;
            map.serialize_entry("REPLYTO", &r.replyto)?;
            map.serialize_entry("MESSAGEID", &r.messageid)?;
            map.serialize_entry("DATE", &r.date)?;
            map.serialize_entry("SENTDATE", &r.sentdate)?;
            map.serialize_entry("RXDDATE", &r.rxddate)?;
            map.serialize_entry("SIZE", &r.size)?;
            map.serialize_entry("LINES", &r.lines)?;
            map.serialize_entry("HEADER", &r.header)?;
            map.serialize_entry("ANSWERED", &r.answered)?;
            map.serialize_entry("DELETED", &r.deleted)?;
            map.serialize_entry("DRAFT", &r.draft)?;
            map.serialize_entry("FLAGGED", &r.flagged)?;
            map.serialize_entry("RECENT", &r.recent)?;
            map.serialize_entry("SEEN", &r.seen)?;
            map.serialize_entry("USER", &r.user)?;
            if self.depth == Depth::Whole {
                map.serialize_entry("BODY", &r.body)?;
                map.serialize_entry("TEXTBODY", &r.textbody)?;
                map.serialize_entry("HTMLBODY", &r.htmlbody)?;
                map.serialize_entry("ATTACHMENTS", &r.attachments)?;
                map.serialize_entry("ATTACHMENTFILES", &r.attachmentfiles)?;
                map.serialize_entry("CIDS", &Cids(&r.cids))?;
                map.serialize_entry("DELIVERYSTATUS", &r.deliverystatus)?;
            }
            map.serialize_entry("ERROR", &r.error)?;
            map.end()
        }
    }

    struct Cids<'a>(&'a [(String, String)]);

    impl Serialize for Cids<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (cid, file) in self.0 {
                map.serialize_entry(cid, file)?;
            }
            map.end()
        }
    }

    fn reference(rows: &[MessageRow], depth: Depth) -> Vec<u8> {
        let mut out = Vec::new();
        for row in rows {
            serde_json::to_writer(&mut out, &Reference { row, depth }).unwrap();
            out.push(b'\n');
        }
        out
    }

    fn written(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    /// A small deterministic generator (xorshift), so a failure repeats.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// The bytes where the bit tricks could go wrong: each side of every
    /// bound, the escaped ones, the high bit set.
    const EDGES: [u8; 14] = [
        0x00, 0x01, 0x1f, 0x20, 0x21, b'"', 0x23, b'[', b'\\', b']', 0x7f, 0x80, 0xa0, 0xff,
    ];

    #[test]
    fn a_words_bytes_to_escape_are_marked_exactly() {
        let naive = |w: u64| {
            let marks = w.to_le_bytes().map(|b| {
                if b < 0x20 || b == b'"' || b == b'\\' {
                    0x80
                } else {
                    0
                }
            });
            u64::from_le_bytes(marks)
        };
        // Every byte value in every position among harmless neighbours.
        for position in 0..8 {
            for byte in 0..=255u8 {
                let mut word = [b'a'; 8];
                word[position] = byte;
                let word = u64::from_le_bytes(word);
                assert_eq!(escapes(word), naive(word), "{word:#018x}");
            }
        }
        // Words of edge bytes only, where borrows run between bytes.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200_000 {
            let r = rng.next();
            let word = u64::from_le_bytes(std::array::from_fn(|i| {
                EDGES[((r >> (i * 8)) & 0xff) as usize % EDGES.len()]
            }));
            assert_eq!(escapes(word), naive(word), "{word:#018x}");
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        // Every byte below 0x80 at every offset of strings up to 20 bytes
        // long, so each lands in the word loop and in the tail.
        for len in 1..=20 {
            for at in 0..len {
                for byte in 0..0x80u8 {
                    let mut bytes = vec![b'x'; len];
                    bytes[at] = byte;
                    let s = String::from_utf8(bytes).unwrap();
                    assert_eq!(written(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
                }
            }
        }
        // Text of edge bytes and multi-byte characters.
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let len = (rng.next() % 40) as usize;
            let s: String = (0..len)
                .map(|_| match rng.next() % 6 {
                    0 => 'ü',
                    1 => '\u{2028}',
                    2 => '😀',
                    _ => char::from(EDGES[(rng.next() % EDGES.len() as u64) as usize]),
                })
                .collect();
            assert_eq!(written(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
        }
        assert_eq!(written(""), r#""""#);
    }

    #[test]
    fn texts_are_the_same_only_when_every_byte_is() {
        let text = "0123456789abcdefXYZ";
        assert!(same(text, text));
        assert!(same("", ""));
        for at in 0..text.len() {
            let mut other = text.as_bytes().to_vec();
            other[at] = b'-';
            let other = String::from_utf8(other).unwrap();
            assert!(!same(text, &other), "{other}");
        }
        assert!(!same(text, &text[..16]));
        assert!(!same(&text[..8], &text[..9]));
    }

    #[test]
    fn rows_are_serde_jsons_bytes() {
        let mut odd = row();
        odd.subject = None;
        odd.lines = Some(4_000_000_000);
        odd.size = u64::MAX;
        odd.user = vec![];
        odd.cids = vec![];
        odd.body = Some("a\r\n\tb\u{7f}\u{0}\"\\".repeat(9));
        odd.htmlbody = Some("<p>é</p>".into());
        odd.deliverystatus = Some("failed".into());
        odd.error = Some("nothing for message number 3".into());
        let mut many = row();
        many.cids = vec![
            ("c1".into(), "a.png".into()),
            ("c1".into(), "b.png".into()),
            ("\"odd\"".into(), "c.png".into()),
        ];
        many.user = vec!["$A".into(), "\\B".into()];
        // BODY is HTMLBODY again (copied, not escaped twice).
        many.textbody = None;
        many.htmlbody = Some("<p>\"x\"</p>\r\n".into());
        many.body = many.htmlbody.clone();
        let rows = [row(), odd, many];
        for depth in [Depth::Headers, Depth::Whole] {
            let mut out = Vec::new();
            write(rows.to_vec(), depth, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(reference(&rows, depth)).unwrap()
            );
        }
    }

    fn row() -> MessageRow {
        MessageRow {
            messagenumber: 1,
            uid: 7,
            subject: Some("Grüße \"quoted\"\u{1}".into()),
            from: "a@example.org".into(),
            to: String::new(),
            cc: String::new(),
            replyto: String::new(),
            messageid: "<x@y>".into(),
            date: None,
            sentdate: None,
            rxddate: Some("2024-01-01T00:00:00+00:00".into()),
            size: 42,
            lines: None,
            header: "Subject: x\r\n".into(),
            answered: false,
            deleted: false,
            draft: false,
            flagged: true,
            recent: false,
            seen: true,
            user: vec!["$Label1".into()],
            body: Some("hi".into()),
            textbody: Some("hi".into()),
            htmlbody: None,
            attachments: vec!["a.png".into()],
            attachmentfiles: vec![],
            cids: vec![("c1".into(), "a.png".into())],
            deliverystatus: None,
            error: None,
        }
    }

    #[test]
    fn header_rows_carry_the_header_columns_and_error() {
        let mut out = Vec::new();
        write(vec![row(), row()], Depth::Headers, &mut out);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            r#"{"MESSAGENUMBER":1,"UID":7,"SUBJECT":"Grüße \"quoted\"\u0001","FROM":"a@example.org","TO":"","CC":"","REPLYTO":"","MESSAGEID":"<x@y>","DATE":null,"SENTDATE":null,"RXDDATE":"2024-01-01T00:00:00+00:00","SIZE":42,"LINES":null,"HEADER":"Subject: x\r\n","ANSWERED":false,"DELETED":false,"DRAFT":false,"FLAGGED":true,"RECENT":false,"SEEN":true,"USER":["$Label1"],"ERROR":null}"#
        );
    }

    #[test]
    fn whole_rows_carry_every_column_in_order() {
        let mut out = Vec::new();
        write(vec![row()], Depth::Whole, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with(
            r#""USER":["$Label1"],"BODY":"hi","TEXTBODY":"hi","HTMLBODY":null,"ATTACHMENTS":["a.png"],"ATTACHMENTFILES":[],"CIDS":{"c1":"a.png"},"DELIVERYSTATUS":null,"ERROR":null}
"#
        ));
    }
}
