//! Raw-client helpers for tests that change mail: seeding many messages in few round trips,
//! and reading a folder's state message by message — both independent of the product.
//!
//! Include it from a test crate with `#[path = "common/bulk.rs"] mod bulk;`.

use cfimap_tests::imap::{self, Client, Part, Token};

/// One message as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Message sequence number.
    pub seq: u32,
    /// UID.
    pub uid: u32,
    /// Flags (`\Recent` included when the server sets it).
    pub flags: Vec<String>,
    /// RFC822.SIZE.
    pub size: u64,
    /// The Message-ID without angle brackets (empty when the message has none).
    pub message_id: String,
}

impl Held {
    /// `true` if the message has `flag` (case-insensitive).
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
    }

    /// The flags without `\Recent` (which depends on the session, not on the action), sorted.
    pub fn stable_flags(&self) -> Vec<String> {
        let mut f: Vec<String> = self
            .flags
            .iter()
            .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
            .cloned()
            .collect();
        f.sort();
        f
    }
}

/// Messages per MULTIAPPEND command.
const BATCH: usize = 1000;

/// Appends `messages` (flags, bytes) to `wire` and returns their UIDs (from APPENDUID), in order.
///
/// With MULTIAPPEND (RFC 3502) and LITERAL+ (RFC 7888) — Dovecot has both — a batch of
/// messages goes in one command with non-synchronising literals: one round trip per
/// [`BATCH`] messages instead of one per message. Otherwise each message is appended alone.
pub fn append_many(
    client: &mut Client,
    wire: &str,
    messages: &[(Vec<&str>, Vec<u8>)],
) -> imap::Result<Vec<u32>> {
    let caps = client.capabilities()?;
    let fast = caps.iter().any(|c| c == "MULTIAPPEND") && caps.iter().any(|c| c == "LITERAL+");
    let mailbox = imap::quote(wire)
        .ok_or_else(|| imap::Error::Protocol(format!("{wire:?} is not a quotable wire name")))?;
    let mut uids = Vec::with_capacity(messages.len());
    if !fast
        || messages
            .iter()
            .any(|(_, m)| std::str::from_utf8(m).is_err())
    {
        for (flags, message) in messages {
            let uid = client.append(wire, flags, message)?.ok_or_else(|| {
                imap::Error::Protocol("APPEND without APPENDUID (no UIDPLUS?)".into())
            })?;
            uids.push(uid);
        }
        return Ok(uids);
    }
    for batch in messages.chunks(BATCH) {
        let mut command = format!("APPEND {mailbox}");
        for (flags, message) in batch {
            let text = std::str::from_utf8(message).unwrap_or_default();
            command.push_str(&format!(
                " ({}) {{{}+}}\r\n",
                flags.join(" "),
                message.len()
            ));
            command.push_str(text);
        }
        let done = client.command_parts(&[Part::Text(&command)])?;
        let code = done.code("APPENDUID").ok_or_else(|| {
            imap::Error::Protocol(format!("MULTIAPPEND without APPENDUID: {}", done.text))
        })?;
        let set = code
            .split_whitespace()
            .nth(1)
            .ok_or_else(|| imap::Error::Protocol(format!("APPENDUID {code:?}")))?;
        let got = expand_set(set)
            .ok_or_else(|| imap::Error::Protocol(format!("APPENDUID set {set:?}")))?;
        if got.len() != batch.len() {
            return Err(imap::Error::Protocol(format!(
                "APPENDUID names {} UIDs for {} messages",
                got.len(),
                batch.len()
            )));
        }
        uids.extend(got);
    }
    Ok(uids)
}

/// Every number of an IMAP set such as `1:3,7` (ascending ranges as written; `a:b` with
/// `a > b` is expanded too). `None` if it is not a set of numbers.
pub fn expand_set(set: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in set.split(',') {
        let (a, b) = part.split_once(':').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        out.extend(a.min(b)..=a.max(b));
    }
    Some(out)
}

/// Every message of `wire` in sequence order (EXAMINE, so nothing changes).
pub fn held(client: &mut Client, wire: &str) -> imap::Result<Vec<Held>> {
    let opened = client.examine(wire)?;
    if opened.exists == 0 {
        return Ok(Vec::new());
    }
    let done = client
        .command("UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")?;
    let mut out = Vec::new();
    for tokens in done.data("FETCH")? {
        let seq = tokens
            .first()
            .and_then(Token::as_u32)
            .ok_or_else(|| imap::Error::Protocol("FETCH seq".into()))?;
        let Some(Token::List(items)) = tokens.get(2) else {
            return Err(imap::Error::Protocol("FETCH without items".into()));
        };
        let mut message = Held {
            seq,
            uid: 0,
            flags: Vec::new(),
            size: 0,
            message_id: String::new(),
        };
        for pair in items.chunks(2) {
            let (Some(key), Some(value)) = (pair.first().and_then(Token::as_string), pair.get(1))
            else {
                continue;
            };
            let key = key.to_ascii_uppercase();
            match (key.as_str(), value) {
                ("UID", v) => message.uid = v.as_u32().unwrap_or(0),
                ("RFC822.SIZE", v) => {
                    message.size = v.as_string().and_then(|s| s.parse().ok()).unwrap_or(0)
                }
                ("FLAGS", Token::List(f)) => {
                    message.flags = f.iter().filter_map(Token::as_string).collect()
                }
                (k, v) if k.starts_with("BODY[HEADER.FIELDS") => {
                    message.message_id = message_id(&v.as_string().unwrap_or_default())
                }
                _ => {}
            }
        }
        if message.uid == 0 {
            return Err(imap::Error::Protocol(format!("FETCH {seq} without UID")));
        }
        out.push(message);
    }
    out.sort_by_key(|m| m.seq);
    Ok(out)
}

/// The Message-ID in a header block, without angle brackets.
fn message_id(header: &str) -> String {
    let unfolded = header.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("Message-ID").then(|| {
                value
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
        })
        .unwrap_or_default()
}

/// The whole message `uid` of `wire` (`BODY.PEEK[]`, so nothing changes).
pub fn body(client: &mut Client, wire: &str, uid: u32) -> imap::Result<Vec<u8>> {
    client.examine(wire)?;
    let done = client.command(&format!("UID FETCH {uid} (BODY.PEEK[])"))?;
    for tokens in done.data("FETCH")? {
        let Some(Token::List(items)) = tokens.get(2) else {
            continue;
        };
        for pair in items.chunks(2) {
            if let (Some(Token::Atom(k)), Some(Token::Literal(bytes) | Token::Quoted(bytes))) =
                (pair.first(), pair.get(1))
                && k.eq_ignore_ascii_case("BODY[]")
            {
                return Ok(bytes.clone());
            }
        }
    }
    Err(imap::Error::Protocol(format!("no BODY[] for UID {uid}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_ids() {
        assert_eq!(expand_set("1:3,7,10:9"), Some(vec![1, 2, 3, 7, 9, 10]));
        assert_eq!(expand_set("x"), None);
        assert_eq!(
            message_id("Message-ID:\r\n <abc@x>\r\n\r\n"),
            "abc@x".to_string()
        );
        assert_eq!(message_id("message-id: <q@y>\r\n"), "q@y");
    }
}
