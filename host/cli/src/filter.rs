//! `--filter NAME=VALUE` and `--exclude NAME=VALUE`: `<cfimapfilter>` on the
//! command line. The names are the tag's (`subject`, `from`, `to`, `flag`,
//! `timeReceived`, `timeSent`) and the extensions' (`cc`, `body`, `text`,
//! `header`, `keyword`, `larger`, `smaller`, `uid`), in any case.
//!
//! | filter | value |
//! |---|---|
//! | `subject`, `from`, `to`, `cc`, `body`, `text` | the text to find |
//! | `flag` | `seen`, `unseen`, `answered`, `unanswered`, `flagged`, `unflagged`, `deleted`, `undeleted`, `draft`, `undraft`, `recent` |
//! | `timereceived`, `timesent` | `2024-01-01..2024-01-31` (both days included), `2024-01-01..`, `..2024-01-31`, or one day |
//! | `header` | `Name:text` (`Name:` alone: the message has the field) |
//! | `keyword` | a keyword (user flag) |
//! | `larger`, `smaller` | bytes |
//! | `uid` | `1:100,200` (ranges as `a:b` or `a-b`) |

use cfimap_host::{Criterion, Day, DayRange, Filter, FlagState, HeaderMatch, UidRange};

/// The names `--filter` takes, for help and errors.
pub const NAMES: &str = "subject, from, to, flag, timeReceived, timeSent, cc, body, text, header, \
                         keyword, larger, smaller, uid";

/// Parses one `NAME=VALUE` of `--filter` (or, `negated`, of `--exclude`).
/// The error says which part is wrong and what was expected.
pub fn parse(spec: &str, negated: bool) -> Result<Filter, String> {
    let flag_name = if negated { "--exclude" } else { "--filter" };
    let Some((name, value)) = spec.split_once('=') else {
        return Err(format!(
            "invalid {flag_name} {spec:?}: expected NAME=VALUE, NAME one of {NAMES}"
        ));
    };
    let name = name.trim();
    let bad = |why: String| format!("invalid {flag_name} {spec:?}: {why}");
    let criterion = match name.to_ascii_lowercase().as_str() {
        "subject" => Criterion::Subject(text(value).map_err(bad)?),
        "from" => Criterion::From(text(value).map_err(bad)?),
        "to" => Criterion::To(text(value).map_err(bad)?),
        "cc" => Criterion::Cc(text(value).map_err(bad)?),
        "body" => Criterion::Body(text(value).map_err(bad)?),
        "text" => Criterion::Text(text(value).map_err(bad)?),
        "flag" => Criterion::Flag(flag(value).map_err(bad)?),
        "timereceived" => Criterion::TimeReceived(days(value).map_err(bad)?),
        "timesent" => Criterion::TimeSent(days(value).map_err(bad)?),
        "header" => {
            let Some((field, contains)) = value.split_once(':') else {
                return Err(bad(
                    "expected header=Name:text (Name: alone matches any value)".into(),
                ));
            };
            Criterion::Header(HeaderMatch {
                name: field.trim().to_owned(),
                value: contains.trim_start().to_owned(),
            })
        }
        "keyword" => Criterion::Keyword(value.trim().to_owned()),
        "larger" => Criterion::Larger(bytes(value).map_err(bad)?),
        "smaller" => Criterion::Smaller(bytes(value).map_err(bad)?),
        "uid" => Criterion::Uid(uid_ranges(value).map_err(bad)?),
        _ => {
            return Err(bad(format!(
                "unknown filter {name:?}; the filters are {NAMES}"
            )));
        }
    };
    Ok(Filter { criterion, negated })
}

fn text(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("the text to find is empty".into());
    }
    Ok(value.to_owned())
}

fn flag(value: &str) -> Result<FlagState, String> {
    Ok(match value.trim().to_ascii_lowercase().as_str() {
        "answered" => FlagState::Answered,
        "flagged" => FlagState::Flagged,
        "seen" => FlagState::Seen,
        "unanswered" => FlagState::Unanswered,
        "undeleted" => FlagState::Undeleted,
        "undraft" => FlagState::Undraft,
        "unseen" => FlagState::Unseen,
        "deleted" => FlagState::Deleted,
        "draft" => FlagState::Draft,
        "unflagged" => FlagState::Unflagged,
        "recent" => FlagState::Recent,
        other => {
            return Err(format!(
                "unknown flag {other:?}; expected seen, unseen, answered, unanswered, flagged, \
                 unflagged, deleted, undeleted, draft, undraft or recent"
            ));
        }
    })
}

/// `A..B`, `A..`, `..B` or `A` (that day only).
fn days(value: &str) -> Result<DayRange, String> {
    let value = value.trim();
    let (from, to) = match value.split_once("..") {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (value, value),
    };
    if from.is_empty() && to.is_empty() {
        return Err("expected FIRST..LAST (days as YYYY-MM-DD; either side may be empty)".into());
    }
    let day_of = |s: &str| (!s.is_empty()).then(|| day(s)).transpose();
    Ok(DayRange {
        from: day_of(from)?,
        to: day_of(to)?,
    })
}

