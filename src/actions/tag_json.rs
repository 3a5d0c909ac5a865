//! Rows as the tag's JSON lines: what `row-reader.next-ndjson` hands out.
//!
//! One JSON object per message and line (NDJSON), keyed by the tag's
//! column names in upper case (`MESSAGENUMBER`, `UID`, `SUBJECT`, …) in the
//! order of the WIT record `message-row`: getHeaderOnly's rows carry the
//! header columns and `ERROR`, getAll's every column. An absent value is
//! `null`, a list a JSON array, `CIDS` an object (Content-ID → file name,
//! in the message's order). This is the form the `cfimap` CLI prints with
//! `--format ndjson`; a host that only prints or forwards rows takes one
//! byte list a batch instead of lifting every field of every row, which
//! is most of a read's cost in a JavaScript host.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::actions::fetch::Depth;
use crate::bindings::cfimap::imap::types::MessageRow;

/// `rows` as JSON lines, each ended by `\n`, appended to `out`.
pub fn write(rows: &[MessageRow], depth: Depth, out: &mut Vec<u8>) {
    for row in rows {
        // serde_json fails only when writing fails (never into a Vec), for a
        // map key that is no string, or for a Serialize impl that errs:
        // none of these exist here, whatever a row holds.
        serde_json::to_writer(&mut *out, &TagRow { row, depth })
            .expect("rows serialise into memory");
        out.push(b'\n');
    }
}

/// One row, serialised with the tag's column names.
struct TagRow<'a> {
    row: &'a MessageRow,
    depth: Depth,
}

impl Serialize for TagRow<'_> {
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

/// Content-ID → file name pairs as one JSON object, in order (a repeated
/// Content-ID stays repeated, as the message has it).
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

#[cfg(test)]
mod tests {
    use super::*;

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
        write(&[row(), row()], Depth::Headers, &mut out);
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
        write(&[row()], Depth::Whole, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with(
            r#""USER":["$Label1"],"BODY":"hi","TEXTBODY":"hi","HTMLBODY":null,"ATTACHMENTS":["a.png"],"ATTACHMENTFILES":[],"CIDS":{"c1":"a.png"},"DELIVERYSTATUS":null,"ERROR":null}
"#
        ));
    }
}
