//! Printing results: rows keyed by the tag's column names in upper case, or a
//! summary object for actions without rows, as a table, JSON, NDJSON or CSV.

use std::io::{self, Write};

use cfimap_host::{FolderRow, MessageRow};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::args::Format;
use super::table;

/// One value of a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value (JSON `null`, empty in CSV).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(u64),
    /// Text.
    Text(String),
    /// A list of texts (tab-joined in CSV).
    List(Vec<String>),
    /// A list of numbers (tab-joined in CSV).
    Numbers(Vec<u32>),
    /// Name → value pairs (a JSON object; `name=value` tab-joined in CSV).
    Map(Vec<(String, String)>),
    /// Moved messages, old UID → new UID (JSON `[{"uid":…,"newuid":…}]`;
    /// `old=new` tab-joined in CSV).
    Moved(Vec<(u32, u32)>),
}

impl Cell {
    fn opt_text(v: Option<String>) -> Self {
        v.map_or(Cell::Null, Cell::Text)
    }

    fn opt_int(v: Option<u32>) -> Self {
        v.map_or(Cell::Null, |n| Cell::Int(u64::from(n)))
    }

    /// The cell as one string, list items joined by `sep`.
    pub fn text(&self, sep: &str) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Bool(b) => b.to_string(),
            Cell::Int(n) => n.to_string(),
            Cell::Text(s) => s.clone(),
            Cell::List(l) => l.join(sep),
            Cell::Numbers(l) => l.iter().map(u32::to_string).collect::<Vec<_>>().join(sep),
            Cell::Map(m) => m
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(sep),
            Cell::Moved(m) => m
                .iter()
                .map(|(old, new)| format!("{old}={new}"))
                .collect::<Vec<_>>()
                .join(sep),
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null => s.serialize_none(),
            Cell::Bool(b) => s.serialize_bool(*b),
            Cell::Int(n) => s.serialize_u64(*n),
            Cell::Text(t) => s.serialize_str(t),
            Cell::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for item in l {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Cell::Numbers(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for item in l {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Cell::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Cell::Moved(m) => {
                let mut seq = s.serialize_seq(Some(m.len()))?;
                for (uid, newuid) in m {
                    seq.serialize_element(&Moved {
                        uid: *uid,
                        newuid: *newuid,
                    })?;
                }
                seq.end()
            }
        }
    }
}

/// One moved message in JSON.
#[derive(serde::Serialize)]
struct Moved {
    uid: u32,
    newuid: u32,
}

/// One row or summary: named cells in column order.
#[derive(Debug, Clone, PartialEq)]
pub struct Record(pub Vec<(&'static str, Cell)>);

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Record {
    /// The cell of `column`.
    pub fn get(&self, column: &str) -> Option<&Cell> {
        self.0.iter().find(|(k, _)| *k == column).map(|(_, v)| v)
    }
}

/// What an action produced.
#[derive(Debug)]
pub enum Output {
    /// Rows of a query.
    Rows {
        /// Every column, in order (JSON, NDJSON and CSV show them all).
        columns: &'static [&'static str],
        /// The columns a table shows (a terminal is narrow; an `ERROR`
        /// column is added when a row failed, see [`crate::table::Table`]).
        table_columns: Vec<&'static str>,
        /// The rows.
        rows: Vec<Record>,
    },
    /// One object saying what was done.
    Summary(Record),
    /// Rows already written as they arrived (NDJSON of a read), and how
    /// writing them ended.
    Written(io::Result<()>),
}

impl Output {
    /// Shows `chosen` in a table instead of the default columns.
    pub fn show_columns(&mut self, chosen: &[&'static str]) {
        if let Output::Rows { table_columns, .. } = self {
            *table_columns = chosen.to_vec();
        }
    }
}

/// The columns named in `list` (the tag's names, comma-separated, any case)
/// among `columns`; an unknown name is an error listing the known ones.
pub fn pick_columns(columns: &[&'static str], list: &str) -> Result<Vec<&'static str>, String> {
    let mut picked = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(column) = columns.iter().find(|c| c.eq_ignore_ascii_case(name)) else {
            return Err(format!(
                "invalid columns: there is no column {name:?}; the columns are {}",
                columns.join(", ")
            ));
        };
        picked.push(*column);
    }
    if picked.is_empty() {
        return Err("invalid columns: name at least one column".into());
    }
    Ok(picked)
}

/// The columns of listAllFolders.
pub const FOLDER_COLUMNS: &[&str] = &[
    "FULLNAME",
    "NAME",
    "PARENT",
    "DELIMITER",
    "TOTALMESSAGES",
    "UNREAD",
    "NEW",
    "ATTRIBUTES",
    "SPECIALUSE",
];

/// The columns of getHeaderOnly: the tag's header columns (no bodies or
/// attachments), plus ERROR.
pub const HEADER_COLUMNS: &[&str] = &[
    "MESSAGENUMBER",
    "UID",
    "SUBJECT",
    "FROM",
    "TO",
    "CC",
    "REPLYTO",
    "MESSAGEID",
    "DATE",
    "SENTDATE",
    "RXDDATE",
    "SIZE",
    "LINES",
    "HEADER",
    "ANSWERED",
    "DELETED",
    "DRAFT",
    "FLAGGED",
    "RECENT",
    "SEEN",
    "USER",
    "ERROR",
];

/// The columns of getAll: every field of `message-row`.
pub const MESSAGE_COLUMNS: &[&str] = &[
    "MESSAGENUMBER",
    "UID",
    "SUBJECT",
    "FROM",
    "TO",
    "CC",
    "REPLYTO",
    "MESSAGEID",
    "DATE",
    "SENTDATE",
    "RXDDATE",
    "SIZE",
    "LINES",
    "HEADER",
    "ANSWERED",
    "DELETED",
    "DRAFT",
    "FLAGGED",
    "RECENT",
    "SEEN",
    "USER",
    "BODY",
    "TEXTBODY",
    "HTMLBODY",
    "ATTACHMENTS",
    "ATTACHMENTFILES",
    "CIDS",
    "DELIVERYSTATUS",
    "ERROR",
];

/// listAllFolders rows.
pub fn folders(rows: Vec<FolderRow>) -> Output {
    let rows = rows
        .into_iter()
        .map(|r| {
            Record(vec![
                ("FULLNAME", Cell::Text(r.fullname)),
                ("NAME", Cell::Text(r.name)),
                ("PARENT", Cell::Text(r.parent)),
                ("DELIMITER", Cell::opt_text(r.delimiter)),
                ("TOTALMESSAGES", Cell::opt_int(r.totalmessages)),
                ("UNREAD", Cell::opt_int(r.unread)),
                ("NEW", Cell::opt_int(r.new)),
                ("ATTRIBUTES", Cell::List(r.attributes)),
                ("SPECIALUSE", Cell::opt_text(r.specialuse)),
            ])
        })
        .collect();
    Output::Rows {
        columns: FOLDER_COLUMNS,
        // What a person looks for; --columns shows the rest.
        table_columns: vec!["FULLNAME", "TOTALMESSAGES", "UNREAD", "NEW", "SPECIALUSE"],
        rows,
    }
}

/// The columns of getAll (`bodies`) or getHeaderOnly rows.
pub fn message_columns(bodies: bool) -> &'static [&'static str] {
    if bodies {
        MESSAGE_COLUMNS
    } else {
        HEADER_COLUMNS
    }
}

/// The columns a table shows of getAll (`bodies`) or getHeaderOnly rows,
/// before any `ERROR` column.
pub fn message_table_columns(bodies: bool) -> Vec<&'static str> {
    let mut columns = vec!["UID", "DATE", "FROM", "SUBJECT", "SIZE", "SEEN"];
    if bodies {
        columns.push("ATTACHMENTS");
    }
    columns
}

/// getHeaderOnly / getAll rows. `bodies`: the action was getAll (the table
/// then shows the attachments too).
pub fn messages(rows: Vec<MessageRow>, bodies: bool) -> Output {
    Output::Rows {
        columns: message_columns(bodies),
        table_columns: message_table_columns(bodies),
        rows: rows.into_iter().map(|r| message(r, bodies)).collect(),
    }
}

/// One row's cells in the order of [`message_columns`]`(bodies)`, built
/// column by column: a getHeaderOnly row never holds, nor is searched for,
/// the body cells its action does not have.
fn message(r: MessageRow, bodies: bool) -> Record {
    let mut cells = Vec::with_capacity(message_columns(bodies).len());
    cells.extend([
        ("MESSAGENUMBER", Cell::Int(u64::from(r.messagenumber))),
        ("UID", Cell::Int(u64::from(r.uid))),
        ("SUBJECT", Cell::opt_text(r.subject)),
        ("FROM", Cell::Text(r.from)),
        ("TO", Cell::Text(r.to)),
        ("CC", Cell::Text(r.cc)),
        ("REPLYTO", Cell::Text(r.replyto)),
        ("MESSAGEID", Cell::Text(r.messageid)),
        ("DATE", Cell::opt_text(r.date)),
        ("SENTDATE", Cell::opt_text(r.sentdate)),
        ("RXDDATE", Cell::opt_text(r.rxddate)),
        ("SIZE", Cell::Int(r.size)),
        ("LINES", Cell::opt_int(r.lines)),
        ("HEADER", Cell::Text(r.header)),
        ("ANSWERED", Cell::Bool(r.answered)),
        ("DELETED", Cell::Bool(r.deleted)),
        ("DRAFT", Cell::Bool(r.draft)),
        ("FLAGGED", Cell::Bool(r.flagged)),
        ("RECENT", Cell::Bool(r.recent)),
        ("SEEN", Cell::Bool(r.seen)),
        ("USER", Cell::List(r.user)),
    ]);
    if bodies {
        cells.extend([
            ("BODY", Cell::opt_text(r.body)),
            ("TEXTBODY", Cell::opt_text(r.textbody)),
            ("HTMLBODY", Cell::opt_text(r.htmlbody)),
            ("ATTACHMENTS", Cell::List(r.attachments)),
            ("ATTACHMENTFILES", Cell::List(r.attachmentfiles)),
            ("CIDS", Cell::Map(r.cids)),
            ("DELIVERYSTATUS", Cell::opt_text(r.deliverystatus)),
        ]);
    }
    cells.push(("ERROR", Cell::opt_text(r.error)));
    Record(cells)
}

/// Writes `output` to `out` in `format`. `pretty`: indent JSON (on a
/// terminal).
pub fn render(
    output: &Output,
    format: Format,
    pretty: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match (format, output) {
        (Format::Json, Output::Rows { rows, .. }) => {
            write_json(out, rows, pretty)?;
            writeln!(out)
        }
        (Format::Json, Output::Summary(record)) => {
            write_json(out, record, pretty)?;
            writeln!(out)
        }
        (Format::Ndjson, Output::Rows { rows, .. }) => {
            for row in rows {
                write_json(out, row, false)?;
                writeln!(out)?;
            }
            Ok(())
        }
        (Format::Ndjson, Output::Summary(record)) => {
            write_json(out, record, false)?;
            writeln!(out)
        }
        (Format::Csv, Output::Rows { columns, rows, .. }) => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(columns.iter())?;
            for row in rows {
                w.write_record(columns.iter().map(|c| cell_text(row, c, "\t")))?;
            }
            w.flush()
        }
        (Format::Csv, Output::Summary(record)) => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(record.0.iter().map(|(k, _)| *k))?;
            w.write_record(record.0.iter().map(|(_, v)| v.text("\t")))?;
            w.flush()
        }
        (
            Format::Table,
            Output::Rows {
                table_columns,
                rows,
                ..
            },
        ) => table::rows(out, table_columns, rows, table::terminal_width()),
        // Already written.
        (_, Output::Written(_)) => Ok(()),
        (Format::Table, Output::Summary(record)) => table::summary(out, record),
    }
}

