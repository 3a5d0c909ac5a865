//! The read actions, getHeaderOnly and getAll: EXAMINE, resolve the
//! selection and the filters (one `UID SEARCH`, [`super::search`]), then
//! one `UID FETCH` per window of messages. A whole folder, a `rows`
//! window or a `messagenumber` list without filters is fetched by message
//! number instead ([`selection::Targets`]), with no `UID SEARCH` before: a
//! round trip and the server's search fewer. Newest first, windows are
//! taken from the newest end and each is handed out reversed once it is
//! complete.
//! Newest first, windows are pipelined (RFC 3501 §5.5): a few windows'
//! FETCH commands are in flight at once, so the server goes on to the next
//! window without waiting for the client. One at a time, each window cost a
//! round trip and the server's start of a command: a newest-first getAll of
//! 2,000 messages (250 windows) took 1.9 times the plain read, a
//! getHeaderOnly of 10,000 (100 windows) 1.3 times.
//!
//! Reading never changes the mailbox: the folder is opened with EXAMINE and
//! bodies are fetched with `BODY.PEEK`, so `\Seen` stays as it was.
//!
//! Each message becomes its row while its FETCH response is still in the
//! receive buffer: the message is parsed where it arrived, never copied and
//! never held once its row is built. Memory therefore follows the largest
//! message and the rows, not the window; windows are bounded only by the
//! command-line budget of their UID set, or, by number, by the most
//! messages a read takes ([`selection::targets`]).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::body::{BodyStructure, SpecificFields};
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::core::{NString, Vec1};
use imap_codec::imap_types::fetch::{
    MacroOrMessageDataItemNames, MessageDataItem, MessageDataItemName, Section,
};
use imap_codec::imap_types::flag::FlagFetch;
use imap_codec::imap_types::response::Data;

use crate::actions::rows;
use crate::actions::search::Criteria;
use crate::actions::selection::{self, Targets};
use crate::actions::spiller::Spiller;
use crate::bindings::cfimap::imap::types::{MessageRow, ReadOptions, Selection};
use crate::error::{Error, Result};
use crate::imap::mailbox::{self, Folder};
use crate::imap::responses::LiteralSink;
use crate::imap::session::{Next, Pending, Session};
use crate::message::attachments::{Provisional, Saver};
use crate::message::spill::Spilled;

/// Messages per window of a newest-first read, whose rows are held until the
/// window is complete, to be handed out in reverse: headers are small, but
/// getAll's rows carry whole bodies, so its windows hold a few only.
const fn newest_first_window(depth: Depth) -> usize {
    match depth {
        Depth::Headers => 100,
        Depth::Whole => 8,
    }
}

/// What the server sent for one message, borrowed from the receive buffer
/// (or owned, for the rare answer split over several responses).
#[derive(Debug, Default)]
pub struct Fetched<'a> {
    /// Sequence number.
    pub seq: u32,
    /// Unique identifier; 0 until the server said it.
    pub uid: u32,
    /// Flags, `\Recent` included; `None` when the response had no FLAGS
    /// item (an explicit empty list, `FLAGS ()`, is `Some`).
    pub flags: Option<Vec<FlagFetch<'a>>>,
    /// RFC822.SIZE.
    pub size: Option<u32>,
    /// INTERNALDATE as RFC 3339.
    pub internal_date: Option<String>,
    /// The header block (getHeaderOnly) or the whole message (getAll).
    pub bytes: Option<Cow<'a, [u8]>>,
    /// The body's line count from the server's BODY structure (getHeaderOnly);
    /// RFC 3501 §7.4.2 defines it for `text/*` and `message/rfc822` bodies only.
    pub lines: Option<u32>,
    /// When the message was taken apart as it arrived: `bytes` is its
    /// skeleton, and these are its holes ([`crate::actions::spiller`]).
    pub spilled: Option<Spilled<Provisional>>,
}

