//! ESEARCH answers (RFC 4731), which imap-codec does not decode, as the
//! plain `SEARCH` answer they stand for.
//!
//! A search sent with `RETURN (ALL)` is answered with one line such as
//! `* ESEARCH (TAG "C5") UID ALL 1:40000,40007`: the matching UIDs as a
//! sequence set, so a million hits take a few bytes where `* SEARCH` takes a
//! number each. [`decode`] hands the rest of the client the `Data::Search`
//! it already understands. The set is expanded, so the answer is capped:
//! never more UIDs than a `* SEARCH` line within the line limit could carry
//! ([`MAX_UIDS`]); a server claiming more ends the action as a protocol
//! violation, and so does one whose answers to one command add up to more
//! (counted by [`crate::imap::responses::Decoder`]). An answer must carry the
//! `UID` marker, as answers to `UID SEARCH` do; the correlator's tag is not
//! checked, since a search is the only command in flight when it is sent.
//!
//! ```text
//! esearch-response  = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
//! search-correlator = SP "(" "TAG" SP tag-string ")"
//! search-return-data = "MIN" SP nz-number / "MAX" SP nz-number /
//!                      "ALL" SP sequence-set / "COUNT" SP number /
//!                      search-ret-data-ext
//! ```

use std::num::NonZeroU32;
use std::str::FromStr;

use imap_codec::imap_types::response::{Data, Response};
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};

use crate::error::{Error, Result};
use crate::imap::responses::quote;

/// The most UIDs an ESEARCH answer may expand to: as many as a `* SEARCH`
/// line of 16 MiB (the line limit) could list, two bytes a number.
pub const MAX_UIDS: usize = 8 << 20;

/// Whether `message` (one whole response) is an ESEARCH answer.
pub fn is_esearch(message: &[u8]) -> bool {
    const HEAD: &[u8] = b"* ESEARCH";
    message.len() >= HEAD.len()
        && message[..HEAD.len()].eq_ignore_ascii_case(HEAD)
        && matches!(message.get(HEAD.len()), Some(b' ' | b'\r' | b'\n'))
}

/// Decodes one ESEARCH answer into the `Data::Search` of its `ALL` set
/// (empty when it has none: nothing matched).
pub fn decode(message: &[u8]) -> Result<Response<'static>> {
    let malformed = |why: &str| {
        Error::ProtocolViolation(format!(
            "malformed ESEARCH answer ({why}): {}",
            quote(message)
        ))
    };
    let line = message
        .strip_suffix(b"\r\n")
        .or_else(|| message.strip_suffix(b"\n"))
        .ok_or_else(|| malformed("no line end"))?;
    let line = std::str::from_utf8(line).map_err(|_| malformed("not ASCII"))?;
    let mut rest = line.get("* ESEARCH".len()..).unwrap_or_default();
    let mut all = Vec::new();
    // The correlator: ` (TAG "C5")`.
    if let Some(after) = rest.strip_prefix(" (") {
        let close = correlator_end(after).ok_or_else(|| malformed("unterminated TAG"))?;
        rest = &after[close..];
    }
    let mut words = rest.split(' ').filter(|w| !w.is_empty()).peekable();
    // Without `UID` the numbers would be message numbers (RFC 4731 §3.1):
    // cfimap only sends `UID SEARCH`, so that answer is not to its command.
    if words.next_if(|w| w.eq_ignore_ascii_case("UID")).is_none() {
        return Err(malformed("no UID marker: message numbers, not UIDs"));
    }
    while let Some(label) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| malformed("a return item without its value"))?;
        if label.eq_ignore_ascii_case("ALL") {
            all = expand(value).map_err(|why| malformed(&why))?;
            continue;
        }
        // An extension's value may be a parenthesised list spanning words:
        // skip to where its parentheses balance.
        let mut depth = nesting(value);
        while depth > 0 {
            let w = words
                .next()
                .ok_or_else(|| malformed("unbalanced parentheses"))?;
            depth += nesting(w);
        }
        if depth < 0 {
            return Err(malformed("unbalanced parentheses"));
        }
    }
    Ok(Response::Data(Data::Search(all)))
}

/// How many more `(` than `)` a word has.
fn nesting(word: &str) -> isize {
    word.bytes().fold(0, |depth, b| match b {
        b'(' => depth + 1,
        b')' => depth - 1,
        _ => depth,
    })
}

