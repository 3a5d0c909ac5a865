//! Header text made of adjacent RFC 2047 encoded-words, decoded as one.
//!
//! RFC 2047 §5 wants every encoded-word to hold whole characters, but
//! mailers split long subjects into words anywhere, also inside a
//! multi-byte character. Adjacent words (only white space between them,
//! which §6.2 says to drop) in one charset are therefore joined as bytes
//! and decoded once. mail-parser decodes each word on its own, which turns
//! a split character into two U+FFFD; its value stands for every header
//! without such a run.
//!
//! Unstructured text (Subject) is decoded here ([`decode_joined`]). In
//! address headers the words sit inside display names, which mail-parser
//! must still find: [`rejoined`] rewrites each run as one encoded-word of
//! the joined bytes, and mail-parser parses the result.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;

use crate::message::parameters::unescaped;

/// One `=?charset?encoding?text?=`.
struct Word {
    /// The charset, without an RFC 2231 `*language` suffix, lower case.
    charset: String,
    bytes: Vec<u8>,
    /// Where it ends in the text.
    end: usize,
}

/// `raw` (a header's raw value, folded or not) decoded, when it has at
/// least two adjacent encoded-words in one charset; `None` leaves the value
/// to mail-parser.
pub fn decode_joined(raw: &str) -> Option<String> {
    rewrite(raw, decode_run)
}

/// `raw` with every run of adjacent encoded-words in one charset written as
/// a single encoded-word (Base64) of their joined bytes, when there is at
/// least one run of two or more; `None` leaves the value as it is.
pub fn rejoined(raw: &str) -> Option<String> {
    rewrite(raw, encode_run)
}

/// A run of adjacent encoded-words in one charset: the charset and the
/// words' bytes joined.
type Run = Option<(String, Vec<u8>)>;

/// `raw` unfolded, with its runs of words written out by `emit`, when at
/// least one run joined two words or more.
fn rewrite(raw: &str, emit: fn(&mut String, Run)) -> Option<String> {
    // A run takes two words: most headers have none, and are left to
    // mail-parser without being copied (this check was a seventh of
    // getHeaderOnly's time when it unfolded and walked every header).
    // Each `=` is looked at, not each `=?` searched for: a substring
    // searcher costs more to set up than a header's few bytes to read.
    let bytes = raw.as_bytes();
    memchr::memchr_iter(b'=', bytes)
        .filter(|&at| bytes.get(at + 1) == Some(&b'?'))
        .nth(1)?;
    let text = unfold(raw);
    if !has_adjacent_words(&text) {
        return None;
    }
    let mut out = String::new();
    // Bytes of the current run of adjacent words, and their charset.
    let mut run: Run = None;
    let mut joined = false;
    let mut at = 0;
    // Text since the last word: written out unless it is only white space
    // between two words.
    let mut gap = String::new();
    while at < text.len() {
        if let Some(word) = word_at(&text, at) {
            let adjacent = run.is_some() && gap.chars().all(char::is_whitespace);
            match &mut run {
                Some((charset, bytes)) if adjacent && *charset == word.charset => {
                    bytes.extend(word.bytes);
                    joined = true;
                }
                _ => {
                    emit(&mut out, run.take());
                    if !adjacent {
                        out.push_str(&gap);
                    }
                    run = Some((word.charset, word.bytes));
                }
            }
            gap.clear();
            at = word.end;
            continue;
        }
        // Up to where the next word could start: `=?` is ASCII, so that
        // is a character boundary.
        let step = text[at..].chars().next().map_or(1, char::len_utf8);
        let next = memchr::memmem::find(&text.as_bytes()[at + step..], b"=?")
            .map_or(text.len(), |i| at + step + i);
        gap.push_str(&text[at..next]);
        at = next;
    }
    emit(&mut out, run);
    out.push_str(&gap);
    joined.then(|| out.trim().to_owned())
}

/// Appends the run as one encoded-word.
fn encode_run(out: &mut String, run: Run) {
    if let Some((charset, bytes)) = run {
        out.push_str(&format!(
            "=?{charset}?B?{}?=",
            base64_simd::STANDARD.encode_to_string(&bytes)
        ));
    }
}

/// Appends the run's bytes, decoded in its charset.
fn decode_run(out: &mut String, run: Run) {
    if let Some((charset, bytes)) = run {
        match charset_decoder(charset.as_bytes()) {
            Some(decoder) => out.push_str(&decoder(&bytes)),
            None => out.push_str(&String::from_utf8_lossy(&bytes)),
        }
    }
}

/// The encoded-word that starts at `at`, if one does.
fn word_at(text: &str, at: usize) -> Option<Word> {
    let rest = text.get(at..)?.strip_prefix("=?")?;
    let (charset, rest) = rest.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let length = rest.find("?=")?;
    let payload = &rest[..length];
    if charset.is_empty() || payload.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => base64_decode(payload.as_bytes())?,
        "Q" | "q" => q_decode(payload),
        _ => return None,
    };
    let end = at + "=?".len() + charset.len() + 1 + encoding.len() + 1 + length + "?=".len();
    Some(Word {
        charset: charset
            .split('*')
            .next()
            .unwrap_or(charset)
            .to_ascii_lowercase(),
        bytes,
        end,
    })
}

