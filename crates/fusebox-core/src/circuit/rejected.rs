//! [`Rejected`]: what a refused call gets instead of running.
//!
//! An open circuit may refuse millions of calls a second, so a rejection is made without a
//! write any other core reads: a circuit name of up to [`INLINE`] bytes (most are) is copied
//! into the rejection itself, from a copy the circuit prepared once, rather than shared through
//! a reference count. A longer name is shared through the calling core's own copy.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::State;

/// A call the circuit refused: it never reached the protected service.
#[derive(Clone)]
pub struct Rejected {
    circuit: Name,
    state: State,
    retry_after: Option<Duration>,
}

/// The longest name a rejection holds inline.
const INLINE: usize = 30;

/// A circuit's name as its rejections carry it.
#[derive(Clone)]
pub(crate) enum Name {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Arc<str>),
}

impl Name {
    pub(crate) fn of(name: &Arc<str>) -> Name {
        match name.as_bytes() {
            short if short.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..short.len()].copy_from_slice(short);
                Name::Inline {
                    len: u8::try_from(short.len()).unwrap_or(u8::MAX),
                    bytes,
                }
            }
            _ => Name::Shared(Arc::clone(name)),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // The bytes are a whole `str`'s, copied: they are valid UTF-8.
            Name::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Name::Shared(name) => name,
        }
    }
}

impl Rejected {
    /// A rejection by `circuit` in `state`.
    pub fn new(circuit: Arc<str>, state: State, retry_after: Option<Duration>) -> Rejected {
        Rejected {
            circuit: Name::of(&circuit),
            state,
            retry_after,
        }
    }

    /// A rejection by the circuit whose name is `prepared` (by [`Name::of`]), or `shared` when
    /// it is too long to copy.
    #[inline]
    pub(crate) fn prepared(
        prepared: &Name,
        shared: &Arc<str>,
        state: State,
        retry_after: Option<Duration>,
    ) -> Rejected {
        let circuit = match prepared {
            Name::Inline { .. } => prepared.clone(),
            Name::Shared(_) => Name::Shared(Arc::clone(shared)),
        };
        Rejected {
            circuit,
            state,
            retry_after,
        }
    }

    /// The name of the circuit that refused the call.
    pub fn circuit(&self) -> &str {
        self.circuit.as_str()
    }

    /// The state that refused it: `open`, `half_open` or `forced_open`.
    pub fn state(&self) -> State {
        self.state
    }

    /// How long until the circuit allows a probe, when known (never for `Retry::never()`,
    /// `forced_open` or `half_open`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl PartialEq for Rejected {
    fn eq(&self, other: &Rejected) -> bool {
        (self.circuit(), self.state, self.retry_after)
            == (other.circuit(), other.state, other.retry_after)
    }
}

impl Eq for Rejected {}

impl fmt::Debug for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected")
            .field("circuit", &self.circuit())
            .field("state", &self.state)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "circuit '{}' is {} and rejected the call",
            self.circuit(),
            self.state.as_str()
        )?;
        if let Some(after) = self.retry_after {
            write!(f, "; retry after {:.3}s", after.as_secs_f64())?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_names_read_back_and_compare_by_content() {
        let short: Arc<str> = Arc::from("GET /users/{id}");
        let long: Arc<str> = Arc::from("GET /api/v2/organisations/{org}/members/{member}");
        let exactly: Arc<str> = Arc::from("é".repeat(INLINE / 2));
        for name in [&short, &long, &exactly] {
            let rejected = Rejected::new(Arc::clone(name), State::Open, None);
            assert_eq!(rejected.circuit(), &**name);
            assert_eq!(
                rejected,
                Rejected::new(Arc::from(&**name), State::Open, None)
            );
        }
        assert!(matches!(
            Rejected::new(Arc::clone(&short), State::Open, None).circuit,
            Name::Inline { .. }
        ));
        assert!(matches!(
            Rejected::new(Arc::clone(&exactly), State::Open, None).circuit,
            Name::Inline { .. }
        ));
        assert!(matches!(
            Rejected::new(Arc::clone(&long), State::Open, None).circuit,
            Name::Shared(_)
        ));
        assert_ne!(
            Rejected::new(Arc::clone(&short), State::Open, None),
            Rejected::new(Arc::clone(&short), State::ForcedOpen, None)
        );
        assert_eq!(
            format!("{:?}", Rejected::new(Arc::clone(&short), State::Open, None)),
            "Rejected { circuit: \"GET /users/{id}\", state: Open, retry_after: None }"
        );
    }
}
