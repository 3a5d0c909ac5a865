//! Tables for people: a few columns chosen per action, fitted to the
//! terminal's width so that every row is one line (but for a number wider
//! than its column, never cut, and the error of a row that came after the
//! columns were sized, on a line of its own; see [`Table`]).
//!
//! Cells are shortened for reading, never for machines (JSON, NDJSON and CSV
//! keep every value whole): dates lose their seconds and zone, sizes are
//! written in KB and MB, lists are joined with commas, line breaks become
//! spaces, and a value wider than its column ends in `…`. When the columns
//! do not fit, the widest are narrowed first, never below their heading.
//! Control characters are shown as escapes (see [`visible`]), so nothing a
//! server sends can move the cursor or recolour the terminal.
//!
//! One getAll row is shown as a mail reader shows a message: its headers,
//! then its text.

use std::io::{self, Write};

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::output::{Cell, Record};

/// Columns are this far apart.
const GAP: &str = "  ";

/// The width to fit: the terminal's, else `COLUMNS`, else 100.
pub fn terminal_width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        return usize::from(w).max(20);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w >= 20)
        .unwrap_or(100)
}

/// Writes `rows` as a table of `columns`, at most `width` wide, sized by
/// every row.
pub fn rows(
    out: &mut dyn Write,
    columns: &[&'static str],
    rows: &[Record],
    width: usize,
) -> io::Result<()> {
    let mut table = Table::new(out, columns.to_vec(), width, usize::MAX);
    table.push(rows)?;
    table.finish()
}

/// How many rows a streamed table holds to size its columns before it
/// writes anything: one batch of a read.
pub const SAMPLE: usize = 64;

/// A table written as its rows arrive, so memory stays at the sample
/// whatever the number of rows (a folder of 100,000 messages, or getAll
/// rows carrying their bodies).
///
/// The first `sample` rows are held, reduced to the cells they show; their
/// widths and the headings size the columns; then they and every later row
/// are written at those widths, a later value wider than its column ending
/// in `…` like any other. An `ERROR` column is added when a held row failed;
/// a later row that failed gets its error on a line of its own below it.
pub struct Table<W: Write> {
    out: W,
    columns: Vec<&'static str>,
    width: usize,
    sample: usize,
    /// Rows held until the columns are sized: their cells, and their error.
    held: Vec<(Vec<String>, String)>,
    /// The widths, once written the heading.
    layout: Option<Layout>,
}

/// The columns as sized.
struct Layout {
    widths: Vec<usize>,
    right: Vec<bool>,
    /// An `ERROR` column was added.
    errors: bool,
}

impl<W: Write> Table<W> {
    /// A table of `columns` at most `width` wide, sized by its first
    /// `sample` rows (`usize::MAX`: by all of them).
    pub fn new(out: W, columns: Vec<&'static str>, width: usize, sample: usize) -> Self {
        Table {
            out,
            columns,
            width,
            sample,
            held: Vec::new(),
            layout: None,
        }
    }

    /// Adds `rows`.
    pub fn push(&mut self, rows: &[Record]) -> io::Result<()> {
        for row in rows {
            let cells = self.columns.iter().map(|c| shown(c, row.get(c))).collect();
            let error = if self.columns.contains(&"ERROR") {
                String::new()
            } else {
                shown("ERROR", row.get("ERROR"))
            };
            if self.layout.is_none() && self.held.len() >= self.sample {
                // A row past the sample: more may come, so size for them.
                self.lay_out(false)?;
            }
            if self.layout.is_some() {
                self.line(cells, &error)?;
            } else {
                self.held.push((cells, error));
            }
        }
        Ok(())
    }

    /// Writes what is held (the heading alone for no rows) and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        if self.layout.is_none() {
            self.lay_out(true)?;
        }
        self.out.flush()
    }

    /// Whether any row was given.
    pub fn has_rows(&self) -> bool {
        self.layout.is_some() || !self.held.is_empty()
    }

    /// Flushes what is written so far.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The writer, nothing of the table written (for a letter instead).
    pub fn into_writer(self) -> W {
        self.out
    }

    /// Sizes the columns by the held rows (`all` of them, or a sample of
    /// more to come), writes the heading and them.
    fn lay_out(&mut self, all: bool) -> io::Result<()> {
        let held = std::mem::take(&mut self.held);
        let errors = held.iter().any(|(_, e)| !e.is_empty());
        let mut headings: Vec<String> = self.columns.iter().map(|c| (*c).to_owned()).collect();
        if errors {
            headings.push("ERROR".to_owned());
        }
        let natural: Vec<usize> = (0..headings.len())
            .map(|i| {
                held.iter()
                    .map(|(cells, error)| cells.get(i).unwrap_or(error).width())
                    .chain(std::iter::once(headings[i].width()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let floors: Vec<usize> = headings.iter().map(|c| c.width()).collect();
        let available = self
            .width
            .saturating_sub(GAP.len() * headings.len().saturating_sub(1));
        let mut widths = fit(&natural, &floors, available);
        if !all {
            // Rows none of these measured are to come: numbers get room for
            // two more digits, and the width left goes to the text columns.
            let numbers = headings.iter().filter(|c| numeric(c)).count();
            if widths.iter().sum::<usize>() + 2 * numbers <= available {
                for (w, c) in widths.iter_mut().zip(&headings) {
                    *w += if numeric(c) { 2 } else { 0 };
                }
            }
            let flexible: Vec<usize> = (0..headings.len())
                .filter(|&i| !numeric(&headings[i]) && !fixed(&headings[i]))
                .collect();
            let left = available.saturating_sub(widths.iter().sum());
            if let Some(share) = left.checked_div(flexible.len()) {
                for i in flexible {
                    widths[i] += share;
                }
            }
        }
        self.layout = Some(Layout {
            widths,
            right: headings.iter().map(|c| numeric(c)).collect(),
            errors,
        });
        self.write_line(&headings)?;
        let rules: Vec<String> = self
            .layout
            .iter()
            .flat_map(|l| &l.widths)
            .map(|w| "─".repeat(*w))
            .collect();
        writeln!(self.out, "{}", rules.join(GAP))?;
        for (cells, error) in held {
            self.line(cells, &error)?;
        }
        Ok(())
    }

    /// Writes a row of `cells`, and its `error` in its column or below it.
    fn line(&mut self, mut cells: Vec<String>, error: &str) -> io::Result<()> {
        let in_column = self.layout.as_ref().is_some_and(|l| l.errors);
        if in_column {
            cells.push(error.to_owned());
        }
        self.write_line(&cells)?;
        if !in_column && !error.is_empty() {
            let text = truncate(&format!("  ERROR: {error}"), self.width);
            writeln!(self.out, "{text}")?;
        }
        Ok(())
    }

    /// Writes `texts` in the laid-out columns, cut to their widths.
    fn write_line(&mut self, texts: &[String]) -> io::Result<()> {
        let Some(layout) = &self.layout else {
            return Ok(());
        };
        let mut parts = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let width = layout.widths.get(i).copied().unwrap_or(0);
            let number = layout.right.get(i) == Some(&true);
            // A number cut short would be another number: it overflows instead.
            let text = if number {
                text.clone()
            } else {
                truncate(text, width)
            };
            let pad = " ".repeat(width.saturating_sub(text.width()));
            let last = i + 1 == texts.len();
            parts.push(match (number, last) {
                (true, _) => format!("{pad}{text}"),
                (false, true) => text,
                (false, false) => format!("{text}{pad}"),
            });
        }
        writeln!(self.out, "{}", parts.join(GAP).trim_end())
    }
}

/// Writes a summary record as `name  value` lines.
pub fn summary(out: &mut dyn Write, record: &Record) -> io::Result<()> {
    let name_width = record.0.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
    for (name, value) in &record.0 {
        let pad = " ".repeat(name_width - name.width());
        writeln!(out, "{name}{pad}{GAP}{}", shown(name, Some(value)))?;
    }
    Ok(())
}

/// Writes one getAll row as a mail reader shows a message.
pub fn letter(out: &mut dyn Write, row: &Record) -> io::Result<()> {
    let text = |c: &str| row.get(c).map(|v| v.text(", ")).unwrap_or_default();
    let mut headers = vec![("From", text("FROM")), ("To", text("TO"))];
    if !text("CC").is_empty() {
        headers.push(("Cc", text("CC")));
    }
    headers.push(("Date", short_date(&text("DATE"))));
    headers.push(("Subject", text("SUBJECT")));
    if !text("ATTACHMENTS").is_empty() {
        headers.push(("Attachments", text("ATTACHMENTS")));
    }
    if !text("ATTACHMENTFILES").is_empty() {
        headers.push(("Saved as", text("ATTACHMENTFILES")));
    }
    if !text("ERROR").is_empty() {
        headers.push(("Error", text("ERROR")));
    }
    for (name, value) in headers {
        writeln!(out, "{name}: {}", visible(&value).replace('\n', " "))?;
    }
    writeln!(out)?;
    let body = [text("TEXTBODY"), text("BODY")]
        .into_iter()
        .find(|b| !b.trim().is_empty());
    match body {
        Some(body) => writeln!(out, "{}", visible(body.replace("\r\n", "\n").trim_end())),
        None if !text("HTMLBODY").is_empty() => writeln!(
            out,
            "(this message has an HTML body only: --format json shows it as HTMLBODY)"
        ),
        None => writeln!(out, "(no text)"),
    }
}

/// The widths of columns whose contents want `natural`, narrowed until they
/// fit in `available`: the widest first, none below its `floor`.
fn fit(natural: &[usize], floors: &[usize], available: usize) -> Vec<usize> {
    let total = |cap: usize| -> usize {
        natural
            .iter()
            .zip(floors)
            .map(|(n, f)| (*n).min(cap).max((*f).min(*n)))
            .sum()
    };
    let widest = natural.iter().copied().max().unwrap_or(0);
    if total(widest) <= available {
        return natural.to_vec();
    }
    // The largest cap that fits (binary search; total grows with cap).
    let (mut lo, mut hi) = (0, widest);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if total(mid) <= available {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    natural
        .iter()
        .zip(floors)
        .map(|(n, f)| (*n).min(lo).max((*f).min(*n)))
        .collect()
}

/// `text` cut to `width` columns of the terminal, ending in `…` if cut.
fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Columns whose values are numbers, aligned right.
fn numeric(column: &str) -> bool {
    matches!(
        column,
        "MESSAGENUMBER"
            | "UID"
            | "SIZE"
            | "LINES"
            | "TOTALMESSAGES"
            | "UNREAD"
            | "NEW"
            | "affected"
    )
}

/// Columns whose shown values all have one width (a shortened date, a
/// flag): a streamed table gives them none of its spare width.
fn fixed(column: &str) -> bool {
    matches!(
        column,
        "DATE"
            | "RXDDATE"
            | "SENTDATE"
            | "SEEN"
            | "ANSWERED"
            | "DELETED"
            | "DRAFT"
            | "FLAGGED"
            | "RECENT"
    )
}

/// A cell as a table shows it: one line, shortened for reading.
fn shown(column: &str, cell: Option<&Cell>) -> String {
    let text = match (column, cell) {
        (_, None | Some(Cell::Null)) => String::new(),
        ("DATE" | "SENTDATE" | "RXDDATE", Some(Cell::Text(t))) => short_date(t),
        ("SIZE", Some(Cell::Int(n))) => size(*n),
        (_, Some(Cell::Bool(b))) => if *b { "yes" } else { "" }.to_owned(),
        (_, Some(cell)) => cell.text(", "),
    };
    visible(&text).replace('\n', " ")
}

/// `2024-01-09T14:12:00+01:00` as `2024-01-09 14:12`: the day and time as
/// the message gave them.
fn short_date(iso: &str) -> String {
    match (iso.get(..10), iso.get(10..11), iso.get(11..16)) {
        (Some(day), Some("T"), Some(time)) => format!("{day} {time}"),
        _ => iso.to_owned(),
    }
}

/// Bytes as a person reads them.
fn size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    match bytes {
        b if b < KB => format!("{b} B"),
        b if b < 10 * KB => format!("{:.1} KB", b as f64 / KB as f64),
        b if b < MB => format!("{} KB", b / KB),
        b if b < 10 * MB => format!("{:.1} MB", b as f64 / MB as f64),
        b => format!("{} MB", b / MB),
    }
}

/// `text` safe to show on a terminal: control characters (ESC, BEL, CR,
/// C1 controls, …) and bidirectional controls are written as visible
/// escapes (`\x1b`, `\u{202e}`), so a subject or folder name from a server
/// cannot move the cursor, recolour the terminal or reorder the line. Line
/// ends stay (the reader view shows a body's lines). JSON, NDJSON and CSV
/// keep the exact text.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[(&'static str, &str)]) -> Record {
        Record(
            cells
                .iter()
                .map(|(k, v)| (*k, Cell::Text((*v).to_owned())))
                .collect(),
        )
    }

    #[test]
    fn a_streamed_table_sizes_by_its_sample_and_never_cuts_a_number() {
        let row = |uid: u64, subject: &str, error: Option<&str>| {
            Record(vec![
                ("UID", Cell::Int(uid)),
                ("SUBJECT", Cell::Text(subject.into())),
                ("SIZE", Cell::Int(2048)),
                ("ERROR", error.map_or(Cell::Null, |e| Cell::Text(e.into()))),
            ])
        };
        let mut out = Vec::new();
        let mut table = Table::new(&mut out, vec!["UID", "SUBJECT", "SIZE"], 40, 2);
        table.push(&[row(1, "short", None)]).unwrap();
        // Nothing is written before the sample is complete.
        assert!(table.out.is_empty());
        table.push(&[row(2, "also short", None)]).unwrap();
        // The sample is complete: a third row sizes nothing.
        table.push(&[row(3, "third", None)]).unwrap();
        table
            .push(&[
                row(1_234_567, &"a much longer subject ".repeat(4), None),
                row(4, "failed", Some("message 4 could not be parsed")),
            ])
            .unwrap();
        table.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8, "{text}");
        // The sample's widths, numbers with room for two more digits, the
        // rest of the 40 columns to the subject.
        assert_eq!(
            lines[0], "  UID  SUBJECT                      SIZE",
            "{text}"
        );
        for line in &lines[..5] {
            assert!(line.width() <= 40, "{} wide: {line}", line.width());
        }
        // A later, longer value is cut; a wider number overflows whole.
        assert!(lines[5].starts_with("1234567  a much longer"), "{text}");
        assert!(lines[5].ends_with("subject …    2.0 KB"), "{text}");
        // A later row's error, on a line of its own.
        assert!(lines[6].starts_with("    4  failed"), "{text}");
        assert_eq!(lines[7], "  ERROR: message 4 could not be parsed", "{text}");
    }

    #[test]
    fn every_line_fits_and_long_values_end_in_an_ellipsis() {
        let records = vec![
            Record(vec![
                ("UID", Cell::Int(7)),
                ("DATE", Cell::Text("2024-01-09T14:12:00+01:00".into())),
                (
                    "FROM",
                    Cell::Text("Jürgen Müller <juergen.mueller@example.de>".into()),
                ),
                (
                    "SUBJECT",
                    Cell::Text(
                        "Grüße aus Köln – Projektstand ✓ und noch viel mehr Text, der nicht passt"
                            .into(),
                    ),
                ),
                ("SIZE", Cell::Int(123_456)),
                ("SEEN", Cell::Bool(true)),
            ]),
            Record(vec![
                ("UID", Cell::Int(12345)),
                ("DATE", Cell::Null),
                ("FROM", Cell::Text("a@b".into())),
                ("SUBJECT", Cell::Text("line\nbreak \x1b[31m".into())),
                ("SIZE", Cell::Int(900)),
                ("SEEN", Cell::Bool(false)),
            ]),
        ];
        let columns = ["UID", "DATE", "FROM", "SUBJECT", "SIZE", "SEEN"];
        let mut out = Vec::new();
        rows(&mut out, &columns, &records, 80).unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in text.lines() {
            assert!(line.width() <= 80, "{} wide: {line}", line.width());
        }
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            4,
            "heading, rule and one line per row:\n{text}"
        );
        assert!(lines[0].starts_with("  UID  DATE"), "{text}");
        assert!(lines[2].contains("2024-01-09 14:12"), "{text}");
        assert!(lines[2].contains("120 KB"), "{text}");
        assert!(lines[2].contains('…'), "{text}");
        assert!(lines[3].contains("line break \\x1b[31m"), "{text}");
        assert!(lines[3].contains("900 B"), "{text}");
    }

    #[test]
    fn narrowing_takes_from_the_widest_and_keeps_headings() {
        assert_eq!(fit(&[3, 40, 10], &[3, 4, 4], 60), [3, 40, 10]);
        assert_eq!(fit(&[3, 40, 30], &[3, 4, 4], 43), [3, 20, 20]);
        assert_eq!(
            fit(&[3, 40, 10], &[3, 4, 4], 5),
            [3, 4, 4],
            "never below a heading"
        );
    }

    #[test]
    fn a_letter_shows_headers_then_text() {
        let row = record(&[
            ("FROM", "Ann <ann@example.org>"),
            ("TO", "Bob <bob@example.org>"),
            ("CC", ""),
            ("DATE", "2024-03-01T08:00:00Z"),
            ("SUBJECT", "Hi\x07"),
            ("TEXTBODY", "Hello Bob,\r\nsee you.\r\n"),
            ("HTMLBODY", "<p>Hello</p>"),
        ]);
        let mut out = Vec::new();
        letter(&mut out, &row).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "From: Ann <ann@example.org>\nTo: Bob <bob@example.org>\nDate: 2024-03-01 08:00\n\
             Subject: Hi\\x07\n\nHello Bob,\nsee you.\n"
        );
    }

    #[test]
    fn sizes_and_dates() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(2048), "2.0 KB");
        assert_eq!(size(50 * 1024), "50 KB");
        assert_eq!(size(3 * 1024 * 1024 + 1), "3.0 MB");
        assert_eq!(short_date("2024-01-08T09:00:00Z"), "2024-01-08 09:00");
        assert_eq!(short_date("yesterday"), "yesterday");
    }
}
