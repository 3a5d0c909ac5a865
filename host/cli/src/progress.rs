//! Progress on stderr, for people at a terminal: a spinner with a count of
//! the rows read so far, shown only once an action has taken more than a
//! moment, and cleared when it ends. Never when stderr is not a terminal,
//! never with `--quiet`, never on stdout: output stays exactly what it would
//! be without it.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long an action runs before its progress shows: shorter ones finish
/// without a flicker.
const DELAY: Duration = Duration::from_millis(400);

/// The progress of one action; hidden until [`DELAY`] has passed.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// stdout is the same kind of place, a terminal: writes to it must
    /// clear the spinner first.
    shares_terminal: bool,
}

impl Progress {
    /// Progress for `what` (e.g. `getHeaderOnly INBOX`), counting rows when
    /// `counts`, unless `quiet` or stderr is not a terminal.
    pub fn start(what: String, counts: bool, quiet: bool) -> Progress {
        let shares_terminal = std::io::stdout().is_terminal();
        if quiet || !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                shares_terminal,
            };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let template = if counts {
            "{spinner} {msg}: {pos} rows ({elapsed})"
        } else {
            "{spinner} {msg} ({elapsed})"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(what);
        let shown = bar.clone();
        std::thread::spawn(move || {
            std::thread::sleep(DELAY);
            if !shown.is_finished() {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress {
            bar: Some(bar),
            shares_terminal,
        }
    }

    /// Runs `write` with the spinner cleared, then draws it again: output
    /// written to the same terminal between two redraws would be garbled.
    pub fn suspend<R>(&self, write: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) if self.shares_terminal => bar.suspend(write),
            _ => write(),
        }
    }

    /// Counts `rows` more rows.
    pub fn rows(&self, rows: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(rows as u64);
        }
    }

    /// Counts the rows of `lines`, JSON lines of one row each; counted
    /// only when the progress can show.
    pub fn lines(&self, lines: &[u8]) {
        if let Some(bar) = &self.bar {
            bar.inc(lines.iter().filter(|&&b| b == b'\n').count() as u64);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