/// Where the correlator after ` (` ends (just past its `)`): `TAG` and a
/// quoted tag string, whose `\"` and `\\` escapes are skipped.
fn correlator_end(after: &str) -> Option<usize> {
    let bytes = after.as_bytes();
    let mut i = bytes.iter().position(|&b| b == b'"')? + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => break,
            _ => i += 1,
        }
    }
    let close = i + 1 + bytes.get(i + 1..)?.iter().position(|&b| b == b')')?;
    Some(close + 1)
}

/// Every UID of a sequence set, ascending, at most [`MAX_UIDS`].
fn expand(set: &str) -> std::result::Result<Vec<NonZeroU32>, String> {
    let parsed = SequenceSet::from_str(set).map_err(|_| format!("{set:?} is not a set"))?;
    let mut uids = Vec::new();
    for sequence in parsed.0.as_ref() {
        let (a, b) = match sequence {
            Sequence::Single(v) => (value(v)?, value(v)?),
            Sequence::Range(a, b) => (value(a)?, value(b)?),
        };
        let (low, high) = (a.min(b).get(), a.max(b).get());
        let count = (high - low) as usize + 1;
        if uids.len().saturating_add(count) > MAX_UIDS {
            return Err(format!("it lists more than {MAX_UIDS} UIDs"));
        }
        uids.extend((low..=high).filter_map(NonZeroU32::new));
    }
    uids.sort_unstable();
    uids.dedup();
    Ok(uids)
}

fn value(v: &SeqOrUid) -> std::result::Result<NonZeroU32, String> {
    match v {
        SeqOrUid::Value(n) => Ok(*n),
        SeqOrUid::Asterisk => Err("`*` in a result set".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uids(message: &str) -> Vec<u32> {
        match decode(message.as_bytes()) {
            Ok(Response::Data(Data::Search(found))) => found.into_iter().map(|n| n.get()).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn recognises_only_esearch() {
        assert!(is_esearch(b"* ESEARCH (TAG \"C1\") UID ALL 1\r\n"));
        assert!(is_esearch(b"* esearch\r\n"));
        assert!(!is_esearch(b"* SEARCH 1 2\r\n"));
        assert!(!is_esearch(b"* ESEARCHX\r\n"));
    }

    #[test]
    fn all_sets_expand_in_order() {
        assert_eq!(
            uids("* ESEARCH (TAG \"C5\") UID ALL 4:6,2,9\r\n"),
            [2, 4, 5, 6, 9]
        );
        assert_eq!(uids("* ESEARCH (TAG \"C5\") UID\r\n"), Vec::<u32>::new());
        assert_eq!(
            uids("* ESEARCH (TAG \"C1\") UID X-EXT ((a) b) ALL 1:2\r\n"),
            [1, 2]
        );
        assert_eq!(uids("* ESEARCH UID COUNT 2 ALL 7,3\r\n"), [3, 7]);
        assert_eq!(uids("* ESEARCH (TAG \"a \\\" )b\") UID ALL 1\r\n"), [1]);
        assert_eq!(
            uids("* ESEARCH (TAG \"C1\") UID X-EXT (a (b) c) ALL 10:11\r\n"),
            [10, 11]
        );
    }

    #[test]
    fn malformed_and_oversized_answers_are_violations() {
        for bad in [
            "* ESEARCH (TAG \"C1\" UID ALL 1\r\n",
            "* ESEARCH UID ALL\r\n",
            "* ESEARCH UID ALL 1:*\r\n",
            "* ESEARCH UID ALL x\r\n",
            "* ESEARCH UID ALL 1",
            "* ESEARCH ALL 1:3\r\n",
            "* ESEARCH (TAG \"C1\") COUNT 3\r\n",
            "* ESEARCH UID X ())a ALL 1\r\n",
            "* ESEARCH UID X (a (b) ALL 1\r\n",
        ] {
            assert!(
                matches!(decode(bad.as_bytes()), Err(Error::ProtocolViolation(_))),
                "{bad:?}"
            );
        }
        match decode(b"* ESEARCH UID ALL 1:4294967295\r\n") {
            Err(Error::ProtocolViolation(m)) => assert!(m.contains("more than"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