impl Fetched<'_> {
    /// The items of one FETCH response.
    fn from_items<'a>(seq: u32, items: Vec1<MessageDataItem<'a>>) -> Fetched<'a> {
        let mut fetched = Fetched {
            seq,
            ..Fetched::default()
        };
        for item in Vec1::into_iter(items) {
            match item {
                MessageDataItem::Uid(uid) => fetched.uid = uid.get(),
                MessageDataItem::Flags(flags) => fetched.flags = Some(flags),
                MessageDataItem::Rfc822Size(size) => fetched.size = Some(size),
                MessageDataItem::InternalDate(date) => {
                    fetched.internal_date = Some(date.as_ref().to_rfc3339());
                }
                MessageDataItem::BodyExt { data, .. } => {
                    fetched.bytes = Some(match data {
                        NString(Some(s)) => s.into_inner(),
                        NString(None) => Cow::Borrowed(&[]),
                    });
                }
                MessageDataItem::Body(structure) | MessageDataItem::BodyStructure(structure) => {
                    fetched.lines = body_lines(&structure);
                }
                _ => {}
            }
        }
        fetched
    }

    /// Fills what this response lacks from an earlier one of the same message.
    fn merge(&mut self, earlier: Fetched<'static>) {
        if self.uid == 0 {
            self.uid = earlier.uid;
        }
        if self.flags.is_none() {
            self.flags = earlier.flags;
        }
        self.size = self.size.or(earlier.size);
        self.internal_date = self.internal_date.take().or(earlier.internal_date);
        if self.bytes.is_none() {
            self.bytes = earlier.bytes;
            self.spilled = earlier.spilled;
        }
        self.lines = self.lines.or(earlier.lines);
    }

    /// What an answer parked in `partial` still lacks, as its error says.
    fn lacking(&self) -> &'static str {
        match (self.uid, self.bytes.is_some()) {
            (0, true) => "no UID",
            (0, false) => "neither the UID nor the message data",
            _ => "no message data",
        }
    }

    fn into_owned(self) -> Fetched<'static> {
        Fetched {
            seq: self.seq,
            uid: self.uid,
            flags: self.flags.map(IntoStatic::into_static),
            size: self.size,
            internal_date: self.internal_date,
            bytes: self.bytes.map(|b| Cow::Owned(b.into_owned())),
            lines: self.lines,
            spilled: self.spilled,
        }
    }
}

/// Which read action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// getHeaderOnly: the header block only.
    Headers,
    /// getAll: the whole message.
    Whole,
}

/// Windows a newest-first read keeps asked for and not yet handed on: the
/// one being answered and two more, so that the server goes from one
/// window to the next without waiting for the client even when a window's
/// answer takes it less than the client's turn (8 small messages of getAll
/// do). Their rows are what such a read holds at most.
const IN_FLIGHT: usize = 3;

/// A read in progress (getHeaderOnly or getAll): the windows still to
/// fetch, the FETCH commands being answered, and the rows built but not yet
/// taken.
///
/// Rows are built as the server's answer is read, and only as far as the
/// caller takes them ([`Read::next`]), so a read of any size holds about one
/// batch of rows (newest first: the windows in flight) and one message at a
/// time.
///
/// Newest first, windows are pipelined: [`IN_FLIGHT`] FETCH commands are
/// sent before their answers are read, the next one as soon as a window's
/// rows are all handed on, and answers are told apart by their UIDs or
/// message numbers (windows never share one). Rows and errors are handed
/// on in window order, whatever order the server ends the commands in. A
/// getAll that stops at its first error (`stoponerror`) and saves
/// attachments asks for one window at a time instead: a window's end can
/// report an error after the next window's messages came, and no file may
/// be written past it. A read in the server's order has one window, or a
/// few of thousands of messages each (the command line's budget), asked
/// for one at a time: its rows are handed on as they come, never held for
/// a window.
pub struct Read {
    depth: Depth,
    options: ReadOptions,
    /// Where attachments go (getAll with `attachmentpath`).
    saver: Option<Saver>,
    /// Where the large messages of a read that saves attachments are taken
    /// apart as they arrive.
    spiller: Option<Rc<RefCell<Spiller>>>,
    /// What the windows' sets count: UIDs, or message numbers.
    by: Key,
    /// The highest message number a read by number asks for (0 by UID): an
    /// EXPUNGE at or below it is refused ([`expunged`]).
    last: u32,
    /// Sets of the windows not asked for yet.
    windows: VecDeque<String>,
    /// FETCH commands whose answers have not ended, oldest first.
    sent: Vec<Sent>,
    /// Windows asked for and not yet handed on, oldest first: those of
    /// `sent`, and ended ones whose rows wait for an earlier window's.
    flying: VecDeque<Window>,
    /// Number of the next window asked for.
    numbered: u64,
    /// Responses without their UID or message data yet, by sequence
    /// number: unsolicited flag updates, or an answer split over responses.
    partial: HashMap<u32, Fetched<'static>>,
    ready: VecDeque<MessageRow>,
}

