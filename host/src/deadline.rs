//! Holding every call into the component to its deadline
//! ([`RuntimeOptions::deadline`](crate::RuntimeOptions::deadline)).
//!
//! A call ends at its deadline through the executor's timer, which can fire
//! only when the call yields to the executor. A call that waits on the host
//! (the network, a file) yields at every wait. A call that computes yields
//! only if the compiled code lets it, and that is what [`Interruption`]
//! chooses:
//!
//! - [`Interruption::Epoch`]: the code checks wasmtime's epoch at every
//!   function entry and loop, a thread advances the epoch every [`TICK`],
//!   and the store yields at each tick. A component that computes forever is
//!   cut off like one that waits. The checks cost about a tenth of the
//!   component's CPU in a read (getAll and getHeaderOnly of the bench's
//!   folders, 8–10% of the process's CPU).
//! - [`Interruption::Watchdog`]: no checks. Waits are bounded as before; a
//!   call that has not returned to the executor a moment ([`GRACE`]) after
//!   its deadline is computing (or stuck in a host function that does not
//!   yield, such as a file operation on a stalled disk), and nothing in the
//!   process can stop it, so a watchdog thread hands it to the host's
//!   function, which ends the process (the command line's choice: one
//!   session per process).
//!
//! The compiled code differs between the two, so the engine, the compile
//! cache's key and a precompiled file depend on the choice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store};

/// How a call into the component that computes, without waiting on the
/// host, is held to its deadline (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub enum Interruption {
    /// The compiled code checks an epoch at every function entry and loop:
    /// a component that computes is cut off at the deadline like one that
    /// waits. The checks cost about a tenth of the component's CPU.
    #[default]
    Epoch,
    /// No checks in the compiled code. A call that runs past its deadline
    /// while it waits on the host ends as with [`Interruption::Epoch`]; one
    /// that has not returned to the executor [`GRACE`] after its deadline
    /// (it computes, or a file operation stalls) cannot be stopped: the
    /// function is then called once, on a thread of its own, with the
    /// deadline. It should end the process; when it returns, the call runs
    /// on. For a program that runs its sessions in a process of their own,
    /// as the command line does.
    Watchdog(fn(Duration)),
}

/// How often the epoch advances, and so how often a computing component
/// yields to the executor under [`Interruption::Epoch`].
pub const TICK: Duration = Duration::from_millis(20);

/// How long after its deadline a call under [`Interruption::Watchdog`] is
/// taken for one that computes: the executor's timer ends a waiting call
/// well within it, even on a busy machine.
pub const GRACE: Duration = Duration::from_secs(1);

/// Sets `config` up for `interruption`: the epoch checks are compiled in
/// only for [`Interruption::Epoch`].
pub(crate) fn configure(config: &mut wasmtime::Config, interruption: Interruption) {
    config.epoch_interruption(matches!(interruption, Interruption::Epoch));
}

/// What keeps a runtime's calls to their deadlines while it lives: the
/// epoch's ticker or the watchdog.
pub(crate) enum Guard {
    /// [`Interruption::Epoch`]: the epoch advances while this lives.
    Epoch { _ticker: Ticker },
    /// [`Interruption::Watchdog`].
    Watchdog(Arc<Watchdog>),
}

impl Guard {
    /// Starts what `interruption` needs for calls into `engine`'s code.
    pub(crate) fn start(engine: &Engine, interruption: Interruption) -> Self {
        match interruption {
            Interruption::Epoch => Guard::Epoch {
                _ticker: Ticker::start(engine),
            },
            Interruption::Watchdog(on_overrun) => Guard::Watchdog(Watchdog::start(on_overrun)),
        }
    }