/// RFC 2047 "Q": `_` is a space, `=XX` a byte; a broken escape stays.
/// (`_` is no hex digit, so it is replaced before the escapes are undone,
/// and an escaped `=5F` still gives `_`.)
fn q_decode(payload: &str) -> Vec<u8> {
    unescaped(payload.replace('_', " "), b'=')
}

/// Whether some `?=` (the end of a word, if one is there) is followed by
/// nothing but white space and `=?`: without that, no two words are
/// adjacent, and decoding every word only to find so was a tenth of
/// getHeaderOnly (display names of one word each are common).
fn has_adjacent_words(text: &str) -> bool {
    memchr::memmem::find_iter(text.as_bytes(), b"?=").any(|end| {
        text[end + 2..]
            .trim_start_matches(char::is_whitespace)
            .starts_with("=?")
    })
}

/// RFC 5322 unfolding: every line break (CRLF or a bare LF) is removed,
/// and the white space of a fold after it stays; a bare CR stays too.
fn unfold(raw: &str) -> String {
    let mut text = String::with_capacity(raw.len());
    let mut lines = raw.split('\n').peekable();
    while let Some(line) = lines.next() {
        match lines.peek() {
            Some(_) => text.push_str(line.strip_suffix('\r').unwrap_or(line)),
            None => text.push_str(line),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_two_words_decodes_whole() {
        // "€uro": the euro sign's bytes E2 82 | AC split over two words.
        assert_eq!(
            decode_joined(" =?UTF-8?B?4oI=?=\r\n =?UTF-8?B?rHVybw==?=").as_deref(),
            Some("€uro")
        );
        assert_eq!(
            decode_joined("=?utf-8?Q?=E2=82?= =?utf-8?Q?=ACuro_2024?=").as_deref(),
            Some("€uro 2024")
        );
        // Shift_JIS 日本 (93 FA | 96 7B), language tag on the charset.
        assert_eq!(
            decode_joined("=?shift_jis*ja?B?k/qW?= =?SHIFT_JIS?B?ew==?=").as_deref(),
            Some("日本")
        );
    }

    #[test]
    fn text_around_words_is_kept_and_white_space_between_words_dropped() {
        assert_eq!(
            decode_joined("Re: =?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?= au lait").as_deref(),
            Some("Re: café au lait")
        );
        // Different charsets are decoded one after the other.
        assert_eq!(
            decode_joined("=?iso-8859-1?Q?M=FC?= =?utf-8?Q?ller?= =?utf-8?Q?_&_co?=").as_deref(),
            Some("Müller & co")
        );
    }

    #[test]
    fn headers_without_a_run_are_left_to_mail_parser() {
        assert_eq!(decode_joined("plain subject"), None);
        assert_eq!(decode_joined("=?utf-8?Q?one?= word =?utf-8?Q?two?="), None);
        assert_eq!(decode_joined("=?utf-8?X?bad?= =?utf-8?X?bad?="), None);
        assert_eq!(decode_joined("one =?utf-8?Q?word?= only"), None);
    }

    #[test]
    fn text_between_words_may_be_any_unicode() {
        assert_eq!(
            decode_joined("Grüße =?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?= ünd =?utf-8?Q?x?=").as_deref(),
            Some("Grüße café ünd x")
        );
        assert_eq!(
            decode_joined("€=?a=?utf-8?Q?x?= =?utf-8?Q?y?=").as_deref(),
            Some("€=?axy")
        );
    }

    #[test]
    fn runs_are_rewritten_as_one_word_each() {
        assert_eq!(
            rejoined("=?UTF-8?B?4oI=?=\r\n =?UTF-8?B?rHVybw==?= <e@example.org>").as_deref(),
            Some("=?utf-8?B?4oKsdXJv?= <e@example.org>")
        );
        assert_eq!(rejoined("=?utf-8?Q?one?= <a@example.org>"), None);
    }

    #[test]
    fn words_are_adjacent_across_any_white_space_and_folding() {
        assert!(has_adjacent_words("=?a?Q?x?= =?a?Q?y?="));
        assert!(has_adjacent_words("=?a?Q?x?==?a?Q?y?="));
        assert!(has_adjacent_words("=?a?Q?x?=\u{a0}\t=?a?Q?y?="));
        assert!(!has_adjacent_words("=?a?Q?x?= <a@b>, =?a?Q?y?= <c@d>"));
        // A line break inside a word, with no white space after it (no
        // fold, but unfolding drops every line break): the word is whole.
        assert_eq!(
            decode_joined("=?utf-8?Q?caf=C3?\r\n= =?utf-8?Q?=A9?=").as_deref(),
            Some("café")
        );
    }

    #[test]
    fn unfolding_drops_line_breaks_but_a_bare_cr() {
        assert_eq!(unfold("a\r\n b\n c\rd\r\r\n"), "a b c\rd\r");
    }

    #[test]
    fn q_underscores_are_spaces_and_escapes_bytes() {
        assert_eq!(q_decode("a_b=5Fc=3D=zz"), b"a b_c==zz");
    }
}