/// What a read's windows are sets of, and its answers are told apart by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// UIDs (`UID FETCH`): the selection and filters were resolved to them.
    Uid,
    /// Message numbers (`FETCH`): a range or a `messagenumber` list, within
    /// the EXISTS count. No EXPUNGE may come while a `FETCH` is answered
    /// (RFC 3501 §7.4.1, where a `UID FETCH` may carry one), so they stay
    /// put for the whole read; a server that sends one anyway for a message
    /// the read may still ask about is refused ([`expunged`]).
    Number,
}

impl Key {
    /// The key of a message's answer.
    fn of(self, fetched: &Fetched<'_>) -> u32 {
        match self {
            Key::Uid => fetched.uid,
            Key::Number => fetched.seq,
        }
    }

    /// What a set of these keys is called in an error.
    fn plural(self) -> &'static str {
        match self {
            Key::Uid => "UIDs",
            Key::Number => "message numbers",
        }
    }

    /// The key of a message's row: a failed row knows its key, though
    /// perhaps not the other number (0 when the server never said it).
    fn of_row(self, row: &MessageRow) -> u32 {
        match self {
            Key::Uid => row.uid,
            Key::Number => row.messagenumber,
        }
    }

    /// One message by its key, as an error names it.
    fn one(self, key: u32) -> String {
        match self {
            Key::Uid => format!("UID {key}"),
            Key::Number => format!("message number {key}"),
        }
    }
}

/// A FETCH sent whose answer has not ended, and the number of its window.
struct Sent {
    pending: Pending,
    window: u64,
}

impl AsRef<Pending> for Sent {
    fn as_ref(&self) -> &Pending {
        &self.pending
    }
}

impl Read {
    /// Opens the folder (EXAMINE) and resolves the selection; nothing is
    /// fetched yet.
    pub fn start(
        session: &mut Session,
        folder: Option<&str>,
        selection: &Selection,
        options: ReadOptions,
        depth: Depth,
    ) -> Result<Read> {
        // Filters are checked before anything is sent.
        let criteria = Criteria::of(&options.filters)?;
        let saver = match &options.attachmentpath {
            Some(dir) => Some(Saver::new(dir.clone(), options.generateuniquefilenames)?),
            None => None,
        }
        .filter(|_| depth == Depth::Whole);
        let folder = match folder {
            None => Folder::inbox(),
            Some(f) => mailbox::resolve(session.namespace(), "folder", f)?,
        };
        let opened = selection::open(session, folder, true)?;
        let targets =
            selection::targets(session, &opened, selection, &criteria, options.newest_first)?;
        // Newest first: small windows from the newest end, each handed out
        // reversed once complete: rows newest first, never more than the
        // windows in flight of them held.
        let size = newest_first_window(depth);
        let newest_size = options.newest_first.then_some(size);
        let (by, last, windows) = match targets {
            Targets::Uids(uids) => (Key::Uid, 0, list_windows(&uids, newest_size)),
            Targets::NumberList(numbers) => (
                Key::Number,
                numbers.last().copied().unwrap_or(0),
                list_windows(&numbers, newest_size),
            ),
            Targets::Numbers(first, last) => {
                (Key::Number, last, number_windows(first, last, newest_size))
            }
        };
        let spiller = options
            .attachmentpath
            .clone()
            .filter(|_| saver.is_some())
            .map(|dir| Rc::new(RefCell::new(Spiller::new(dir))));
        Ok(Read {
            depth,
            options,
            saver,
            spiller,
            by,
            last,
            windows,
            sent: Vec::new(),
            flying: VecDeque::new(),
            numbered: 0,
            partial: HashMap::new(),
            ready: VecDeque::new(),
        })
    }

