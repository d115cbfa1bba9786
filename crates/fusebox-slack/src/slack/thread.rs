//! The incident thread rules: where a circuit's message goes, and what it does to the
//! circuit's open thread ([`place`], a pure function), and the threads themselves
//! ([`Threads`]). Posting lives elsewhere; nothing here does I/O.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use fusebox_core::State;

/// Where in the channel a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Post<'a> {
    /// A new top-level message.
    Channel,
    /// A reply in the thread whose parent has this `ts`.
    Reply(&'a str),
    /// A reply also shown in the channel (`reply_broadcast`).
    ReplyAndChannel(&'a str),
}

/// What a message does to its circuit's thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadChange {
    /// The thread, or the lack of one, stays as it is.
    Unchanged,
    /// The incident is over: the thread ends, whether or not the message gets through.
    Ends,
    /// An incident starts: the message, once Slack confirms it, is the parent of a thread.
    StartsHere,
}

/// Where one message goes and what it does to the thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Placement<'a> {
    pub(crate) post: Post<'a>,
    pub(crate) thread: ThreadChange,
}

/// The placement of the message for `from → to`, given the `ts` of the circuit's open
/// thread, if it has one.
///
/// Entering `closed`, `disabled` or `metrics_only` ends a thread; entering `open` without a
/// thread starts one; everything else leaves it be. Recovery (`half_open → closed`) is also
/// shown in the channel. `forced_open` never starts a thread: it is an operator's decision,
/// not an incident.
pub(crate) fn place(thread: Option<&str>, from: State, to: State) -> Placement<'_> {
    match thread {
        None => Placement {
            post: Post::Channel,
            thread: if to == State::Open {
                ThreadChange::StartsHere
            } else {
                ThreadChange::Unchanged
            },
        },
        Some(ts) => Placement {
            post: if (from, to) == (State::HalfOpen, State::Closed) {
                Post::ReplyAndChannel(ts)
            } else {
                Post::Reply(ts)
            },
            thread: if matches!(to, State::Closed | State::Disabled | State::MetricsOnly) {
                ThreadChange::Ends
            } else {
                ThreadChange::Unchanged
            },
        },
    }
}

/// The `ts` of each circuit's open thread, shared by a listener's clones.
#[derive(Clone, Debug, Default)]
pub(crate) struct Threads(Arc<Mutex<HashMap<Arc<str>, String>>>);

impl Threads {
    pub(crate) fn get(&self, circuit: &str) -> Option<String> {
        self.lock().get(circuit).cloned()
    }

    pub(crate) fn end(&self, circuit: &str) {
        self.lock().remove(circuit);
    }

    pub(crate) fn start(&self, circuit: Arc<str>, ts: String) {
        self.lock().entry(circuit).or_insert(ts);
    }

    pub(crate) fn open(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, String>> {
        // The map is valid after any panic: every change is a single insert or remove.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::{Closed, Disabled, ForcedOpen, HalfOpen, MetricsOnly, Open};

    fn placed(post: Post<'_>, thread: ThreadChange) -> Placement<'_> {
        Placement { post, thread }
    }

    #[test]
    fn without_a_thread_messages_go_to_the_channel_and_only_open_starts_one() {
        assert_eq!(
            place(None, Closed, Open),
            placed(Post::Channel, ThreadChange::StartsHere)
        );
        assert_eq!(
            place(None, HalfOpen, Open),
            placed(Post::Channel, ThreadChange::StartsHere)
        );
        assert_eq!(
            place(None, MetricsOnly, Open),
            placed(Post::Channel, ThreadChange::StartsHere)
        );
        for (from, to) in [
            (Closed, ForcedOpen),
            (ForcedOpen, Closed),
            (Open, HalfOpen),
            (HalfOpen, Closed),
            (Closed, Disabled),
            (Closed, MetricsOnly),
        ] {
            assert_eq!(
                place(None, from, to),
                placed(Post::Channel, ThreadChange::Unchanged),
                "{from} -> {to}"
            );
        }
    }

    #[test]
    fn an_incident_is_replies_in_its_thread_until_recovery_ends_it_in_the_channel_too() {
        let ts = Some("1.2");
        assert_eq!(
            place(ts, Open, HalfOpen),
            placed(Post::Reply("1.2"), ThreadChange::Unchanged)
        );
        assert_eq!(
            place(ts, HalfOpen, Open),
            placed(Post::Reply("1.2"), ThreadChange::Unchanged)
        );
        assert_eq!(
            place(ts, HalfOpen, Closed),
            placed(Post::ReplyAndChannel("1.2"), ThreadChange::Ends)
        );
    }

    #[test]
    fn operator_commands_keep_the_thread_into_forced_open_and_end_it_elsewhere() {
        let ts = Some("1.2");
        assert_eq!(
            place(ts, Open, ForcedOpen),
            placed(Post::Reply("1.2"), ThreadChange::Unchanged)
        );
        for (from, to) in [
            (ForcedOpen, Closed),
            (Open, Closed),
            (Open, Disabled),
            (ForcedOpen, MetricsOnly),
        ] {
            assert_eq!(
                place(ts, from, to),
                placed(Post::Reply("1.2"), ThreadChange::Ends),
                "{from} -> {to}"
            );
        }
    }

    #[test]
    fn a_thread_starts_once_and_ends_per_circuit() {
        let threads = Threads::default();
        threads.start("payments".into(), "1.1".into());
        threads.start("payments".into(), "1.9".into());
        threads.start("search".into(), "2.1".into());
        assert_eq!(threads.get("payments").as_deref(), Some("1.1"));
        assert_eq!(threads.open(), 2);
        threads.end("payments");
        assert_eq!(threads.get("payments"), None);
        assert_eq!(threads.get("search").as_deref(), Some("2.1"));
    }
}
