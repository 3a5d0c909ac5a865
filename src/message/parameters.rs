//! MIME header parameters written the RFC 2231 way: `filename*=utf-8''…`
//! and continuations (`filename*0*=…; filename*1*=…`).
//!
//! RFC 2231 §4.1: the segments of a continued parameter are joined as bytes
//! and only then decoded with the charset the first segment names, so a
//! character may be split across two segments — and mailers do split long
//! names anywhere. mail-parser decodes each segment on its own (and all but
//! the first without its charset), which turns a split character into
//! U+FFFD. Attachment names therefore come from here whenever the header
//! uses the extended syntax; mail-parser's value stands otherwise.

use mail_parser::decoders::charsets::map::charset_decoder;

/// The value of the parameter `name` (e.g. `filename`) of a header value
/// such as `attachment; filename*0*=utf-8''%E2%82; filename*1*=%AC.pdf`,
/// when it is written in RFC 2231's extended syntax or with
/// continuations; `None` when it is not (or is absent).
pub fn extended(header_value: &str, name: &str) -> Option<String> {
    let mut single = None;
    let mut segments: Vec<(u32, bool, String)> = Vec::new();
    for (attribute, value) in parameters(header_value) {
        let Some(rest) = strip_prefix_ignore_case(&attribute, name) else {
            continue;
        };
        match rest {
            "*" => single = Some(value),
            _ => {
                let Some(rest) = rest.strip_prefix('*') else {
                    continue;
                };
                let (number, encoded) = match rest.strip_suffix('*') {
                    Some(number) => (number, true),
                    None => (rest, false),
                };
                // RFC 2231 forbids leading zeros: `*01` is no segment.
                if number.len() > 1 && number.starts_with('0') {
                    continue;
                }
                if let Ok(n) = number.parse::<u32>() {
                    segments.push((n, encoded, value));
                }
            }
        }
    }
    if !segments.is_empty() {
        return joined(segments);
    }
    let (charset, text) = split_charset(&single?)?;
    Some(decode(&charset, &percent_decoded(&text)))
}

/// The continuations, in order from `*0`, joined as bytes and decoded with
/// the charset of the first segment (when it is encoded).
fn joined(mut segments: Vec<(u32, bool, String)>) -> Option<String> {
    segments.sort_by_key(|(n, _, _)| *n);
    segments.dedup_by_key(|(n, _, _)| *n);
    if segments.first().map(|(n, _, _)| *n) != Some(0) {
        return None;
    }
    let mut charset = String::new();
    let mut bytes = Vec::new();
    for (i, (n, encoded, value)) in segments.into_iter().enumerate() {
        // Only an unbroken run from 0 counts (RFC 2231 §3).
        if n as usize != i {
            break;
        }
        if !encoded {
            bytes.extend_from_slice(value.as_bytes());
            continue;
        }
        let text = if n == 0 {
            let (named, text) = split_charset(&value)?;
            charset = named;
            text
        } else {
            value
        };
        bytes.extend(percent_decoded(&text));
    }
    Some(decode(&charset, &bytes))
}

/// `charset'language'text` → (`charset`, `text`).
fn split_charset(value: &str) -> Option<(String, String)> {
    let mut parts = value.splitn(3, '\'');
    let charset = parts.next()?;
    let _language = parts.next()?;
    let text = parts.next()?;
    Some((charset.trim().to_owned(), text.to_owned()))
}

/// `%XX` escapes decoded; anything else (a stray `%` included) kept as it is.
fn percent_decoded(text: &str) -> Vec<u8> {
    unescaped(text, b'%')
}

