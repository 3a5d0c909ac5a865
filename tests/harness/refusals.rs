//! What a server may lawfully refuse and some tests need, probed against the server itself so
//! that such a test is skipped with the server's own answer as its reason, never failed and
//! never passed.
//!
//! - RFC 3501 §5.1 lets a server refuse a mailbox name it cannot store: servers that keep
//!   folders as file names refuse `"` (Courier-IMAP among them).
//! - RFC 5322 headers are 7-bit; 8-bit header bytes are RFC 6532's, and a server that does not
//!   announce `UTF8=ACCEPT` may refuse an `APPEND` carrying them (`NO`, `BAD`).
//!
//! A refusal is the server's tagged `NO` or `BAD`; anything else (a dropped connection, a
//! failed login) is an error of the probe, which the test reports as a failure. The test
//! targets that use this (`conformance/refusable.rs`) run on a custom harness, because
//! libtest can only ignore a test decided at build time.

use std::sync::{Mutex, OnceLock};

use crate::account::Account;
use crate::imap;

/// Something a server may refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// `"` inside a folder name (`CREATE "say \"cheese\""`).
    QuoteInFolderNames,
    /// 8-bit bytes in the header of an `APPEND`ed message (raw UTF-8 `Subject:`).
    EightBitHeaders,
}

impl Feature {
    /// What the feature is, for a skip reason.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::QuoteInFolderNames => "a folder name with '\"'",
            Feature::EightBitHeaders => "a message with 8-bit header bytes",
        }
    }

    /// Asks the server on `account`: `Ok(None)` if it accepts the feature, `Ok(Some(answer))`
    /// with its tagged `NO`/`BAD` answer if it refuses. What the probe creates is removed
    /// whatever happens (the account's scratch folder on an external server; nothing is left
    /// on a private user).
    pub fn probe(self, account: &Account) -> imap::Result<Option<String>> {
        let mut client = account.connect()?;
        let answer = self.ask(account, &mut client);
        let _ = client.logout();
        let cleaned = account.cleanup();
        let answer = answer?;
        cleaned?;
        Ok(answer)
    }

    fn ask(self, account: &Account, client: &mut imap::Client) -> imap::Result<Option<String>> {
        if account.scratch.is_some() {
            client.create(&account.wire_name(""))?;
        }
        match self {
            Feature::QuoteInFolderNames => {
                let wire = account.wire_name("cfimap probe \"q\"");
                let answer = refusal(client.create(&wire))?;
                if answer.is_none() {
                    client.delete(&wire)?;
                }
                Ok(answer)
            }
            Feature::EightBitHeaders => {
                let wire = account.wire_name("cfimap probe 8-bit");
                client.create(&wire)?;
                let mut answer = None;
                for message in EIGHT_BIT_MESSAGES {
                    answer = refusal(client.append(&wire, &[], message).map(drop))?;
                    if answer.is_some() {
                        break;
                    }
                }
                client.delete(&wire)?;
                Ok(answer)
            }
        }
    }
}

/// The 8-bit headers the tests append: raw UTF-8, raw Latin-1, and raw UTF-8 in a MIME part's
/// file name. A server may check one kind and not another, so each is tried.
const EIGHT_BIT_MESSAGES: [&[u8]; 3] = [
    "From: Jürgen Größe <j@example.de>\r\nSubject: Grüße ✓\r\n\
     Date: Thu, 6 Mar 2025 12:00:00 +0000\r\n\r\nbody\r\n"
        .as_bytes(),
    b"From: a@example.org\r\nSubject: Gr\xFC\xDFe\r\n\
      Date: Thu, 6 Mar 2025 12:00:00 +0000\r\n\r\nbody\r\n",
    "From: a@example.org\r\nSubject: file\r\nMIME-Version: 1.0\r\n\
     Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
     Content-Type: text/plain; charset=utf-8\r\n\
     Content-Disposition: attachment; filename=\"Grüße.txt\"\r\n\r\nx\r\n--b--\r\n"
        .as_bytes(),
];

/// `Ok(Some(answer))` for a tagged `NO` or `BAD`, the error itself for anything else.
fn refusal(result: imap::Result<()>) -> imap::Result<Option<String>> {
    match result {
        Ok(()) => Ok(None),
        Err(e @ (imap::Error::No { .. } | imap::Error::Bad { .. })) => Ok(Some(e.to_string())),
        Err(e) => Err(e),
    }
}

/// Whether the test target's server (see [`crate::target::account`]) refuses `feature`, probed
/// once per test binary: `Ok(None)` accepted, `Ok(Some(answer))` refused, `Err` when the
/// probe itself failed.
pub fn of_target(feature: Feature) -> Result<Option<String>, String> {
    type Answers = Mutex<Vec<(Feature, Result<Option<String>, String>)>>;
    static ANSWERS: OnceLock<Answers> = OnceLock::new();
    let answers = ANSWERS.get_or_init(Answers::default);
    let mut answers = answers.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, known)) = answers.iter().find(|(f, _)| *f == feature) {
        return known.clone();
    }
    let account = crate::target::account();
    let answer = feature
        .probe(&account)
        .map_err(|e| format!("probing {} failed: {e}", feature.describe()));
    answers.push((feature, answer.clone()));
    answer
}

/// What a test needing `features` should do on this target: `Ok(None)` run, `Ok(Some(reason))`
/// skip with `reason` (the server's answer), `Err(why)` fail — when a probe failed, or when
/// `CFIMAP_TEST_REQUIRE_ALL=1` forbids skipping.
pub fn verdict(features: &[Feature]) -> Result<Option<String>, String> {
    let require_all = std::env::var("CFIMAP_TEST_REQUIRE_ALL").as_deref() == Ok("1");
    decide(features, of_target, require_all)
}

/// [`verdict`] with the server's answers from `answer` (as [`of_target`] gives them).
pub fn decide(
    features: &[Feature],
    answer: impl Fn(Feature) -> Result<Option<String>, String>,
    require_all: bool,
) -> Result<Option<String>, String> {
    for &feature in features {
        if let Some(answer) = answer(feature)? {
            let reason = format!("the server refuses {}: {answer}", feature.describe());
            if require_all {
                return Err(format!("{reason} (and CFIMAP_TEST_REQUIRE_ALL=1)"));
            }
            return Ok(Some(reason));
        }
    }
    Ok(None)
}