/// `YYYY-MM-DD`; whether the day exists is the component's to check.
fn day(s: &str) -> Result<Day, String> {
    let wrong = || format!("{s:?} is not a day; expected YYYY-MM-DD");
    let mut parts = s.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(wrong());
    };
    if y.len() != 4 || !(1..=2).contains(&m.len()) || !(1..=2).contains(&d.len()) {
        return Err(wrong());
    }
    Ok(Day {
        year: y.parse().map_err(|_| wrong())?,
        month: m.parse().map_err(|_| wrong())?,
        day: d.parse().map_err(|_| wrong())?,
    })
}

fn bytes(value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{:?} is not a number of bytes", value.trim()))
}

/// `1:100,200,300-310`.
fn uid_ranges(value: &str) -> Result<Vec<UidRange>, String> {
    let mut ranges = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once([':', '-']).unwrap_or((part, part));
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("{part:?} is not a UID or a range of UIDs (a:b)"))
        };
        ranges.push(UidRange {
            first: number(a)?,
            last: number(b)?,
        });
    }
    if ranges.is_empty() {
        return Err("expected UIDs, e.g. 1:100,200".into());
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day_of(year: u16, month: u8, d: u8) -> Day {
        Day {
            year,
            month,
            day: d,
        }
    }

    #[test]
    fn the_tags_names_in_any_case() {
        assert_eq!(
            parse("Subject=Quarterly report", false),
            Ok(Filter {
                criterion: Criterion::Subject("Quarterly report".into()),
                negated: false
            })
        );
        assert_eq!(
            parse("FROM=boss@example.com", true).map(|f| (f.criterion, f.negated)),
            Ok((Criterion::From("boss@example.com".into()), true))
        );
        assert_eq!(
            parse("flag=UnSeen", false).map(|f| f.criterion),
            Ok(Criterion::Flag(FlagState::Unseen))
        );
        // A value may hold '='.
        assert_eq!(
            parse("text=a=b", false).map(|f| f.criterion),
            Ok(Criterion::Text("a=b".into()))
        );
    }

    #[test]
    fn day_ranges_one_or_two_sided() {
        assert_eq!(
            parse("timeReceived=2024-01-01..2024-02-01", false).map(|f| f.criterion),
            Ok(Criterion::TimeReceived(DayRange {
                from: Some(day_of(2024, 1, 1)),
                to: Some(day_of(2024, 2, 1))
            }))
        );
        assert_eq!(
            parse("timesent=..2024-2-1", false).map(|f| f.criterion),
            Ok(Criterion::TimeSent(DayRange {
                from: None,
                to: Some(day_of(2024, 2, 1))
            }))
        );
        assert_eq!(
            parse("timesent=2024-03-05", false).map(|f| f.criterion),
            Ok(Criterion::TimeSent(DayRange {
                from: Some(day_of(2024, 3, 5)),
                to: Some(day_of(2024, 3, 5))
            }))
        );
        for bad in ["timesent=..", "timesent=01/02/2024", "timesent=2024-01"] {
            let e = parse(bad, false).unwrap_err();
            assert!(e.contains("YYYY-MM-DD"), "{bad}: {e}");
        }
    }

    #[test]
    fn extensions() {
        assert_eq!(
            parse("header=List-Id: dev.example.org", false).map(|f| f.criterion),
            Ok(Criterion::Header(HeaderMatch {
                name: "List-Id".into(),
                value: "dev.example.org".into()
            }))
        );
        assert_eq!(
            parse("uid=1:3, 7, 9-10", false).map(|f| f.criterion),
            Ok(Criterion::Uid(vec![
                UidRange { first: 1, last: 3 },
                UidRange { first: 7, last: 7 },
                UidRange { first: 9, last: 10 },
            ]))
        );
        assert_eq!(
            parse("larger=1000", false).map(|f| f.criterion),
            Ok(Criterion::Larger(1000))
        );
    }

    #[test]
    fn mistakes_say_what_was_expected() {
        let e = parse("subjekt=x", false).unwrap_err();
        assert!(
            e.contains("unknown filter") && e.contains("timeReceived"),
            "{e}"
        );
        assert!(parse("subject", false).unwrap_err().contains("NAME=VALUE"));
        assert!(parse("subject=", false).unwrap_err().contains("empty"));
        assert!(parse("flag=read", false).unwrap_err().contains("unseen"));
        assert!(parse("larger=big", false).unwrap_err().contains("bytes"));
        assert!(
            parse("uid=a:b", true)
                .unwrap_err()
                .starts_with("invalid --exclude")
        );
        assert!(
            parse("header=List-Id", false)
                .unwrap_err()
                .contains("Name:text")
        );
    }
}