/// A batch of a read's rows as the component hands them over.
pub enum Batch {
    /// Rows lifted field by field (`row-reader.next`): what CSV is made of.
    Rows(Vec<MessageRow>),
    /// Rows as the component's JSON lines (`row-reader.next-ndjson`), one
    /// row a line: what JSON and NDJSON print. Only a printer reads them,
    /// so the host spares lifting each string out of the component (a
    /// copy and a UTF-8 check) and writing it again as JSON; the bytes are
    /// the same (`json_lines_are_the_rows_json`).
    Lines(Vec<u8>),
}

impl Batch {
    /// Whether `format` prints the component's JSON lines
    /// ([`Batch::Lines`]) rather than rows.
    pub fn prints_lines(format: Format) -> bool {
        matches!(format, Format::Json | Format::Ndjson)
    }
}

/// Rows written as they arrive, in one of the machine formats: NDJSON lines,
/// one JSON array opened before the first row and closed after the last,
/// or CSV with its header first. The bytes are those [`render`] writes for
/// the same rows at once (compact JSON), so memory stays at one batch
/// however many rows there are.
///
/// Nothing is written before the first row or [`RowStream::finish`]: an
/// action that fails before any row prints nothing, as it did when rows
/// were printed at once, and one that fails later leaves a JSON array
/// unclosed — no script can take it for a complete answer.
pub struct RowStream<W: Write> {
    sink: StreamSink<W>,
    columns: &'static [&'static str],
    /// Rows written so far; what JSON and CSV open with goes before the
    /// first.
    written: usize,
    /// Each row's JSON before it is written ([`compact_json`]).
    json: Vec<u8>,
}

