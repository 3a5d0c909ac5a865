//! `<cfimapfilter>`s as IMAP search keys (RFC 3501 §6.4.4, RFC 9051
//! §6.4.4): each filter becomes one key, and the keys of a read, ANDed, are
//! one `UID SEARCH`.
//!
//! | filter | key |
//! |---|---|
//! | `subject`, `from`, `to`, `cc`, `body`, `text` | `SUBJECT`, `FROM`, `TO`, `CC`, `BODY`, `TEXT` |
//! | `header` | `HEADER name value` |
//! | `flag` | `ANSWERED`, `UNSEEN`, … |
//! | `timereceived` from..to | `SINCE from BEFORE to+1` (internal date) |
//! | `timesent` from..to | `SENTSINCE from SENTBEFORE to+1` (Date header) |
//! | `keyword`, `larger`, `smaller`, `uid` | `KEYWORD`, `LARGER`, `SMALLER`, `UID set` |
//! | negated | `NOT key` |
//!
//! Dates are days: IMAP compares days without a time of day (the internal
//! date's day in the server's time zone, the Date header's day as written
//! in it), so `to` is made inclusive by asking for `BEFORE` the day after
//! it. A text that is not ASCII goes as a literal under
//! `CHARSET UTF-8`; a server that does not know the charset answers `NO
//! [BADCHARSET]`, which reaches the caller as `server-refused` with that
//! code.

use std::num::NonZeroU32;

use chrono::{Days, NaiveDate};
use imap_codec::imap_types::core::{AString, Atom, Vec1};
use imap_codec::imap_types::datetime::NaiveDate as ImapDate;
use imap_codec::imap_types::search::SearchKey;
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};

use crate::bindings::cfimap::imap::types::{
    Criterion, Day, DayRange, Filter, FlagState, HeaderMatch, UidRange,
};
use crate::error::{Error, Result};

/// The attribute named in errors about filters.
const ATTRIBUTE: &str = "filter";

/// The filters of a read as search keys, ready for `UID SEARCH`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Criteria {
    /// One key per filter (a date range may need two), to be ANDed.
    pub keys: Vec<SearchKey<'static>>,
    /// Whether a text is not ASCII: the search then names `CHARSET UTF-8`.
    pub utf8: bool,
}

impl Criteria {
    /// The keys of `filters`, validated: nothing is sent for a filter that
    /// is wrong, and the error names it.
    pub fn of(filters: &[Filter]) -> Result<Criteria> {
        let mut criteria = Criteria {
            keys: Vec::new(),
            utf8: false,
        };
        for filter in filters {
            let mut keys = criteria.keys_of(&filter.criterion)?;
            if filter.negated {
                // NOT applies to one key: a two-sided range is one
                // parenthesised list (RFC 3501 §6.4.4, `(search-key ...)`).
                let key = match Vec1::try_from(std::mem::take(&mut keys)) {
                    Ok(both) if both.as_ref().len() > 1 => SearchKey::And(both),
                    Ok(one) => one.into_iter().next().unwrap_or(SearchKey::All),
                    Err(_) => SearchKey::All,
                };
                keys = vec![SearchKey::Not(Box::new(key))];
            }
            criteria.keys.extend(keys);
        }
        Ok(criteria)
    }

