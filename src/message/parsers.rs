//! The three ways cfimap has mail-parser read a message: which header
//! fields it decodes, whether it reads the MIME structure, and whether it
//! undoes transfer encodings.
//!
//! A row shows a handful of header fields; every other field (Received,
//! DKIM-Signature, ...) is left unparsed, and bodies are decoded only where
//! they are read. Each parser is built once and shared.

use std::sync::OnceLock;

use mail_parser::{HeaderName, MessageParser};

/// The parser, told to decode only the headers a row shows and those MIME
/// needs. Every other header (Received, DKIM-Signature, ...) is skipped
/// unparsed: they are most of a typical header block, and parsing Received
/// lines alone took a third of getHeaderOnly's time. `header_raw` still finds
/// skipped headers, by offset.
///
/// Content-Transfer-Encoding is skipped too, so the parser finds the MIME
/// structure without decoding any body: attachments are decoded only when
/// they are written, a chunk at a time
/// ([`TransferEncoding`](super::transfer_encoding::TransferEncoding)), and
/// encoded body texts are decoded on their own, with [`decoding_parser`].
/// Decoding every attachment inside the parser was over half of getAll's
/// time.
///
/// The fuzz target `rows` checks it against mail-parser's own decoding.
pub fn parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        row_headers(
            MessageParser::new()
                .with_mime_headers()
                .ignore_header(HeaderName::ContentTransferEncoding),
        )
    })
}

/// The parser of getHeaderOnly: the headers a row shows, and no MIME
/// headers, since a header row has no parts to find (parsing Content-Type
/// was a fiftieth of getHeaderOnly).
///
/// The fuzz target `rows` checks that getHeaderOnly and getAll agree on
/// every header column.
pub fn header_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| row_headers(MessageParser::new()))
}

/// A parser that decodes bodies: for a body text taken on its own, and for
/// the rare message whose structure needs its transfer encodings undone.
pub fn decoding_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| row_headers(MessageParser::new().with_mime_headers()))
}

/// `parser` told to decode the headers a row shows and to skip the rest.
fn row_headers(parser: MessageParser) -> MessageParser {
    parser
        .header_text(HeaderName::Subject)
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_address(HeaderName::ReplyTo)
        .header_date(HeaderName::Date)
        .default_header_ignore()
}
