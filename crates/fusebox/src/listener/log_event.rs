//! `tracing` events whose target is chosen at run time, for [`LogListener`].
//!
//! `tracing`'s macros need the target as a constant because each macro call site is a
//! `static` callsite whose metadata (target, level, field names) subscribers see once, at
//! registration, and cache their interest in. A target picked by configuration needs the
//! same thing built at run time: here, one callsite per (target, level), leaked so it is
//! `'static` like a macro's, registered with `tracing` like a macro's, and cached so that
//! each distinct target costs one small allocation for the life of the process. Filters,
//! per-layer filters and interest caching therefore treat these events exactly like events
//! from `tracing::event!(target: "...", ...)`.
//!
//! What is not covered: the `log` crate fallback of `tracing`'s `log` feature (records are
//! only emitted to `tracing` subscribers).
//!
//! [`LogListener`]: crate::listener::LogListener

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing::Level;
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
use tracing_core::callsite::{self, Callsite};
use tracing_core::field::{Field, FieldSet, Value};
use tracing_core::metadata::Kind;
use tracing_core::subscriber::Interest;
use tracing_core::{Event, Metadata, dispatcher, identify_callsite};

/// The fields of every log listener event, in the order [`EventCallsite::emit`] takes them.
const FIELDS: [&str; 5] = ["message", "circuit_name", "old_state", "new_state", "cause"];

/// The levels, most verbose last, in the order [`Callsites::levels`] holds them.
const LEVELS: [Level; 5] = [
    Level::ERROR,
    Level::WARN,
    Level::INFO,
    Level::DEBUG,
    Level::TRACE,
];

/// The callsites of one target, one per level.
pub(crate) struct Callsites {
    target: &'static str,
    levels: [EventCallsite; 5],
}

impl Callsites {
    /// The callsites of `target`, created and registered with `tracing` on first use.
    pub(crate) fn of(target: &str) -> &'static Callsites {
        static BY_TARGET: OnceLock<Mutex<HashMap<&'static str, &'static Callsites>>> =
            OnceLock::new();
        let created = {
            let mut by_target = BY_TARGET
                .get_or_init(Mutex::default)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(callsites) = by_target.get(target) {
                return callsites;
            }
            let callsites = Callsites::leak(target);
            by_target.insert(callsites.target, callsites);
            callsites
        };
        // Outside the lock: registration calls into every subscriber.
        for event in &created.levels {
            callsite::register(event);
        }
        created
    }

    fn leak(target: &str) -> &'static Callsites {
        let target: &'static str = Box::leak(target.into());
        let callsites: &'static Callsites = Box::leak(Box::new(Callsites {
            target,
            levels: LEVELS.map(|level| EventCallsite {
                level,
                interest: AtomicU8::new(SOMETIMES),
                registered: OnceLock::new(),
            }),
        }));
        for event in &callsites.levels {
            // A callsite's metadata names the callsite itself, so it can only be made once
            // the callsite has its final, leaked address.
            let metadata = Metadata::new(
                "fusebox log listener event",
                target,
                event.level,
                Some(file!()),
                Some(line!()),
                Some(module_path!()),
                FieldSet::new(&FIELDS, identify_callsite!(event)),
                Kind::EVENT,
            );
            let fields = FIELDS.map(|name| metadata.fields().field(name));
            let _ = event.registered.set(Registered { metadata, fields });
        }
        callsites
    }

    /// The target's name.
    pub(crate) fn target(&self) -> &'static str {
        self.target
    }

    /// The callsite for `level`.
    pub(crate) fn at(&'static self, level: Level) -> &'static EventCallsite {
        let index = LEVELS.iter().position(|l| *l == level).unwrap_or(0);
        &self.levels[index]
    }
}

impl fmt::Debug for Callsites {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.target)
    }
}

const NEVER: u8 = 0;
const SOMETIMES: u8 = 1;
const ALWAYS: u8 = 2;

/// One (target, level) pair: what a `tracing::event!` call expands to, made at run time.
pub(crate) struct EventCallsite {
    level: Level,
    /// What the subscribers said at registration, as `tracing`'s own callsites cache it.
    interest: AtomicU8,
    registered: OnceLock<Registered>,
}

struct Registered {
    metadata: Metadata<'static>,
    fields: [Option<Field>; 5],
}

impl EventCallsite {
    /// Emits one event with the [`FIELDS`] in order, if any subscriber wants it.
    pub(crate) fn emit(&'static self, values: [&dyn Value; 5]) {
        if self.level > STATIC_MAX_LEVEL || self.level > LevelFilter::current() {
            return;
        }
        let interest = self.interest.load(Ordering::Relaxed);
        if interest == NEVER {
            return;
        }
        let Some(Registered { metadata, fields }) = self.registered.get() else {
            return;
        };
        let [Some(f0), Some(f1), Some(f2), Some(f3), Some(f4)] = fields else {
            return;
        };
        let [v0, v1, v2, v3, v4] = values;
        let values = [
            (f0, Some(v0)),
            (f1, Some(v1)),
            (f2, Some(v2)),
            (f3, Some(v3)),
            (f4, Some(v4)),
        ];
        dispatcher::get_default(|dispatch| {
            if interest == ALWAYS || dispatch.enabled(metadata) {
                let values = metadata.fields().value_set(&values);
                dispatch.event(&Event::new(metadata, &values));
            }
        });
    }
}

impl Callsite for EventCallsite {
    fn set_interest(&self, interest: Interest) {
        let interest = if interest.is_never() {
            NEVER
        } else if interest.is_always() {
            ALWAYS
        } else {
            SOMETIMES
        };
        self.interest.store(interest, Ordering::Relaxed);
    }

    fn metadata(&self) -> &Metadata<'_> {
        match self.registered.get() {
            Some(registered) => &registered.metadata,
            // Unreachable: metadata is set before the callsite is registered or used.
            None => &UNSET,
        }
    }
}

/// What an [`EventCallsite`] would report before its metadata is set, which never happens;
/// it exists so that `metadata` needs no panic.
static UNSET: Metadata<'static> = Metadata::new(
    "fusebox log listener event",
    "fusebox",
    Level::INFO,
    None,
    None,
    None,
    FieldSet::new(&[], identify_callsite!(&UNSET_CALLSITE)),
    Kind::EVENT,
);

static UNSET_CALLSITE: Unset = Unset;

struct Unset;

impl Callsite for Unset {
    fn set_interest(&self, _: Interest) {}

    fn metadata(&self) -> &Metadata<'_> {
        &UNSET
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_is_created_once_and_reused() {
        let first = Callsites::of("fusebox::tests::reuse");
        let second = Callsites::of("fusebox::tests::reuse");
        assert!(std::ptr::eq(first, second));
        assert_eq!(first.target(), "fusebox::tests::reuse");
    }

    #[test]
    fn each_level_has_its_own_callsite_with_the_target_and_fields() {
        let callsites = Callsites::of("fusebox::tests::levels");
        for level in LEVELS {
            let metadata = callsites.at(level).metadata();
            assert_eq!(metadata.level(), &level);
            assert_eq!(metadata.target(), "fusebox::tests::levels");
            assert!(metadata.is_event());
            let names: Vec<&str> = metadata.fields().iter().map(|f| f.name()).collect();
            assert_eq!(names, FIELDS);
        }
    }
}