    /// getHeaderOnly's read or getAll's.
    pub fn depth(&self) -> Depth {
        self.depth
    }

    /// Up to `max` further rows, in the order the server sends them (newest
    /// first: window by window, each from its newest message down); an empty list
    /// once the read is complete. After an error the read is over, and the
    /// rows not yet taken go with it.
    pub fn next(&mut self, session: &mut Session, max: usize) -> Result<Vec<MessageRow>> {
        let mut result = self.fill(session, max);
        if let Err(e) = &result
            && !e.breaks_session()
        {
            // The commands still under way are read to their ends, so that
            // the session can run another; if that fails, the session is
            // broken, and that is the error to report.
            if let Err(broken) = self.drain(session) {
                result = Err(broken.annotated(&format!(
                    " (while reading the rest of the answers after: {e})"
                )));
            }
        }
        if result.is_err() {
            self.windows.clear();
            self.sent.clear();
            self.flying.clear();
            self.ready.clear();
        }
        result?;
        let n = max.min(self.ready.len());
        Ok(self.ready.drain(..n).collect())
    }

    /// Reads the rest of the FETCH commands under way without building
    /// rows, so that the session can run another command.
    pub fn abandon(mut self, session: &mut Session) -> Result<()> {
        self.drain(session)
    }

    /// Reads the answers still under way to their ends, building nothing.
    fn drain(&mut self, session: &mut Session) -> Result<()> {
        while !self.sent.is_empty() {
            if let Next::Done(i, _) = session.next_of(&self.sent, |_| ())? {
                self.sent.remove(i);
            }
        }
        Ok(())
    }

    /// Sends the next window's FETCH; `false` when none is left.
    fn send_next(&mut self, session: &mut Session) -> Result<bool> {
        let Some(set) = self.windows.pop_front() else {
            return Ok(false);
        };
        let pending = session.send(fetch_command(&set, self.depth, self.by)?)?;
        let number = self.numbered;
        self.numbered += 1;
        self.sent.push(Sent {
            pending,
            window: number,
        });
        self.flying.push_back(Window::new(number, set, self.by));
        Ok(true)
    }

    /// Builds rows until `max` are ready or the read is complete.
    fn fill(&mut self, session: &mut Session, max: usize) -> Result<()> {
        let saves_and_stops = self.options.stoponerror && self.saver.is_some();
        let in_flight = if self.options.newest_first && !saves_and_stops {
            IN_FLIGHT
        } else {
            1
        };
        loop {
            self.hand_on(max)?;
            if self.ready.len() >= max {
                return Ok(());
            }
            // Bounded by the windows not yet handed on, not by the commands
            // under way: rows wait in windows that ended before an earlier
            // one. None is asked for past an error.
            while self.stopped_at().is_none()
                && self.flying.len() < in_flight
                && self.send_next(session)?
            {}
            if self.sent.is_empty() {
                // Every window asked for is handed on (`hand_on`).
                return Ok(());
            }
            let stop_at = self.stopped_at();
            let (depth, options, saver) = (self.depth, &self.options, &mut self.saver);
            let (by, last, flying, partial) =
                (self.by, self.last, &mut self.flying, &mut self.partial);
            let spiller = self.spiller.as_deref();
            if let Some(spiller) = &self.spiller {
                session.spill_into(Some(Rc::clone(spiller) as Rc<RefCell<dyn LiteralSink>>));
            }
            let step = session.next_of(&self.sent, |data| {
                if let Data::Expunge(gone) = data {
                    return expunged(gone.get(), by, last, partial);
                }
                route(data, by, flying, partial, spiller, |window, at, fetched| {
                    window.accept(at, fetched, depth, options, saver.as_mut(), stop_at);
                });
                Ok(())
            });
            session.spill_into(None);
            let step = step?;
            if let Next::Data(Err(e)) = step {
                // An error found before, still waiting for its turn, is
                // not hidden by this one.
                return Err(match self.flying.iter().find_map(|w| w.error.as_ref()) {
                    Some(earlier) => e.annotated(&format!(" (after: {earlier})")),
                    None => e,
                });
            }
            if let Next::Done(i, refusal) = step {
                let Sent { window, .. } = self.sent.remove(i);
                if let Some(ended) = self.flying.iter_mut().find(|w| w.number == window) {
                    ended.ended = true;
                    if ended.error.is_none()
                        && let Err(e) = ended.finish(refusal, &self.partial, &self.options)
                    {
                        ended.error = Some(e);
                    }
                }
                // What no window still answered can use goes: its own split
                // answers are reported by now. Responses without their key
                // (a UID) may begin another window's answer, so they stay
                // while one is under way.
                if self.sent.is_empty() {
                    self.partial.clear();
                } else {
                    let (flying, by) = (&self.flying, self.by);
                    self.partial.retain(|_, f| {
                        let key = by.of(f);
                        key == 0
                            || flying
                                .iter()
                                .any(|w| !w.ended && w.wanted.binary_search(&key).is_ok())
                    });
                }
            }
        }
    }