enum StreamSink<W: Write> {
    Json(W),
    Ndjson(W),
    // Boxed: a csv writer carries its buffers and settings inline.
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> RowStream<W> {
    /// A stream of rows with `columns` (the CSV header) in `format` (a table
    /// streams through [`crate::table::Table`]; given `Table`, this writes NDJSON).
    pub fn new(format: Format, columns: &'static [&'static str], out: W) -> Self {
        let sink = match format {
            Format::Json => StreamSink::Json(out),
            Format::Csv => StreamSink::Csv(Box::new(csv::Writer::from_writer(out))),
            Format::Ndjson | Format::Table => StreamSink::Ndjson(out),
        };
        Self {
            sink,
            columns,
            written: 0,
            json: Vec::new(),
        }
    }

    /// Writes the rows of `batch` (an [`Output::Rows`]).
    pub fn write(&mut self, batch: &Output) -> io::Result<()> {
        let Output::Rows { rows, .. } = batch else {
            return Ok(());
        };
        for row in rows {
            self.begin()?;
            match &mut self.sink {
                StreamSink::Json(out) => {
                    if self.written > 0 {
                        out.write_all(b",")?;
                    }
                    compact_json(&mut self.json, row)?;
                    out.write_all(&self.json)?;
                }
                StreamSink::Ndjson(out) => {
                    compact_json(&mut self.json, row)?;
                    self.json.push(b'\n');
                    out.write_all(&self.json)?;
                }
                StreamSink::Csv(w) => {
                    w.write_record(self.columns.iter().map(|c| cell_text(row, c, "\t")))?;
                }
            }
            self.written += 1;
        }
        Ok(())
    }

