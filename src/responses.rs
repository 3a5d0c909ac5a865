//! Decoding what the server sends, one whole message at a time.
//!
//! imap-codec's [`Fragmentizer`] splits the byte stream into lines and
//! literals without re-decoding a growing buffer; only a complete message is
//! handed to the decoder, and it is made owned at once so the buffer can move
//! on. A message larger than the limit is refused instead of buffered.

use imap_codec::fragmentizer::{DecodeMessageError, Fragmentizer};
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::response::{Code, Greeting, Response};
use imap_codec::imap_types::utils::escape_byte_string;
use imap_codec::{GreetingCodec, ResponseCodec};

use crate::error::{Error, Result};
use crate::transport::Link;

/// How much of a malformed message an error quotes.
const QUOTE_LIMIT: usize = 120;

/// Incremental decoder of server messages.
pub struct Decoder {
    fragmentizer: Fragmentizer,
    limit: u32,
    /// Bytes handed to the fragmentizer, and bytes of messages taken out:
    /// their difference is what is buffered but not yet decoded.
    enqueued: u64,
    consumed: u64,
}

impl Decoder {
    /// A decoder refusing messages over `limit` bytes.
    pub fn new(limit: u32) -> Self {
        Self {
            fragmentizer: Fragmentizer::new(limit),
            limit,
            enqueued: 0,
            consumed: 0,
        }
    }

    /// Whether bytes have arrived that no message has used yet.
    pub fn has_unread_bytes(&self) -> bool {
        self.enqueued > self.consumed
    }

    /// Reads the server's greeting.
    pub fn greeting(&mut self, link: &mut Link) -> Result<Greeting<'static>> {
        self.fill(link)?;
        let decoded = match self.fragmentizer.decode_message(&GreetingCodec::default()) {
            Ok(greeting) => Ok(greeting.into_static()),
            Err(e) => Err(describe(e, self.fragmentizer.message_bytes(), self.limit)),
        };
        self.consumed += self.fragmentizer.message_bytes().len() as u64;
        decoded
    }

    /// Reads the next response (data, status or continuation request).
    pub fn response(&mut self, link: &mut Link) -> Result<Response<'static>> {
        self.fill(link)?;
        let decoded = match self.fragmentizer.decode_message(&ResponseCodec::default()) {
            Ok(response) => Ok(response.into_static()),
            Err(e) => Err(describe(e, self.fragmentizer.message_bytes(), self.limit)),
        };
        self.consumed += self.fragmentizer.message_bytes().len() as u64;
        decoded
    }

    /// Feeds bytes until one message is complete.
    fn fill(&mut self, link: &mut Link) -> Result<()> {
        loop {
            match self.fragmentizer.progress() {
                Some(_) if self.fragmentizer.is_message_complete() => return Ok(()),
                Some(_) => continue,
                None => {
                    let bytes = link.read_some()?;
                    self.enqueued += bytes.len() as u64;
                    self.fragmentizer.enqueue_bytes(&bytes);
                }
            }
        }
    }
}

/// Says what was wrong with a message that did not decode.
fn describe<C: imap_codec::decode::Decoder>(
    error: DecodeMessageError<'_, C>,
    bytes: &[u8],
    limit: u32,
) -> Error {
    match error {
        DecodeMessageError::MessageTooLong { .. } => {
            Error::ProtocolViolation(format!("a response exceeds the limit of {limit} bytes"))
        }
        DecodeMessageError::DecodingFailure(_)
        | DecodeMessageError::DecodingRemainder { .. }
        | DecodeMessageError::MessagePoisoned { .. } => {
            Error::ProtocolViolation(format!("malformed response: {}", quote(bytes)))
        }
    }
}

/// A short, escaped quotation of server bytes for an error message.
pub fn quote(bytes: &[u8]) -> String {
    let cut = bytes.len().min(QUOTE_LIMIT);
    let mut quoted = escape_byte_string(&bytes[..cut]);
    if cut < bytes.len() {
        quoted.push('…');
    }
    format!("\"{quoted}\"")
}

/// The name of a response code as the server wrote it, e.g. `ALREADYEXISTS`.
pub fn code_name(code: &Code<'_>) -> String {
    let name = match code {
        Code::Alert => "ALERT",
        Code::BadCharset { .. } => "BADCHARSET",
        Code::Capability(_) => "CAPABILITY",
        Code::Parse => "PARSE",
        Code::PermanentFlags(_) => "PERMANENTFLAGS",
        Code::ReadOnly => "READ-ONLY",
        Code::ReadWrite => "READ-WRITE",
        Code::TryCreate => "TRYCREATE",
        Code::UidNext(_) => "UIDNEXT",
        Code::UidValidity(_) => "UIDVALIDITY",
        Code::Unseen(_) => "UNSEEN",
        Code::CompressionActive => "COMPRESSIONACTIVE",
        Code::OverQuota => "OVERQUOTA",
        Code::TooBig => "TOOBIG",
        Code::UnknownCte => "UNKNOWN-CTE",
        Code::AppendUid { .. } => "APPENDUID",
        Code::CopyUid { .. } => "COPYUID",
        Code::UidNotSticky => "UIDNOTSTICKY",
        Code::Other(other) => {
            let text = String::from_utf8_lossy(other.inner());
            return text
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
        }
        #[allow(unreachable_patterns)]
        _ => "OTHER",
    };
    name.to_owned()
}