    /// The first window with the error that ends the action: no row is
    /// built after it, no window is asked for, and the error is handed on
    /// in its window's turn. The rest of the answers is still read, so the
    /// session stays usable.
    fn stopped_at(&self) -> Option<u64> {
        self.flying
            .iter()
            .find(|w| w.error.is_some())
            .map(|w| w.number)
    }

    /// Moves the rows that may be handed on to `ready`, until it holds
    /// `max`: those of the oldest window as they come (newest first: once it
    /// ended, reversed), and of each window after it that ended too; the
    /// error of the first window that has one, once the windows before it
    /// are handed on. Rows before an error thus come as they would one
    /// window at a time, whatever order the server ends the windows in.
    fn hand_on(&mut self, max: usize) -> Result<()> {
        let by = self.by;
        while self.ready.len() < max
            && let Some(front) = self.flying.front_mut()
        {
            if !front.ended {
                if !self.options.newest_first {
                    self.ready.extend(front.rows.drain(..));
                }
                break;
            }
            if let Some(e) = front.error.take() {
                return Err(e);
            }
            if self.options.newest_first {
                front.rows.sort_by_key(|r| std::cmp::Reverse(by.of_row(r)));
            }
            self.ready.extend(front.rows.drain(..));
            self.flying.pop_front();
        }
        Ok(())
    }
}

/// An EXPUNGE of message number `gone` while the read's FETCH commands are
/// answered.
///
/// By number, RFC 3501 §7.4.1 forbids it. A server that sends one anyway
/// for a message at or below the read's highest number (`last`) may have
/// shifted numbers not yet answered, so that the rows that followed would
/// name the wrong messages: the read is refused. One past `last` shifts
/// none of them and is passed over.
///
/// By UID it is allowed and the rows' keys stay put, but the answers
/// waiting in `partial` are filed by message number: the expunged
/// message's goes, and those above it move down one, as the server
/// renumbered them (RFC 3501 §7.4.1).
fn expunged(
    gone: u32,
    by: Key,
    last: u32,
    partial: &mut HashMap<u32, Fetched<'static>>,
) -> Result<()> {
    match by {
        Key::Number if gone <= last => Err(Error::ProtocolViolation(format!(
            "the server expunged message number {gone} while answering a FETCH by message \
             number (RFC 3501 §7.4.1 forbids it): the messages after it may no longer have \
             the numbers asked for"
        ))),
        Key::Number => Ok(()),
        Key::Uid => {
            partial.remove(&gone);
            let mut above: Vec<u32> = partial.keys().copied().filter(|&n| n > gone).collect();
            // Lowest first: each moves into the number just freed.
            above.sort_unstable();
            for n in above {
                if let Some(mut waiting) = partial.remove(&n) {
                    waiting.seq = n - 1;
                    partial.insert(n - 1, waiting);
                }
            }
            Ok(())
        }
    }
}

