//! `<cfimapfilter>` for the read actions: [`Filter`]s built here and added to
//! [`ReadOptions`] narrow a read to the messages the server finds for them,
//! in one `UID SEARCH`.
//!
//! ```
//! use cfimap_host::{DayRange, Filter, FlagState, ReadOptions};
//!
//! // Unread mail from the boss since the first of March, newest first,
//! // except what was sent to the whole company.
//! let options = ReadOptions::default()
//!     .filter(Filter::sender("boss@example.com"))
//!     .filter(Filter::flag(FlagState::Unseen))
//!     .filter(Filter::received(DayRange::since(2025, 3, 1)))
//!     .filter(!Filter::recipient("all@example.com"))
//!     .newest_first();
//! assert_eq!(options.filters.len(), 4);
//! ```
//!
//! Texts match as substrings, case-insensitively, as the server decodes the
//! message; dates are whole days in the server's time zone, both ends
//! included. The WIT package documents each criterion's IMAP search key.

use crate::bindings::types::{
    Criterion, Day, DayRange, Filter, FlagState, HeaderMatch, ReadOptions, UidRange,
};

impl ReadOptions {
    /// These options with `filter` added: a message is read only if it
    /// matches every filter.
    #[must_use]
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// These options reading newest first: a row window counts from the
    /// newest message, and rows come newest first (an extension of the tag).
    #[must_use]
    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }
}

impl Filter {
    /// A filter matching `criterion` (not negated).
    pub fn new(criterion: Criterion) -> Self {
        Filter {
            criterion,
            negated: false,
        }
    }

    /// `name="subject"`: the Subject contains `text`.
    pub fn subject(text: impl Into<String>) -> Self {
        Self::new(Criterion::Subject(text.into()))
    }

    /// `name="from"`: the From header contains `text`.
    pub fn sender(text: impl Into<String>) -> Self {
        Self::new(Criterion::From(text.into()))
    }

    /// `name="to"`: the To header contains `text`.
    pub fn recipient(text: impl Into<String>) -> Self {
        Self::new(Criterion::To(text.into()))
    }

    /// `name="flag"`: the message is in flag state `state`.
    pub fn flag(state: FlagState) -> Self {
        Self::new(Criterion::Flag(state))
    }

    /// `name="timereceived"`: the server received it within `days`.
    pub fn received(days: DayRange) -> Self {
        Self::new(Criterion::TimeReceived(days))
    }

    /// `name="timesent"`: its Date header is within `days`.
    pub fn sent(days: DayRange) -> Self {
        Self::new(Criterion::TimeSent(days))
    }

    /// Extension: the Cc header contains `text`.
    pub fn cc(text: impl Into<String>) -> Self {
        Self::new(Criterion::Cc(text.into()))
    }

    /// Extension: the body contains `text`.
    pub fn body(text: impl Into<String>) -> Self {
        Self::new(Criterion::Body(text.into()))
    }

    /// Extension: the header or the body contains `text`.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(Criterion::Text(text.into()))
    }

    /// Extension: header field `name` contains `value` (empty: has the
    /// field).
    pub fn header(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(Criterion::Header(HeaderMatch {
            name: name.into(),
            value: value.into(),
        }))
    }

    /// Extension: the message has the keyword (user flag) `keyword`.
    pub fn keyword(keyword: impl Into<String>) -> Self {
        Self::new(Criterion::Keyword(keyword.into()))
    }

    /// Extension: the message is larger than `bytes`.
    pub fn larger(bytes: u32) -> Self {
        Self::new(Criterion::Larger(bytes))
    }

    /// Extension: the message is smaller than `bytes`.
    pub fn smaller(bytes: u32) -> Self {
        Self::new(Criterion::Smaller(bytes))
    }

    /// Extension: the UID is within `first..=last`.
    pub fn uids(first: u32, last: u32) -> Self {
        Self::new(Criterion::Uid(vec![UidRange { first, last }]))
    }
}

impl std::ops::Not for Filter {
    type Output = Filter;

    /// Extension: the messages the filter does not match (`NOT`).
    fn not(self) -> Filter {
        Filter {
            negated: !self.negated,
            ..self
        }
    }
}

impl Day {
    /// The day `year-month-day` (checked by the component, which refuses an
    /// impossible date with `invalid-argument`).
    pub fn new(year: u16, month: u8, day: u8) -> Self {
        Day { year, month, day }
    }
}

impl DayRange {
    /// From the first day to the last, both included.
    pub fn between(first: Day, last: Day) -> Self {
        DayRange {
            from: Some(first),
            to: Some(last),
        }
    }

    /// That day and every day after it.
    pub fn since(year: u16, month: u8, day: u8) -> Self {
        DayRange {
            from: Some(Day::new(year, month, day)),
            to: None,
        }
    }

    /// Every day up to and including that day.
    pub fn until(year: u16, month: u8, day: u8) -> Self {
        DayRange {
            from: None,
            to: Some(Day::new(year, month, day)),
        }
    }
}
