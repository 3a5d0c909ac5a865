//! Streamed rows printed on a thread of their own.
//!
//! A read runs the component and prints rows on one thread, in turn. When
//! stdout is a file or a pipe, the printing goes to a second thread
//! instead, so that it overlaps with the component reading the next batch:
//! the writing of the component's JSON lines (a getAll of 2,000 messages
//! writes 12 MB of them), or for CSV the rows turned into records, escaped,
//! written and freed. At most [`QUEUED`] batches wait, so memory
//! stays a few batches whatever the folder's size. On a terminal the rows
//! are printed in turn, since the progress spinner must be cleared around
//! every write to the same terminal.

use std::io::{self, BufWriter, StdoutLock};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::args::Format;
use crate::output::{self, RowStream};

/// Batches handed over and not yet printed, at most.
const QUEUED: usize = 2;

/// Bytes of rows gathered before a write. With `BufWriter`'s 8 KiB, through
/// stdout's own line buffering, getAll's 12 MB of rows took about 3,000
/// writes, each a system call into the page cache of the file stdout is.
const WRITE_CHUNK: usize = 256 * 1024;

/// What the reading thread hands over.
enum Batch {
    /// Rows to print.
    Rows(output::Batch),
    /// The read is complete: end the stream.
    End,
}

/// A [`RowStream`] to stdout fed from the reading thread.
pub struct Printer {
    tx: Option<SyncSender<Batch>>,
    thread: Option<JoinHandle<io::Result<()>>>,
    /// Set by the printing thread when a write failed, so that the read
    /// stops at its next batch (and getAll saves no more attachments)
    /// instead of when the queue is full.
    failed: Arc<AtomicBool>,
}

impl Printer {
    /// Starts the printing thread: `format`, the message columns of getAll
    /// (`bodies`) or getHeaderOnly.
    pub fn start(format: Format, bodies: bool) -> io::Result<Printer> {
        let (tx, rx) = mpsc::sync_channel::<Batch>(QUEUED);
        let failed = Arc::new(AtomicBool::new(false));
        let failure = Arc::clone(&failed);
        let thread = std::thread::Builder::new()
            .name("cfimap-printer".into())
            .spawn(move || {
                let printed = print_all(&rx, format, bodies);
                if printed.is_err() {
                    failure.store(true, Ordering::Relaxed);
                }
                printed
            })?;
        Ok(Printer {
            tx: Some(tx),
            thread: Some(thread),
            failed,
        })
    }

    /// Hands `rows` over; `false` when the printing failed
    /// ([`Printer::finish`] says how).
    pub fn print(&mut self, rows: output::Batch) -> bool {
        !self.failed.load(Ordering::Relaxed)
            && self
                .tx
                .as_ref()
                .is_some_and(|tx| tx.send(Batch::Rows(rows)).is_ok())
    }

    /// Waits for every row to be written; the printing's error, if it
    /// failed. `complete`: the read ended, so the stream is ended too (see
    /// [`RowStream::finish`]).
    pub fn finish(mut self, complete: bool) -> io::Result<()> {
        self.stop(complete)
    }

    fn stop(&mut self, complete: bool) -> io::Result<()> {
        if let Some(tx) = self.tx.take()
            && complete
        {
            // A failed send means the thread has stopped: its error follows.
            let _ = tx.send(Batch::End);
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the printing thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for Printer {
    /// A read that failed (and returned early) still has its rows so far
    /// written and flushed before the error is reported.
    fn drop(&mut self) {
        let _ = self.stop(false);
    }
}

/// The printing thread: every batch handed over, in `format`.
fn print_all(rx: &Receiver<Batch>, format: Format, bodies: bool) -> io::Result<()> {
    let columns = output::message_columns(bodies);
    let out = BufWriter::with_capacity(WRITE_CHUNK, io::stdout().lock());
    let mut stream: RowStream<BufWriter<StdoutLock<'static>>> =
        RowStream::new(format, columns, out);
    // A closed channel without `End` is a read that failed: the rows so far
    // stay written, the stream unfinished (a JSON array unclosed), as when
    // printed in turn.
    while let Ok(batch) = rx.recv() {
        match batch {
            Batch::Rows(rows) => {
                stream.write_batch(rows, bodies)?;
                stream.flush()?;
            }
            Batch::End => return stream.finish(),
        }
    }
    stream.flush()
}

/// Whether rows go to a [`Printer`]: stdout is not a terminal.
pub fn wanted() -> bool {
    use std::io::IsTerminal;
    !io::stdout().is_terminal()
}