    /// Writes the rows of `batch`, of getAll (`bodies`) or getHeaderOnly.
    pub fn write_batch(&mut self, batch: Batch, bodies: bool) -> io::Result<()> {
        match batch {
            Batch::Rows(rows) => self.write(&messages(rows, bodies)),
            Batch::Lines(lines) => self.write_lines(&lines),
        }
    }

    /// Writes the rows of `lines`, the component's JSON lines
    /// (`row-reader.next-ndjson`), the bytes [`RowStream::write`] writes
    /// for the same rows: as they are for NDJSON, each as an element of
    /// the array for JSON (JSON text escapes its line ends, so each line is
    /// one row). CSV is written from rows, never from lines.
    pub fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        match &mut self.sink {
            // Nothing to open or separate: the count would go unread.
            StreamSink::Ndjson(out) => out.write_all(lines),
            StreamSink::Json(out) => {
                for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    // The array opens before the first row (as `begin`).
                    out.write_all(if self.written == 0 { b"[" } else { b"," })?;
                    out.write_all(line)?;
                    self.written += 1;
                }
                Ok(())
            }
            StreamSink::Csv(_) => Err(io::Error::other("CSV is written from rows, not JSON lines")),
        }
    }

    /// Flushes what is written so far (a spinner on the same terminal is
    /// drawn again after it).
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            StreamSink::Json(out) | StreamSink::Ndjson(out) => out.flush(),
            StreamSink::Csv(w) => w.flush(),
        }
    }

    /// The array's opening bracket or the CSV header, before the first row.
    fn begin(&mut self) -> io::Result<()> {
        if self.written > 0 {
            return Ok(());
        }
        match &mut self.sink {
            StreamSink::Json(out) => out.write_all(b"["),
            StreamSink::Csv(w) => Ok(w.write_record(self.columns.iter())?),
            StreamSink::Ndjson(_) => Ok(()),
        }
    }

    /// Ends the stream (an empty one is `[]` or the CSV header alone) and
    /// flushes it.
    pub fn finish(mut self) -> io::Result<()> {
        self.begin()?;
        match self.sink {
            StreamSink::Json(mut out) => {
                out.write_all(b"]\n")?;
                out.flush()
            }
            StreamSink::Ndjson(mut out) => out.flush(),
            StreamSink::Csv(mut w) => w.flush(),
        }
    }
}