    /// A new store for `engine`'s code: one that yields to the executor at
    /// every epoch tick, when the code checks the epoch.
    pub(crate) fn store<T: 'static>(&self, engine: &Engine, data: T) -> Store<T> {
        let mut store = Store::new(engine, data);
        if let Guard::Epoch { .. } = self {
            store.epoch_deadline_async_yield_and_update(1);
        }
        store
    }

    /// The limit of a session's calls.
    pub(crate) fn limit(&self, deadline: Option<Duration>) -> Limit {
        Limit {
            deadline,
            watchdog: match self {
                Guard::Epoch { .. } => None,
                Guard::Watchdog(watchdog) => Some(Arc::clone(watchdog)),
            },
        }
    }
}

/// The limit of each call of one session: its deadline, and the watchdog
/// that watches it under [`Interruption::Watchdog`].
pub(crate) struct Limit {
    deadline: Option<Duration>,
    watchdog: Option<Arc<Watchdog>>,
}

/// A call into the component that ran past its deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Overdue(pub(crate) Duration);

/// What a call into the component gave: its result, a trap, or the deadline.
pub(crate) type Bounded<T> = Result<wasmtime::Result<T>, Overdue>;

/// Runs `call` for at most `limit`'s deadline.
pub(crate) async fn within<T>(
    limit: &Limit,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> Bounded<T> {
    match limit.deadline {
        None => Ok(call.await),
        Some(deadline) => {
            let _watched = limit.watchdog.as_ref().map(|w| w.watch(deadline));
            tokio::time::timeout(deadline, call)
                .await
                .map_err(|_| Overdue(deadline))
        }
    }
}

/// Advances an engine's epoch every [`TICK`] while it lives.
pub(crate) struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, stopped) = (engine.weak(), Arc::clone(&stop));
        let spawned = std::thread::Builder::new()
            .name("cfimap-epoch".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no epoch thread: deadlines apply to network waits only");
        }
        Self { stop }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Watches the calls in progress under [`Interruption::Watchdog`] from a
/// thread of its own, which ends when the last runtime or session holding
/// it is dropped.
pub(crate) struct Watchdog {
    shared: Arc<Watched>,
}

/// The calls in progress, shared with the watchdog's thread.
struct Watched {
    calls: Mutex<Calls>,
    changed: Condvar,
    on_overrun: fn(Duration),
}

#[derive(Default)]
struct Calls {
    next: u64,
    /// Each call in progress: when it is overdue (its deadline and
    /// [`GRACE`] past its start), and its deadline.
    due: BTreeMap<u64, (Instant, Duration)>,
    /// When the thread wakes next; `None` while it waits for a call.
    wake_at: Option<Instant>,
    stop: bool,
}

/// A call being watched; dropping it ends the watch.
struct Watch {
    shared: Arc<Watched>,
    id: u64,
}

impl Watchdog {
    fn start(on_overrun: fn(Duration)) -> Arc<Self> {
        let shared = Arc::new(Watched {
            calls: Mutex::new(Calls::default()),
            changed: Condvar::new(),
            on_overrun,
        });
        let watched = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("cfimap-watchdog".into())
            .spawn(move || watched.run());
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no watchdog thread: deadlines apply to waits only");
        }
        Arc::new(Self { shared })
    }

    /// Watches a call with this deadline until the result is dropped.
    fn watch(&self, deadline: Duration) -> Watch {
        let mut calls = self.shared.lock();
        let id = calls.next;
        calls.next += 1;
        // A deadline too far to name an instant for is never due.
        if let Some(due) = Instant::now().checked_add(deadline.saturating_add(GRACE)) {
            calls.due.insert(id, (due, deadline));
            // The thread is woken only when it would wake too late: a
            // session's calls, one after another, each due later than the
            // one before, cost no wake-up each.
            if calls.wake_at.is_none_or(|at| due < at) {
                drop(calls);
                self.shared.changed.notify_one();
            }
        }
        Watch {
            shared: Arc::clone(&self.shared),
            id,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_one();
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.shared.lock().due.remove(&self.id);
    }
}