/// Finds the window an untagged response answers, by its key (UID or
/// message number), and hands it the message (`accept`) with its place in
/// the window; a message no window asked for is not a row. A response
/// without its UID or data waits in `partial` for the rest.
fn route(
    data: Data<'_>,
    by: Key,
    flying: &mut VecDeque<Window>,
    partial: &mut HashMap<u32, Fetched<'static>>,
    spiller: Option<&RefCell<Spiller>>,
    accept: impl FnOnce(&mut Window, usize, Fetched<'_>),
) {
    let Data::Fetch { seq, items } = data else {
        return;
    };
    let mut fetched = Fetched::from_items(seq.get(), items);
    if let Some(spiller) = spiller {
        let taken = spiller
            .borrow_mut()
            .claim(fetched.bytes.as_deref().unwrap_or_default());
        fetched.spilled = taken;
    }
    if let Some(earlier) = partial.remove(&fetched.seq) {
        fetched.merge(earlier);
    }
    if fetched.uid == 0 || fetched.bytes.is_none() {
        partial.insert(fetched.seq, fetched.into_owned());
        return;
    }
    let key = by.of(&fetched);
    let found = flying
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.ended)
        .find_map(|(i, w)| w.wanted.binary_search(&key).ok().map(|at| (i, at)));
    if let Some((i, at)) = found {
        accept(&mut flying[i], at, fetched);
    }
}

/// Runs getHeaderOnly or getAll to the end: every row, by message number
/// (newest first with `newest-first`).
pub fn read(
    session: &mut Session,
    folder: Option<&str>,
    selection: &Selection,
    options: ReadOptions,
    depth: Depth,
) -> Result<Vec<MessageRow>> {
    let newest_first = options.newest_first;
    let mut read = Read::start(session, folder, selection, options, depth)?;
    let by = read.by;
    let mut rows = Vec::new();
    loop {
        let batch = read.next(session, usize::MAX)?;
        if batch.is_empty() {
            break;
        }
        rows.extend(batch);
    }
    // In the server's order a window's failed rows come after those that
    // arrived; they take their place by the read's key, which every row
    // has (a failed one perhaps not the other number). UIDs ascend with
    // message numbers (RFC 3501 §2.3.1.1), so either is the folder's order.
    // Newest first, `hand_on` has sorted each window already.
    if !newest_first {
        rows.sort_by_key(|r| by.of_row(r));
    }
    Ok(rows)
}

/// One window while its FETCH answer streams in.
struct Window {
    /// Its place among the read's windows.
    number: u64,
    /// The set fetched.
    set: String,
    /// What the set counts.
    by: Key,
    /// Its UIDs or message numbers, in order.
    asked: Vec<u32>,
    /// The same sorted, for look-ups: anything else the server sends is not
    /// a row. (A binary search; hashing every UID twice cost more.)
    wanted: Vec<u32>,
    /// Which of `wanted` have their row.
    done: Vec<bool>,
    /// Whether its FETCH has ended.
    ended: bool,
    /// The error that ends the action here: a row that could not be built
    /// (stoponerror, or a broken session), or what its end reported
    /// (refused, messages missing or without their data, with stoponerror).
    /// No row is built after it.
    error: Option<Error>,
    /// Rows built and not yet handed on.
    rows: Vec<MessageRow>,
}

impl Window {
    fn new(number: u64, set: String, by: Key) -> Window {
        let asked = selection::expand(&set);
        let mut wanted = asked.clone();
        wanted.sort_unstable();
        wanted.dedup();
        Window {
            number,
            done: vec![false; wanted.len()],
            wanted,
            asked,
            set,
            by,
            ended: false,
            error: None,
            rows: Vec::new(),
        }
    }

    /// The message at `wanted[at]`: its row, unless it has one, or this
    /// window or one before it (`stop_at`) has the error that ends the
    /// action. A row that cannot be built is that error when the action
    /// stops at errors.
    fn accept(
        &mut self,
        at: usize,
        fetched: Fetched<'_>,
        depth: Depth,
        options: &ReadOptions,
        saver: Option<&mut Saver>,
        stop_at: Option<u64>,
    ) {
        if self.error.is_some()
            || stop_at.is_some_and(|n| n < self.number)
            || std::mem::replace(&mut self.done[at], true)
        {
            return;
        }
        let (seq, uid) = (fetched.seq, fetched.uid);
        match rows::build(fetched, depth, saver) {
            Ok(row) => self.rows.push(row),
            Err(e) if options.stoponerror || e.breaks_session() => {
                self.error = Some(about(e, Key::Uid, &uid.to_string()));
            }
            Err(e) => self.rows.push(rows::failed(seq, uid, &e.to_string())),
        }
    }

