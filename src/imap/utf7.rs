//! Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
//!
//! IMAP4rev1 mailbox names are 7-bit: printable ASCII stands for itself, `&`
//! is written `&-`, and every other run of characters is UTF-16BE in a
//! base64 variant (`,` for `/`, no padding) between `&` and `-`. imap-codec
//! carries names as bytes, so the conversion to and from Unicode lives here.

/// The modified-base64 alphabet: standard base64 with `,` instead of `/`.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes a Unicode mailbox name for the wire.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            flush_run(&mut out, &mut run);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut units = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush_run(&mut out, &mut run);
    out
}

/// Decodes a wire mailbox name to Unicode. `None` when the bytes are not
/// valid modified UTF-7 (the caller then shows them as they are).
pub fn decode(wire: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(wire.len());
    let mut i = 0;
    while i < wire.len() {
        let b = wire[i];
        if b != b'&' {
            if !(0x20..=0x7e).contains(&b) {
                return None;
            }
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let end = i + 1 + wire[i + 1..].iter().position(|&b| b == b'-')?;
        let encoded = &wire[i + 1..end];
        if encoded.is_empty() {
            out.push('&');
        } else {
            let units = decode_base64_utf16(encoded)?;
            let decoded = char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()?;
            // A run must not hide characters that stand for themselves.
            if decoded.chars().any(is_direct) {
                return None;
            }
            out.push_str(&decoded);
        }
        i = end + 1;
    }
    Some(out)
}

/// Decodes a wire name, falling back to a lossy reading of its bytes.
pub fn decode_lossy(wire: &[u8]) -> String {
    decode(wire).unwrap_or_else(|| String::from_utf8_lossy(wire).into_owned())
}

fn is_direct(c: char) -> bool {
    (' '..='~').contains(&c)
}

fn flush_run(out: &mut String, run: &mut Vec<u16>) {
    if run.is_empty() {
        return;
    }
    let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let v = chunk
            .iter()
            .chain(std::iter::repeat(&0))
            .take(3)
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        for k in 0..=n {
            let index = (v >> (18 - 6 * k)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out.push('-');
    run.clear();
}

fn decode_base64_utf16(encoded: &[u8]) -> Option<Vec<u16>> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut bytes = Vec::with_capacity(encoded.len() * 3 / 4);
    for &c in encoded {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            bytes.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    // Leftover bits must be zero padding, and whole UTF-16 units must remain.
    if bits != 0 || nbits >= 6 || bytes.is_empty() || bytes.len() % 2 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3501_examples() {
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(
            decode(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some("~peter/mail/台北/日本語")
        );
    }

    #[test]
    fn ampersand_and_ascii() {
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(decode(b"Tom &- Jerry").as_deref(), Some("Tom & Jerry"));
        assert_eq!(encode("a \"quoted\" name"), "a \"quoted\" name");
    }

    #[test]
    fn round_trips() {
        for name in [
            "Entwürfe",
            "Входящие",
            "日本語",
            "Ärger & Öl",
            "emoji 📬 box",
            "x&y&-z",
            "ü",
            "",
        ] {
            let wire = encode(name);
            assert!(wire.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{wire}");
            assert_eq!(decode(wire.as_bytes()).as_deref(), Some(name), "{wire}");
        }
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode("Входящие"), "&BBIERQQ+BDQETwRJBDgENQ-");
    }

    #[test]
    fn rejects_invalid() {
        assert_eq!(decode(b"&Jjo"), None); // unterminated
        assert_eq!(decode(b"&AGE-"), None); // 'a' must stand for itself
        assert_eq!(decode(b"&2D0-"), None); // lone surrogate
        assert_eq!(decode(b"&A-"), None); // stray bits
        assert_eq!(decode("ü".as_bytes()), None); // 8-bit
        assert_eq!(decode_lossy("ü".as_bytes()), "ü");
    }
}