impl Watched {
    /// The state, even after a panic elsewhere: it holds no invariant a
    /// panic could break.
    fn lock(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The watchdog's thread: sleeps until the first call is due, hands
    /// each overdue call to `on_overrun` once.
    fn run(&self) {
        let mut calls = self.lock();
        while !calls.stop {
            let now = Instant::now();
            let first = calls
                .due
                .iter()
                .map(|(&id, &due)| (id, due))
                .min_by_key(|(_, d)| d.0);
            calls = match first {
                Some((id, (due, deadline))) if due <= now => {
                    calls.due.remove(&id);
                    drop(calls);
                    tracing::error!(
                        deadline_s = deadline.as_secs(),
                        "a call into the component is computing past its deadline"
                    );
                    (self.on_overrun)(deadline);
                    self.lock()
                }
                Some((_, (due, _))) => {
                    calls.wake_at = Some(due);
                    self.changed
                        .wait_timeout(calls, due - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => {
                    calls.wake_at = None;
                    self.changed
                        .wait(calls)
                        .unwrap_or_else(PoisonError::into_inner)
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::component;

    /// `(module (func (export "spin") (loop (br 0))))`: computes forever,
    /// never calling the host.
    const SPIN: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
        0x03, 0x02, 0x01, 0x00, // function 0 has type 0
        0x07, 0x08, 0x01, 0x04, b's', b'p', b'i', b'n', 0x00, 0x00, // export "spin"
        0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // loop { br 0 }
    ];

    /// The deadline holds for a guest that never waits on the host: the
    /// engine's configuration, the ticker and the store's yield together
    /// let the executor's timer fire inside the loop.
    #[tokio::test]
    async fn a_guest_that_computes_forever_is_cut_off_at_its_deadline() {
        let engine = component::engine(Interruption::Epoch).expect("the engine");
        let guard = Guard::start(&engine, Interruption::Epoch);
        let module = wasmtime::Module::new(&engine, SPIN).expect("the spin module");
        let mut store = guard.store(&engine, ());
        let instance = wasmtime::Instance::new_async(&mut store, &module, &[])
            .await
            .expect("an instance");
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .expect("its export");
        let started = Instant::now();
        let limit = guard.limit(Some(Duration::from_millis(300)));
        let result = within(&limit, spin.call_async(&mut store, ())).await;
        assert!(matches!(result, Err(Overdue(_))), "cut off at the deadline");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    /// What the watchdog's function was called with, for the tests (a
    /// function pointer captures nothing).
    static OVERRUNS: Mutex<Option<mpsc::Sender<(Duration, Instant)>>> = Mutex::new(None);

    fn report(deadline: Duration) {
        if let Some(tx) = OVERRUNS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            let _ = tx.send((deadline, Instant::now()));
        }
    }

    /// A call that does not return to the executor past its deadline (here
    /// one that blocks its thread, as a computing guest without epoch checks
    /// does) is reported once, a [`GRACE`] after its deadline, and runs on
    /// when the function returns; a call that ended in time never is.
    #[test]
    fn the_watchdog_reports_a_call_that_does_not_yield_once_and_no_call_that_ended() {
        let (tx, rx) = mpsc::channel();
        *OVERRUNS.lock().unwrap() = Some(tx);
        let interruption = Interruption::Watchdog(report);
        let engine = component::engine(interruption).expect("the engine");
        let guard = Guard::start(&engine, interruption);
        let executor = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();

        let quick = guard.limit(Some(Duration::from_millis(50)));
        let ended = executor.block_on(within(&quick, async { Ok(()) }));
        assert!(matches!(ended, Ok(Ok(()))));

        let deadline = Duration::from_millis(100);
        let blocked = deadline + GRACE + Duration::from_millis(400);
        let limit = guard.limit(Some(deadline));
        let started = Instant::now();
        let result = executor.block_on(within(&limit, async {
            std::thread::sleep(blocked);
            Ok(())
        }));
        assert!(matches!(result, Ok(Ok(()))), "the call ran on to its end");
        let (reported, at) = rx.try_recv().expect("reported while it blocked");
        assert_eq!(reported, deadline);
        assert!(
            at - started >= deadline + GRACE,
            "reported after its grace, not {:?} after the call began",
            at - started
        );
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "reported once, and the quick call never"
        );
    }
}