    /// Whether there are no filters (every message matches).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn keys_of(&mut self, criterion: &Criterion) -> Result<Vec<SearchKey<'static>>> {
        let key = match criterion {
            Criterion::Subject(t) => SearchKey::Subject(self.text("subject", t)?),
            Criterion::From(t) => SearchKey::From(self.text("from", t)?),
            Criterion::To(t) => SearchKey::To(self.text("to", t)?),
            Criterion::Cc(t) => SearchKey::Cc(self.text("cc", t)?),
            Criterion::Body(t) => SearchKey::Body(self.text("body", t)?),
            Criterion::Text(t) => SearchKey::Text(self.text("text", t)?),
            Criterion::Header(HeaderMatch { name, value }) => {
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && b != b':')
                {
                    return Err(Error::invalid(
                        ATTRIBUTE,
                        format!(
                            "header: {name:?} is not a header field name (printable ASCII \
                             without ':' or spaces)"
                        ),
                    ));
                }
                SearchKey::Header(self.text("header", name)?, self.text("header", value)?)
            }
            Criterion::Flag(state) => flag(*state),
            Criterion::TimeReceived(range) => {
                return days("timereceived", range, SearchKey::Since, SearchKey::Before);
            }
            Criterion::TimeSent(range) => {
                return days("timesent", range, SearchKey::SentSince, SearchKey::SentBefore);
            }
            Criterion::Keyword(k) => SearchKey::Keyword(Atom::try_from(k.clone()).map_err(|_| {
                Error::invalid(
                    ATTRIBUTE,
                    format!("keyword: {k:?} is not an IMAP keyword (an atom: no spaces, no ()%*\"\\]{{ or control characters)"),
                )
            })?),
            Criterion::Larger(n) => SearchKey::Larger(*n),
            Criterion::Smaller(n) => SearchKey::Smaller(*n),
            Criterion::Uid(ranges) => SearchKey::Uid(uid_set(ranges)?),
        };
        Ok(vec![key])
    }

    /// A text value: quoted, or a literal when it needs one; non-ASCII
    /// turns on `CHARSET UTF-8`.
    fn text(&mut self, name: &str, value: &str) -> Result<AString<'static>> {
        if value.contains('\0') {
            return Err(Error::invalid(
                ATTRIBUTE,
                format!("{name}: a search text cannot contain NUL"),
            ));
        }
        if !value.is_ascii() {
            self.utf8 = true;
        }
        // Never an atom: an atom-looking text (`NIL`) is still a string.
        imap_codec::imap_types::core::IString::try_from(value.to_owned())
            .map(AString::String)
            .map_err(|e| Error::invalid(ATTRIBUTE, format!("{name}: {e}")))
    }
}

fn flag(state: FlagState) -> SearchKey<'static> {
    match state {
        FlagState::Answered => SearchKey::Answered,
        FlagState::Flagged => SearchKey::Flagged,
        FlagState::Seen => SearchKey::Seen,
        FlagState::Unanswered => SearchKey::Unanswered,
        FlagState::Undeleted => SearchKey::Undeleted,
        FlagState::Undraft => SearchKey::Undraft,
        FlagState::Unseen => SearchKey::Unseen,
        FlagState::Deleted => SearchKey::Deleted,
        FlagState::Draft => SearchKey::Draft,
        FlagState::Unflagged => SearchKey::Unflagged,
        FlagState::Recent => SearchKey::Recent,
    }
}

/// `since(from)` and `before(to + 1 day)`: both days included.
fn days(
    name: &str,
    range: &DayRange,
    since: fn(ImapDate) -> SearchKey<'static>,
    before: fn(ImapDate) -> SearchKey<'static>,
) -> Result<Vec<SearchKey<'static>>> {
    let from = range.from.map(|d| date(name, d)).transpose()?;
    let to = range.to.map(|d| date(name, d)).transpose()?;
    if from.is_none() && to.is_none() {
        return Err(Error::invalid(
            ATTRIBUTE,
            format!("{name} needs a first day, a last day or both"),
        ));
    }
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Error::invalid(
            ATTRIBUTE,
            format!("{name}: the first day {f} is after the last day {t}"),
        ));
    }
    let mut keys = Vec::new();
    if let Some(f) = from {
        keys.push(since(imap_date(name, f)?));
    }
    if let Some(t) = to {
        // The day after 9999-12-31 is not an IMAP date; nothing is after it.
        if let Some(next) = t.checked_add_days(Days::new(1))
            && let Ok(d) = ImapDate::try_from(next)
        {
            keys.push(before(d));
        }
    }
    if keys.is_empty() {
        keys.push(SearchKey::All);
    }
    Ok(keys)
}