/// `text` with every `<escape>XX` (two hex digits) turned into that byte;
/// an escape not followed by two hex digits is kept as it is, and so is
/// every other byte. RFC 2231 escapes with `%`, RFC 2047's "Q" encoding and
/// quoted-printable with `=`.
pub(crate) fn unescaped(text: impl AsRef<[u8]>, escape: u8) -> Vec<u8> {
    let bytes = text.as_ref();
    let hex = |i: usize| bytes.get(i).and_then(|&b| (b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i] == escape, hex(i + 1), hex(i + 2)) {
            (true, Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// `bytes` in `charset`; UTF-8 (lossy) when the charset is empty or unknown.
fn decode(charset: &str, bytes: &[u8]) -> String {
    match charset_decoder(charset.as_bytes()).filter(|_| !charset.is_empty()) {
        Some(decoder) => decoder(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The `attribute=value` pairs after the first `;` of a header value; a
/// quoted value is unquoted (backslash escapes undone).
fn parameters(header_value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = header_value.chars().peekable();
    // The value itself (`attachment`, `text/plain`) is not a parameter.
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        let mut attribute = String::new();
        for c in chars.by_ref() {
            match c {
                '=' => break,
                ';' => attribute.clear(),
                c => attribute.push(c),
            }
        }
        let attribute = attribute.trim().to_owned();
        if attribute.is_empty() {
            return out;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
                value.push(c);
            }
            value = value.trim().to_owned();
        }
        out.push((attribute, value));
    }
}

/// `text` without `prefix` (ASCII case ignored), or `None`.
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// The unfolded value of the header `name` in a raw header block, if present.
pub fn header_value(header_block: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(header_block);
    let mut value: Option<String> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(current) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                current.push_str(line);
                continue;
            }
            break;
        }
        if let Some((field, rest)) = line.split_once(':')
            && field.trim_end().eq_ignore_ascii_case(name)
        {
            value = Some(rest.to_owned());
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_that_split_a_character_decode_whole() {
        // "€uro.pdf": the euro sign's three bytes split across segments.
        let v = "attachment; filename*0*=utf-8''%E2%82; filename*1*=%AC; filename*2=uro.pdf";
        assert_eq!(extended(v, "filename").as_deref(), Some("€uro.pdf"));
        // Out of order, as RFC 2231 allows.
        let v = "attachment; filename*1*=%AC.pdf; filename*0*=UTF-8'de'%E2%82";
        assert_eq!(extended(v, "filename").as_deref(), Some("€.pdf"));
    }

    #[test]
    fn other_charsets_and_language_tags() {
        let v = "attachment; filename*=iso-8859-1'de'M%FCller.txt";
        assert_eq!(extended(v, "FILENAME").as_deref(), Some("Müller.txt"));
        // Shift_JIS: 日本 is 93 FA 96 7B, split inside the second character.
        let v = "attachment;\r\n filename*0*=shift_jis''%93%FA%96; filename*1*=%7B.txt";
        assert_eq!(extended(v, "filename").as_deref(), Some("日本.txt"));
    }

    #[test]
    fn mixed_quoted_and_plain_segments() {
        let v = "attachment; filename*0*=utf-8''%C3; filename*1*=%A9t%C3%A9; filename*2=\" report;1.pdf\"";
        assert_eq!(extended(v, "filename").as_deref(), Some("été report;1.pdf"));
    }

    #[test]
    fn plain_parameters_are_left_to_mail_parser() {
        assert_eq!(extended("attachment; filename=\"a.pdf\"", "filename"), None);
        assert_eq!(extended("attachment", "filename"), None);
        // Continuations without a first segment are no value.
        assert_eq!(extended("attachment; filename*1=x", "filename"), None);
        // A name that merely starts like the parameter is another one.
        assert_eq!(
            extended("attachment; filenamex*=utf-8''a", "filename"),
            None
        );
    }

    #[test]
    fn broken_escapes_are_kept() {
        let v = "attachment; filename*=utf-8''100%25%zz.txt";
        assert_eq!(extended(v, "filename").as_deref(), Some("100%%zz.txt"));
    }

    #[test]
    fn headers_are_found_and_unfolded() {
        let block = b"Content-Type: application/pdf;\r\n\tname*0*=utf-8''%E2%82;\r\n name*1*=%AC\r\nContent-Disposition: attachment\r\n\r\n";
        let v = header_value(block, "content-type").unwrap();
        assert_eq!(extended(&v, "name").as_deref(), Some("€"));
        assert_eq!(header_value(block, "X-Missing"), None);
    }
}