/// `value` as JSON: indented (`pretty`) by serde_json, else compact
/// ([`compact_json`]).
fn write_json<T: Serialize>(out: &mut dyn Write, value: &T, pretty: bool) -> io::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)
    } else {
        let mut json = Vec::new();
        compact_json(&mut json, value)?;
        out.write_all(&json)
    }
}

/// The most of [`RowStream`]'s JSON buffer kept from one row to the next:
/// rows of a few kilobytes reuse it; after a row with a text over about
/// 170 KB (see [`compact_json`]) it is given back.
const JSON_KEEP: usize = 1 << 20;

/// `value` as compact JSON in `json`, replacing what it held. Written by
/// sonic-rs, whose string escaping looks at 16 or 32 bytes at a time (SIMD)
/// where serde_json's looks at one: rows are mostly text (a getAll of 2,000
/// messages writes 12 MB of bodies and headers), and serde_json's escaping
/// was a ninth of that read's instructions. A read's rows streamed as JSON
/// or NDJSON no longer come here (they are the component's lines,
/// [`Batch::Lines`]); what does is printed at once or by `cfimap run`
/// (folder lists, summaries, a script's rows). The bytes are serde_json's
/// (`compact_json_is_serde_jsons`), as the component's own JSON lines
/// (`row-reader.next-ndjson`) are. The row is written whole into memory
/// first, so each text is held again, escaped, until the row is written;
/// sonic-rs reserves six times a text's length for it (its worst case),
/// of which only the pages written are touched.
fn compact_json<T: Serialize>(json: &mut Vec<u8>, value: &T) -> io::Result<()> {
    if json.capacity() > JSON_KEEP {
        *json = Vec::new();
    }
    json.clear();
    sonic_rs::to_writer(&mut *json, value).map_err(io::Error::other)
}

