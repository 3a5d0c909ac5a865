//! Tables for people: a few columns chosen per action, fitted to the
//! terminal's width so that every row is one line.
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

/// Writes `rows` as a table of `columns`, at most `width` wide.
pub fn rows(
    out: &mut dyn Write,
    columns: &[&str],
    rows: &[Record],
    width: usize,
) -> io::Result<()> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|c| shown(c, row.get(c))).collect())
        .collect();
    let natural: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].width())
                .chain(std::iter::once(c.width()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let floors: Vec<usize> = columns.iter().map(|c| c.width()).collect();
    let available = width.saturating_sub(GAP.len() * columns.len().saturating_sub(1));
    let widths = fit(&natural, &floors, available);
    let right: Vec<bool> = columns.iter().map(|c| numeric(c)).collect();
    let line = |out: &mut dyn Write, texts: &[String]| -> io::Result<()> {
        let mut parts = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let text = truncate(text, widths[i]);
            let pad = " ".repeat(widths[i].saturating_sub(text.width()));
            let last = i + 1 == texts.len();
            parts.push(match (right[i], last) {
                (true, _) => format!("{pad}{text}"),
                (false, true) => text,
                (false, false) => format!("{text}{pad}"),
            });
        }
        writeln!(out, "{}", parts.join(GAP).trim_end())
    };
    let headings: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    line(out, &headings)?;
    let rules: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    writeln!(out, "{}", rules.join(GAP))?;
    for row in &cells {
        line(out, row)?;
    }
    Ok(())
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