    /// Whether the message of `key` has its row.
    fn has_row(&self, key: u32) -> bool {
        self.wanted
            .binary_search(&key)
            .is_ok_and(|at| self.done[at])
    }

    /// The FETCH ended (`refusal`: with NO or BAD): rows for the messages
    /// asked for that got none (`partial`: the responses that came without
    /// their data), or the error that ends the action.
    fn finish(
        &mut self,
        refusal: Option<Error>,
        partial: &HashMap<u32, Fetched<'static>>,
        options: &ReadOptions,
    ) -> Result<()> {
        if let Some(e) = &refusal
            && options.stoponerror
        {
            return Err(about(e.clone(), self.by, &self.set));
        }
        let by = self.by;
        // The messages that came without their data or UID: (number, UID)
        // and what they lack, by key.
        let partial: HashMap<u32, ((u32, u32), &str)> = partial
            .values()
            .filter(|f| by.of(f) != 0)
            .map(|f| (by.of(f), ((f.seq, f.uid), f.lacking())))
            .collect();
        // A failed row of the message of `key`, whichever numbers are known.
        let failed = |key: u32, known: Option<(u32, u32)>, error: &str| {
            let (seq, uid) = known.unwrap_or(match by {
                Key::Uid => (0, key),
                Key::Number => (key, 0),
            });
            rows::failed(seq, uid, error)
        };
        let mut missing = Vec::new();
        for &key in &self.asked {
            if self.has_row(key) {
                continue;
            }
            if let Some(&(known, lacking)) = partial.get(&key) {
                let e = Error::IncompleteAnswer(format!(
                    "the server's FETCH answer for {} carried {lacking}",
                    by.one(key)
                ));
                if options.stoponerror {
                    return Err(e);
                }
                self.rows.push(failed(key, Some(known), &e.to_string()));
            } else if let Some(e) = &refusal {
                // Refused: the messages the server did not deliver failed.
                self.rows.push(failed(key, None, &e.to_string()));
            } else {
                missing.push(key);
            }
        }
        // Never silently fewer rows: a message that was in the folder when
        // the read began and did not come (expunged meanwhile by another
        // session, or lost by the server) is reported, as JavaMail reports a
        // message removed under it.
        let gone = |which: &str| {
            Error::IncompleteAnswer(format!(
                "the server's FETCH answer had nothing for {which} (expunged meanwhile, or lost \
                 by the server)"
            ))
        };
        if options.stoponerror && !missing.is_empty() {
            let which = match &missing[..] {
                [one] => by.one(*one),
                _ => format!("{} {}", by.plural(), selection::sets(&missing).join(",")),
            };
            return Err(gone(&which));
        }
        for key in missing {
            self.rows
                .push(failed(key, None, &gone(&by.one(key)).to_string()));
        }
        Ok(())
    }
}

/// `UID FETCH` (or by number, `FETCH`) of a window with the items the
/// action needs.
fn fetch_command(set: &str, depth: Depth, by: Key) -> Result<CommandBody<'static>> {
    let section = match depth {
        Depth::Headers => Some(Section::Header(None)),
        Depth::Whole => None,
    };
    let mut items = vec![
        MessageDataItemName::Uid,
        MessageDataItemName::Flags,
        MessageDataItemName::Rfc822Size,
        MessageDataItemName::InternalDate,
        MessageDataItemName::BodyExt {
            section,
            partial: None,
            peek: true,
        },
    ];
    // LINES without the body: the server counts them (getAll counts itself).
    if depth == Depth::Headers {
        items.push(MessageDataItemName::Body);
    }
    Ok(CommandBody::Fetch {
        sequence_set: selection::parse_set(set)?,
        macro_or_item_names: MacroOrMessageDataItemNames::MessageDataItemNames(items),
        uid: by == Key::Uid,
    })
}

