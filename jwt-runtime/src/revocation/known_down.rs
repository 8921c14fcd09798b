//! The "known down" rule of the network stores (Redis, SQL): every command gets a time limit,
//! and once the store failed to answer, requests fail closed at once instead of each waiting
//! for its own failed round trip.
//!
//! The rule, in full:
//! - while the store answers, every command goes to it, each within its time limit;
//! - a command that gets no answer (refused, reset, timed out, the server busy loading its
//!   data) marks the store down. An error the store answered with (a query it rejected) says
//!   the store is up, and marks nothing;
//! - while down, commands are refused at once, except one probe at a time, and none within
//!   [`DOWN_WINDOW`] of the last failure: the probe is a real command, sent to the store;
//! - the probe's answer ends the outage: the next command is served normally. Its failure
//!   starts a new window. A probe that is abandoned (its request went away) lets the next
//!   command probe.
//!
//! So during an outage a store gets at most one command at a time from each instance (besides
//! those already in flight when it failed), at most one per window when it refuses at once, and
//! a request waits for it only when it is the probe, at most its command's time limit.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::BlocklistError;

/// How long after a failure commands are refused without asking the store.
pub(super) const DOWN_WINDOW: Duration = Duration::from_millis(250);

/// What a failed command says about the store.
pub(super) enum Failure {
    /// The store did not answer (refused, reset, busy loading): it is down.
    Down(BlocklistError),
    /// The store answered with an error about this command: it is up.
    Answered(BlocklistError),
}

/// The health of one store, as its commands found it.
#[derive(Debug)]
pub(super) struct KnownDown {
    /// The store's name in error messages (`"redis blocklist"`).
    store: &'static str,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// When the last command failed to get an answer; `None` while the store answers.
    failed_at: Option<Instant>,
    /// A probe is in flight.
    probing: bool,
}

/// A command let through: the outcome it reports updates the state.
struct Ticket<'a> {
    gate: &'a KnownDown,
    probe: bool,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        // Reached with or without an outcome (a request that went away): free the probe slot.
        if self.probe {
            self.gate.lock().probing = false;
        }
    }
}

impl Ticket<'_> {
    fn record(&self, answered: bool) {
        let mut state = self.gate.lock();
        state.failed_at = if answered { None } else { Some(Instant::now()) };
    }
}

impl KnownDown {
    pub(super) fn new(store: &'static str) -> Self {
        KnownDown {
            store,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `command` within `limit`, unless the store is known to be down: then it fails at
    /// once (without running `command`), except as the one probe.
    pub(super) async fn run<T>(
        &self,
        limit: Duration,
        command: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, BlocklistError> {
        let ticket = self.admit()?;
        match tokio::time::timeout(limit, command).await {
            Ok(Ok(value)) => {
                ticket.record(true);
                Ok(value)
            }
            Ok(Err(Failure::Answered(e))) => {
                ticket.record(true);
                Err(e)
            }
            Ok(Err(Failure::Down(e))) => {
                ticket.record(false);
                Err(e)
            }
            Err(_) => {
                ticket.record(false);
                Err(BlocklistError::new(format!(
                    "{}: no answer within {limit:?}",
                    self.store
                )))
            }
        }
    }

    /// Lets a command through (as the probe, while down), or refuses it.
    fn admit(&self) -> Result<Ticket<'_>, BlocklistError> {
        let mut state = self.lock();
        let Some(failed_at) = state.failed_at else {
            return Ok(Ticket {
                gate: self,
                probe: false,
            });
        };
        if state.probing || failed_at.elapsed() < DOWN_WINDOW {
            return Err(BlocklistError::new(format!(
                "{}: unavailable (it did not answer a moment ago; retrying shortly)",
                self.store
            )));
        }
        state.probing = true;
        Ok(Ticket {
            gate: self,
            probe: true,
        })
    }

    /// Whether the last command failed to get an answer.
    #[cfg(test)]
    fn is_down(&self) -> bool {
        self.lock().failed_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const LIMIT: Duration = Duration::from_secs(1);

    async fn down(gate: &KnownDown) -> Result<(), BlocklistError> {
        gate.run(LIMIT, async {
            Err::<(), _>(Failure::Down(BlocklistError::new("refused")))
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_failure_commands_fail_at_once_until_a_probe_gets_an_answer() {
        let gate = KnownDown::new("test store");
        let sent = AtomicUsize::new(0);
        let ok = || async {
            sent.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Failure>(7)
        };
        assert_eq!(gate.run(LIMIT, ok()).await, Ok(7));
        assert!(down(&gate).await.is_err());
        assert!(gate.is_down());
        // Within the window: refused without being sent.
        let refused = gate.run(LIMIT, ok()).await.unwrap_err();
        assert!(refused.to_string().starts_with("test store: unavailable"));
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        // After it: the probe is sent, and its answer ends the outage.
        tokio::time::advance(DOWN_WINDOW).await;
        assert_eq!(gate.run(LIMIT, ok()).await, Ok(7));
        assert!(!gate.is_down());
        assert_eq!(gate.run(LIMIT, ok()).await, Ok(7));
        assert_eq!(sent.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_store_times_out_and_one_probe_at_a_time_waits_for_it() {
        let gate = KnownDown::new("test store");
        let started = Instant::now();
        let silent = gate.run(LIMIT, std::future::pending::<Result<(), Failure>>());
        assert_eq!(
            silent.await.unwrap_err().to_string(),
            "test store: no answer within 1s"
        );
        assert_eq!(started.elapsed(), LIMIT);
        tokio::time::advance(DOWN_WINDOW).await;
        // The probe waits; meanwhile every other command is refused at once.
        let probe = gate.run(LIMIT, std::future::pending::<Result<(), Failure>>());
        let others = async {
            for _ in 0..3 {
                tokio::time::advance(Duration::from_millis(300)).await;
                assert!(gate
                    .run(LIMIT, async { Ok::<_, Failure>(()) })
                    .await
                    .is_err());
            }
        };
        let (probed, ()) = tokio::join!(probe, others);
        assert!(probed.is_err());
        assert!(gate.is_down());
    }

    #[tokio::test(start_paused = true)]
    async fn an_answered_error_marks_nothing_and_an_abandoned_probe_frees_its_slot() {
        let gate = KnownDown::new("test store");
        let rejected = gate
            .run(LIMIT, async {
                Err::<(), _>(Failure::Answered(BlocklistError::new("bad query")))
            })
            .await;
        assert_eq!(rejected, Err(BlocklistError::new("bad query")));
        assert!(!gate.is_down());

        assert!(down(&gate).await.is_err());
        tokio::time::advance(DOWN_WINDOW).await;
        // A probe whose request goes away (its future dropped before an answer).
        let abandoned = tokio::time::timeout(
            Duration::from_millis(10),
            gate.run(LIMIT, std::future::pending::<Result<(), Failure>>()),
        )
        .await;
        assert!(abandoned.is_err());
        assert_eq!(gate.run(LIMIT, async { Ok::<_, Failure>(1) }).await, Ok(1));
        // An answered error from the probe ends the outage too: the store is up.
        assert!(down(&gate).await.is_err());
        tokio::time::advance(DOWN_WINDOW).await;
        let answered = gate
            .run(LIMIT, async {
                Err::<(), _>(Failure::Answered(BlocklistError::new("bad query")))
            })
            .await;
        assert!(answered.is_err());
        assert!(!gate.is_down());
    }
}