fn cell_text(row: &Record, column: &str, sep: &str) -> String {
    row.get(column).map(|c| c.text(sep)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder_row() -> FolderRow {
        FolderRow {
            fullname: "INBOX.Entwürfe".into(),
            name: "Entwürfe".into(),
            parent: "INBOX".into(),
            delimiter: Some(".".into()),
            totalmessages: Some(3),
            unread: Some(1),
            new: None,
            attributes: vec!["\\HasNoChildren".into(), "\\Drafts".into()],
            specialuse: Some("\\Drafts".into()),
        }
    }

    fn rendered(output: &Output, format: Format) -> String {
        let mut buf = Vec::new();
        render(output, format, false, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn message_row() -> MessageRow {
        MessageRow {
            messagenumber: 7,
            uid: 42,
            subject: Some("Grüße".into()),
            from: "Ann <ann@example.org>".into(),
            to: "bo@example.org".into(),
            cc: String::new(),
            replyto: String::new(),
            messageid: "<m@example.org>".into(),
            date: Some("2026-12-02T10:00:00+01:00".into()),
            sentdate: Some("2026-12-02T10:00:00+01:00".into()),
            rxddate: Some("2026-12-02T10:00:05+01:00".into()),
            size: 1234,
            lines: Some(12),
            header: "Subject: x\r\n".into(),
            answered: false,
            deleted: false,
            draft: false,
            flagged: true,
            recent: false,
            seen: true,
            user: vec!["$Label1".into()],
            body: Some("hello".into()),
            textbody: Some("hello".into()),
            htmlbody: None,
            attachments: vec!["a.pdf".into()],
            attachmentfiles: vec!["/tmp/a.pdf".into()],
            cids: vec![("c1".into(), "a.pdf".into())],
            deliverystatus: None,
            error: Some("broken".into()),
        }
    }

    #[test]
    fn message_rows_have_exactly_their_actions_columns_in_order() {
        for bodies in [false, true] {
            let Output::Rows { columns, rows, .. } = messages(vec![message_row()], bodies) else {
                panic!("messages gave no rows");
            };
            assert_eq!(columns, message_columns(bodies));
            let keys: Vec<&str> = rows[0].0.iter().map(|(k, _)| *k).collect();
            assert_eq!(keys, columns, "bodies: {bodies}");
            assert_eq!(rows[0].get("UID"), Some(&Cell::Int(42)));
            assert_eq!(rows[0].get("ERROR"), Some(&Cell::Text("broken".into())));
            let body = rows[0].get("TEXTBODY");
            assert_eq!(body.is_some(), bodies, "TEXTBODY with bodies: {bodies}");
        }
    }

    #[test]
    fn json_rows_are_upper_case_and_ordered() {
        let out = rendered(&folders(vec![folder_row()]), Format::Json);
        assert!(
            out.starts_with(r#"[{"FULLNAME":"INBOX.Entwürfe","NAME":"Entwürfe","#),
            "{out}"
        );
        assert!(out.contains(r#""NEW":null"#));
        assert!(out.contains(r#""ATTRIBUTES":["\\HasNoChildren","\\Drafts"]"#));
    }

    #[test]
    fn tables_show_control_characters_as_escapes_and_json_keeps_them() {
        let mut row = folder_row();
        row.fullname = "evil\u{1b}[2J\u{7}\u{9b}x\u{202e}gpj.exe\r".into();
        let output = folders(vec![row]);
        let table = rendered(&output, Format::Table);
        for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\r'] {
            assert!(!table.contains(c), "{c:?} reached the terminal: {table}");
        }
        for escape in ["\\x1b[2J", "\\x07", "\\u{9b}", "\\u{202e}", "\\x0d"] {
            assert!(table.contains(escape), "{escape} not shown: {table}");
        }
        let json: serde_json::Value =
            serde_json::from_str(&rendered(&output, Format::Json)).expect("JSON");
        assert_eq!(
            json[0]["FULLNAME"], "evil\u{1b}[2J\u{7}\u{9b}x\u{202e}gpj.exe\r",
            "JSON keeps the exact value"
        );
    }

    #[test]
    fn streamed_rows_are_the_bytes_written_at_once() {
        let batches = [vec![folder_row(), folder_row()], vec![], vec![folder_row()]];
        let all: Vec<FolderRow> = batches.iter().flatten().cloned().collect();
        for format in [Format::Json, Format::Ndjson, Format::Csv] {
            let mut streamed = Vec::new();
            let mut stream = RowStream::new(format, FOLDER_COLUMNS, &mut streamed);
            for batch in &batches {
                stream.write(&folders(batch.clone())).unwrap();
            }
            stream.finish().unwrap();
            let at_once = rendered(&folders(all.clone()), format);
            assert_eq!(String::from_utf8(streamed).unwrap(), at_once, "{format:?}");
        }
        let mut empty = Vec::new();
        RowStream::new(Format::Json, FOLDER_COLUMNS, &mut empty)
            .finish()
            .unwrap();
        assert_eq!(empty, b"[]\n");
        // Failing before the first row writes nothing; after it, the array
        // stays open.
        let mut failed = Vec::new();
        let mut stream = RowStream::new(Format::Json, FOLDER_COLUMNS, &mut failed);
        stream.write(&folders(vec![])).unwrap();
        drop(stream);
        assert!(failed.is_empty());
        let mut stream = RowStream::new(Format::Json, FOLDER_COLUMNS, &mut failed);
        stream.write(&folders(vec![folder_row()])).unwrap();
        drop(stream);
        assert!(failed.starts_with(b"[{") && !failed.ends_with(b"]\n"));
    }

    /// The rows' JSON lines, as the component hands them over: one
    /// compact object a line (what its test holds it to: serde_json's).
    fn lines_of(rows: &[MessageRow], bodies: bool) -> Vec<u8> {
        let Output::Rows { rows, .. } = messages(rows.to_vec(), bodies) else {
            unreachable!("messages are rows");
        };
        let mut lines = Vec::new();
        for row in &rows {
            lines.extend(serde_json::to_vec(row).unwrap());
            lines.push(b'\n');
        }
        lines
    }

    #[test]
    fn json_lines_are_the_rows_json() {
        let mut second = message_row();
        second.uid = 43;
        second.subject = Some("line\nbreak \"quoted\"".into());
        let batches = [
            vec![message_row(), second.clone()],
            vec![],
            vec![message_row()],
        ];
        for bodies in [false, true] {
            for format in [Format::Json, Format::Ndjson] {
                let write = |lines: bool| {
                    let mut out = Vec::new();
                    let mut stream = RowStream::new(format, message_columns(bodies), &mut out);
                    for batch in &batches {
                        let batch = if lines {
                            Batch::Lines(lines_of(batch, bodies))
                        } else {
                            Batch::Rows(batch.clone())
                        };
                        stream.write_batch(batch, bodies).unwrap();
                    }
                    stream.finish().unwrap();
                    String::from_utf8(out).unwrap()
                };
                let from_rows = write(false);
                assert_eq!(write(true), from_rows, "{format:?}, bodies {bodies}");
                let rows = from_rows.matches(r#""UID":"#).count();
                assert_eq!(rows, 3, "{from_rows}");
            }
        }
        // No row: an empty array, or nothing.
        for (format, empty) in [(Format::Json, "[]\n"), (Format::Ndjson, "")] {
            let mut out = Vec::new();
            let mut stream = RowStream::new(format, message_columns(true), &mut out);
            stream.write_batch(Batch::Lines(Vec::new()), true).unwrap();
            stream.finish().unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), empty, "{format:?}");
        }
        // CSV is made of rows only.
        let mut out = Vec::new();
        let mut csv = RowStream::new(Format::Csv, message_columns(true), &mut out);
        let lines = Batch::Lines(lines_of(&[message_row()], true));
        assert!(csv.write_batch(lines, true).is_err());
    }

    #[test]
    fn empty_json_is_an_empty_array() {
        assert_eq!(rendered(&folders(vec![]), Format::Json), "[]\n");
        assert_eq!(rendered(&folders(vec![]), Format::Ndjson), "");
    }

    #[test]
    fn csv_joins_lists_with_tabs() {
        let out = rendered(&folders(vec![folder_row()]), Format::Csv);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some(FOLDER_COLUMNS.join(",").as_str()));
        assert!(lines.next().unwrap().contains("\\HasNoChildren\t\\Drafts"));
    }

    #[test]
    fn summary_is_one_object() {
        let s = Output::Summary(Record(vec![
            ("action", Cell::Text("createFolder".into())),
            ("affected", Cell::Int(1)),
            ("folders", Cell::List(vec!["A".into()])),
        ]));
        assert_eq!(
            rendered(&s, Format::Json),
            "{\"action\":\"createFolder\",\"affected\":1,\"folders\":[\"A\"]}\n"
        );
        assert_eq!(rendered(&s, Format::Ndjson).lines().count(), 1);
    }

    /// Every character class a string's escaping treats apart, at every
    /// position of a 16-byte block and across block edges: sonic-rs must
    /// write serde_json's bytes.
    #[test]
    fn compact_json_is_serde_jsons() {
        let mut texts: Vec<String> = (0u8..=0x7f).map(|b| char::from(b).to_string()).collect();
        texts.extend(
            [
                "é",
                "€",
                "𝄞",
                "\u{2028}",
                "\u{feff}",
                "\u{10ffff}",
                "\r\n",
                "a\"b\\c\u{1}",
            ]
            .map(str::to_owned),
        );
        let all: String = texts.concat();
        for pad in 0..40 {
            texts.push(format!("{}{all}{}", "x".repeat(pad), "y".repeat(pad)));
        }
        let record = Record(vec![
            ("texts", Cell::List(texts.clone())),
            ("text", Cell::Text(all.clone())),
            ("empty", Cell::Text(String::new())),
            ("map", Cell::Map(vec![(all.clone(), all.clone())])),
            ("no list", Cell::List(vec![])),
            ("no map", Cell::Map(vec![])),
            ("numbers", Cell::Numbers(vec![0, 7, u32::MAX])),
            ("moved", Cell::Moved(vec![(1, 2), (u32::MAX, 0)])),
            ("int", Cell::Int(u64::MAX)),
            ("none", Cell::Null),
            ("yes", Cell::Bool(true)),
        ]);
        let mut ours = Vec::new();
        write_json(&mut ours, &record, false).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(&record).unwrap()
        );

        // Streamed, through the reused buffer: a row longer than it keeps
        // (2 MiB of text with escapes), then a short one.
        let long = Record(vec![("TEXT", Cell::Text("line\r\n\"é\"".repeat(200_000)))]);
        let short = Record(vec![("TEXT", Cell::Text("x".into()))]);
        for format in [Format::Ndjson, Format::Json] {
            let mut stream = RowStream::new(format, &["TEXT"], Vec::new());
            let rows = || Output::Rows {
                columns: &["TEXT"],
                table_columns: vec!["TEXT"],
                rows: vec![long.clone(), short.clone(), long.clone(), short.clone()],
            };
            stream.write(&rows()).unwrap();
            let (StreamSink::Ndjson(out) | StreamSink::Json(out)) = &stream.sink else {
                unreachable!("a JSON stream")
            };
            let ours = String::from_utf8(out.clone()).unwrap();
            let lines = [&long, &short, &long, &short].map(|r| serde_json::to_string(r).unwrap());
            let expected = match format {
                Format::Ndjson => lines.map(|l| l + "\n").concat(),
                _ => format!("[{}", lines.join(",")),
            };
            assert!(ours == expected, "{format:?} rows differ from serde_json's");
        }
    }

    #[test]
    fn cids_are_an_object() {
        let c = Cell::Map(vec![("logo.png".into(), "part1@x".into())]);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"logo.png":"part1@x"}"#
        );
    }
}