fn date(name: &str, day: Day) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(day.year.into(), day.month.into(), day.day.into())
        .filter(|d| (1..=9999).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| {
            Error::invalid(
                ATTRIBUTE,
                format!(
                    "{name}: {:04}-{:02}-{:02} is not a date",
                    day.year, day.month, day.day
                ),
            )
        })
}

fn imap_date(name: &str, date: NaiveDate) -> Result<ImapDate> {
    ImapDate::try_from(date).map_err(|e| {
        Error::invalid(
            ATTRIBUTE,
            format!("{name}: {date} is not an IMAP date: {e}"),
        )
    })
}

/// The UID ranges as one set; every range is checked.
fn uid_set(ranges: &[UidRange]) -> Result<SequenceSet> {
    let mut sequences = Vec::new();
    for &UidRange { first, last } in ranges {
        let (Some(a), Some(b)) = (NonZeroU32::new(first), NonZeroU32::new(last)) else {
            return Err(Error::invalid(
                ATTRIBUTE,
                format!("uid: {first}:{last} — UIDs start at 1"),
            ));
        };
        if a > b {
            return Err(Error::invalid(
                ATTRIBUTE,
                format!("uid: {first}:{last} — the first UID is after the last"),
            ));
        }
        sequences.push(if a == b {
            Sequence::Single(SeqOrUid::Value(a))
        } else {
            Sequence::Range(SeqOrUid::Value(a), SeqOrUid::Value(b))
        });
    }
    Vec1::try_from(sequences)
        .map(SequenceSet)
        .map_err(|_| Error::invalid(ATTRIBUTE, "uid: no range given"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_codec::CommandCodec;
    use imap_codec::encode::Encoder;
    use imap_codec::imap_types::command::{Command, CommandBody};

    fn text_filter(criterion: Criterion) -> Filter {
        Filter {
            criterion,
            negated: false,
        }
    }

    /// The command line `UID SEARCH` would send, literals inlined.
    fn wire(filters: &[Filter]) -> String {
        let criteria = Criteria::of(filters).unwrap();
        let charset = criteria
            .utf8
            .then(|| imap_codec::imap_types::core::Charset::try_from("UTF-8").unwrap());
        let command = Command::new(
            "A",
            CommandBody::Search {
                charset,
                criteria: Vec1::try_from(criteria.keys).unwrap(),
                uid: true,
            },
        )
        .unwrap();
        String::from_utf8(CommandCodec::default().encode(&command).dump()).unwrap()
    }

    fn day(year: u16, month: u8, d: u8) -> Day {
        Day {
            year,
            month,
            day: d,
        }
    }

    #[test]
    fn the_tags_filters_map_to_their_keys() {
        let filters = [
            text_filter(Criterion::Subject("report".into())),
            text_filter(Criterion::From("boss@example.com".into())),
            text_filter(Criterion::To("me".into())),
            text_filter(Criterion::Flag(FlagState::Unseen)),
        ];
        assert_eq!(
            wire(&filters),
            "A UID SEARCH SUBJECT \"report\" FROM \"boss@example.com\" TO \"me\" UNSEEN\r\n"
        );
    }

    #[test]
    fn day_ranges_include_both_ends() {
        let f = text_filter(Criterion::TimeReceived(DayRange {
            from: Some(day(2024, 1, 1)),
            to: Some(day(2024, 2, 29)),
        }));
        assert_eq!(
            wire(&[f]),
            "A UID SEARCH SINCE \"01-Jan-2024\" BEFORE \"01-Mar-2024\"\r\n"
        );
        let f = text_filter(Criterion::TimeSent(DayRange {
            from: None,
            to: Some(day(2024, 12, 31)),
        }));
        assert_eq!(wire(&[f]), "A UID SEARCH SENTBEFORE \"01-Jan-2025\"\r\n");
    }

    #[test]
    fn a_negated_range_is_one_parenthesised_key() {
        let f = Filter {
            criterion: Criterion::TimeReceived(DayRange {
                from: Some(day(2024, 1, 1)),
                to: Some(day(2024, 1, 31)),
            }),
            negated: true,
        };
        assert_eq!(
            wire(&[f]),
            "A UID SEARCH NOT (SINCE \"01-Jan-2024\" BEFORE \"01-Feb-2024\")\r\n"
        );
        let f = Filter {
            criterion: Criterion::Flag(FlagState::Seen),
            negated: true,
        };
        assert_eq!(wire(&[f]), "A UID SEARCH NOT SEEN\r\n");
    }

    #[test]
    fn non_ascii_text_is_a_literal_under_charset_utf8() {
        let criteria = Criteria::of(&[text_filter(Criterion::Subject("Grüße".into()))]).unwrap();
        assert!(criteria.utf8);
        assert_eq!(
            wire(&[text_filter(Criterion::Subject("Grüße".into()))]),
            "A UID SEARCH CHARSET UTF-8 SUBJECT {7}\r\nGrüße\r\n"
        );
        assert!(
            !Criteria::of(&[text_filter(Criterion::Subject("NIL".into()))])
                .unwrap()
                .utf8
        );
        assert_eq!(
            wire(&[text_filter(Criterion::Subject("NIL".into()))]),
            "A UID SEARCH SUBJECT \"NIL\"\r\n"
        );
    }

    #[test]
    fn extensions_map_to_their_keys() {
        let filters = [
            text_filter(Criterion::Header(HeaderMatch {
                name: "List-Id".into(),
                value: "dev".into(),
            })),
            text_filter(Criterion::Keyword("$Important".into())),
            text_filter(Criterion::Larger(1000)),
            text_filter(Criterion::Smaller(5000)),
            text_filter(Criterion::Uid(vec![
                UidRange { first: 1, last: 3 },
                UidRange { first: 7, last: 7 },
            ])),
        ];
        assert_eq!(
            wire(&filters),
            "A UID SEARCH HEADER \"List-Id\" \"dev\" KEYWORD $Important LARGER 1000 SMALLER 5000 UID 1:3,7\r\n"
        );
    }

    #[test]
    fn wrong_filters_name_what_is_wrong() {
        let reason = |criterion: Criterion| match Criteria::of(&[text_filter(criterion)]) {
            Err(Error::InvalidArgument { attribute, reason }) => {
                assert_eq!(attribute, "filter");
                reason
            }
            other => panic!("{other:?}"),
        };
        assert!(
            reason(Criterion::TimeSent(DayRange {
                from: None,
                to: None
            }))
            .contains("timesent")
        );
        assert!(
            reason(Criterion::TimeReceived(DayRange {
                from: Some(day(2024, 2, 30)),
                to: None
            }))
            .contains("2024-02-30 is not a date")
        );
        assert!(
            reason(Criterion::TimeReceived(DayRange {
                from: Some(day(2024, 3, 1)),
                to: Some(day(2024, 2, 1))
            }))
            .contains("after the last day")
        );
        assert!(reason(Criterion::Keyword("two words".into())).contains("keyword"));
        assert!(reason(Criterion::Subject("a\0b".into())).contains("NUL"));
        assert!(reason(Criterion::Uid(vec![UidRange { first: 5, last: 3 }])).contains("5:3"));
        assert!(
            reason(Criterion::Uid(vec![UidRange { first: 0, last: 3 }])).contains("start at 1")
        );
        assert!(reason(Criterion::Uid(vec![])).contains("no range"));
        assert!(
            reason(Criterion::Header(HeaderMatch {
                name: "Bad Name:".into(),
                value: String::new()
            }))
            .contains("header")
        );
    }
}