/// The line count a BODY structure gives: known for a single `text/*` or
/// `message/rfc822` body, unknown (as in JavaMail) for multipart and others.
fn body_lines(structure: &BodyStructure<'_>) -> Option<u32> {
    match structure {
        BodyStructure::Single { body, .. } => match body.specific {
            SpecificFields::Text {
                number_of_lines, ..
            }
            | SpecificFields::Message {
                number_of_lines, ..
            } => Some(number_of_lines),
            SpecificFields::Basic { .. } => None,
        },
        BodyStructure::Multi { .. } => None,
    }
}

/// Names the messages an error was about: `set`, of UIDs or numbers.
fn about(error: Error, by: Key, set: &str) -> Error {
    error.annotated(&format!(" ({} {set})", by.plural()))
}

/// The windows of a list of UIDs or message numbers (ascending, each once):
/// its sets, each within the command line's budget; newest first, chunks of
/// `size` taken from the newest end, the newest set first should a chunk
/// ever need more than one.
fn list_windows(keys: &[u32], newest_first: Option<usize>) -> VecDeque<String> {
    match newest_first {
        Some(size) => keys
            .rchunks(size.max(1))
            .flat_map(|chunk| selection::sets(chunk).into_iter().rev())
            .collect(),
        None => selection::sets(keys).into(),
    }
}

/// The sets of message numbers `first..=last` is fetched in: one, or
/// newest first windows of `newest_first` from the newest end.
fn number_windows(first: u32, last: u32, newest_first: Option<usize>) -> VecDeque<String> {
    let set = |a: u32, b: u32| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}:{b}")
        }
    };
    let mut windows = VecDeque::new();
    if first == 0 || first > last {
        return windows;
    }
    let Some(size) = newest_first else {
        windows.push_back(set(first, last));
        return windows;
    };
    let span = u32::try_from(size.max(1) - 1).unwrap_or(u32::MAX);
    let mut top = last;
    loop {
        let bottom = top.saturating_sub(span).max(first);
        windows.push_back(set(bottom, top));
        if bottom == first {
            return windows;
        }
        top = bottom - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_its_sets_in_order_and_chunks_from_the_top_newest_first() {
        assert_eq!(list_windows(&[2, 3, 4, 9], None), ["2:4,9"]);
        assert!(list_windows(&[], None).is_empty());
        assert!(list_windows(&[], Some(8)).is_empty());
        assert_eq!(
            list_windows(&[1, 2, 3, 5, 8, 9], Some(2)),
            ["8:9", "3,5", "1:2"]
        );
        // Every key once, whichever way it is cut.
        let keys: Vec<u32> = (1..=1000).map(|n| n * 3).collect();
        for size in [None, Some(1), Some(7), Some(100)] {
            let mut got: Vec<u32> = list_windows(&keys, size)
                .iter()
                .flat_map(|set| selection::expand(set))
                .collect();
            got.sort_unstable();
            assert_eq!(got, keys, "{size:?}");
        }
    }

    #[test]
    fn a_range_in_order_is_one_window() {
        assert_eq!(number_windows(1, 10_000, None), ["1:10000"]);
        assert_eq!(number_windows(7, 7, None), ["7"]);
        assert!(number_windows(1, 0, None).is_empty());
    }

    #[test]
    fn newest_first_windows_cover_the_range_from_the_top_each_number_once() {
        assert_eq!(number_windows(1, 20, Some(8)), ["13:20", "5:12", "1:4"]);
        assert_eq!(number_windows(3, 10, Some(8)), ["3:10"]);
        assert_eq!(number_windows(5, 5, Some(100)), ["5"]);
        assert_eq!(number_windows(1, 3, Some(1)), ["3", "2", "1"]);
        let windows = number_windows(1, 230, Some(8));
        assert_eq!(windows.len(), 29);
        let numbers: Vec<u32> = windows.iter().flat_map(|w| selection::expand(w)).collect();
        assert_eq!(numbers.len(), 230);
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, (1..=230).collect::<Vec<_>>());
    }
}
