//! `and`, `or` and `not` on classifiers ([`ClassifyExt`]): one classifier made of several,
//! without writing a closure that repeats them.
//!
//! The methods exist only on classifiers: [`ClassifyExt`] is implemented for types that
//! implement [`Classify`], so `true.not()` or another trait's `and` stay unambiguous. A
//! combination is a classifier of the one result type its parts were combined for (the type
//! parameters `Res` and `E`), which is what lets `DefaultClassifier.not()`, a classifier for
//! every result type, be inferred from where it is used.

use std::fmt;
use std::marker::PhantomData;

use super::{Classify, Outcome};

/// Combinators for classifiers: `and`, `or` and `not`.
///
/// An `Ignored` answer on either side of `and` or `or` makes the combination `Ignored`: a call
/// one side does not count does not count.
///
/// ```
/// use fusebox::classify::{self, Classify, ClassifyExt, DefaultClassifier, Outcome};
///
/// let slow = classify::failure_when(|result: &Result<u64, ()>| matches!(result, Ok(ms) if *ms > 500));
/// let classifier = DefaultClassifier.or(slow);
/// assert_eq!(classifier.classify(&Ok(20)), Outcome::Success);
/// assert_eq!(classifier.classify(&Ok(900)), Outcome::Failure);
/// assert_eq!(classifier.classify(&Err(())), Outcome::Failure);
///
/// let inverted = DefaultClassifier.not();
/// assert_eq!(inverted.classify(&Ok::<u64, ()>(20)), Outcome::Failure);
/// ```
pub trait ClassifyExt<Res, E>: Classify<Res, E> + Sized {
    /// A failure when both classifiers say failure, `Ignored` when either ignores the call,
    /// a success otherwise.
    fn and<Other: Classify<Res, E>>(self, other: Other) -> And<Self, Other, Res, E> {
        And {
            left: self,
            right: other,
            result: PhantomData,
        }
    }

    /// A failure when either classifier says failure, `Ignored` when either ignores the call,
    /// a success otherwise.
    fn or<Other: Classify<Res, E>>(self, other: Other) -> Or<Self, Other, Res, E> {
        Or {
            left: self,
            right: other,
            result: PhantomData,
        }
    }

    /// Swaps success and failure; `Ignored` stays `Ignored`.
    fn not(self) -> Not<Self, Res, E> {
        Not {
            inner: self,
            result: PhantomData,
        }
    }
}

impl<T: Classify<Res, E>, Res, E> ClassifyExt<Res, E> for T {}

/// The result type a combination classifies, without owning one: `fn` keeps the combination
/// `Send`, `Sync` and `Copy` whatever `Res` and `E` are.
type ResultType<Res, E> = PhantomData<fn(&Result<Res, E>)>;

/// Both classifiers must say failure; see [`ClassifyExt::and`].
pub struct And<A, B, Res, E> {
    left: A,
    right: B,
    result: ResultType<Res, E>,
}

impl<A, B, Res, E> Classify<Res, E> for And<A, B, Res, E>
where
    A: Classify<Res, E>,
    B: Classify<Res, E>,
{
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        match (self.left.classify(result), self.right.classify(result)) {
            (Outcome::Ignored, _) | (_, Outcome::Ignored) => Outcome::Ignored,
            (Outcome::Failure, Outcome::Failure) => Outcome::Failure,
            _ => Outcome::Success,
        }
    }
}

/// Either classifier may say failure; see [`ClassifyExt::or`].
pub struct Or<A, B, Res, E> {
    left: A,
    right: B,
    result: ResultType<Res, E>,
}

impl<A, B, Res, E> Classify<Res, E> for Or<A, B, Res, E>
where
    A: Classify<Res, E>,
    B: Classify<Res, E>,
{
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        match (self.left.classify(result), self.right.classify(result)) {
            (Outcome::Ignored, _) | (_, Outcome::Ignored) => Outcome::Ignored,
            (Outcome::Failure, _) | (_, Outcome::Failure) => Outcome::Failure,
            _ => Outcome::Success,
        }
    }
}

/// The classifier's answer inverted; see [`ClassifyExt::not`].
pub struct Not<A, Res, E> {
    inner: A,
    result: ResultType<Res, E>,
}

impl<A, Res, E> Classify<Res, E> for Not<A, Res, E>
where
    A: Classify<Res, E>,
{
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        match self.inner.classify(result) {
            Outcome::Success => Outcome::Failure,
            Outcome::Failure => Outcome::Success,
            Outcome::Ignored => Outcome::Ignored,
        }
    }
}

// By hand, not derived: a derive would require `Res` and `E` to be `Clone` / `Debug` too.

impl<A: Clone, B: Clone, Res, E> Clone for And<A, B, Res, E> {
    fn clone(&self) -> Self {
        And {
            left: self.left.clone(),
            right: self.right.clone(),
            result: PhantomData,
        }
    }
}

impl<A: Copy, B: Copy, Res, E> Copy for And<A, B, Res, E> {}

impl<A: fmt::Debug, B: fmt::Debug, Res, E> fmt::Debug for And<A, B, Res, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("And")
            .field("left", &self.left)
            .field("right", &self.right)
            .finish()
    }
}

impl<A: Clone, B: Clone, Res, E> Clone for Or<A, B, Res, E> {
    fn clone(&self) -> Self {
        Or {
            left: self.left.clone(),
            right: self.right.clone(),
            result: PhantomData,
        }
    }
}

impl<A: Copy, B: Copy, Res, E> Copy for Or<A, B, Res, E> {}

impl<A: fmt::Debug, B: fmt::Debug, Res, E> fmt::Debug for Or<A, B, Res, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Or")
            .field("left", &self.left)
            .field("right", &self.right)
            .finish()
    }
}

impl<A: Clone, Res, E> Clone for Not<A, Res, E> {
    fn clone(&self) -> Self {
        Not {
            inner: self.inner.clone(),
            result: PhantomData,
        }
    }
}

impl<A: Copy, Res, E> Copy for Not<A, Res, E> {}

impl<A: fmt::Debug, Res, E> fmt::Debug for Not<A, Res, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Not").field("inner", &self.inner).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Not as _;

    use super::*;
    use crate::classify::DefaultClassifier;

    #[test]
    fn combinators_stay_off_types_that_are_not_classifiers() {
        // With `ClassifyExt` on every type, `not` here was ambiguous with `std::ops::Not`.
        assert!(false.not());
        assert_eq!(0b1010_u8.not(), 0b1111_0101);
    }

    #[test]
    fn a_combination_of_generic_classifiers_is_inferred_from_its_use() {
        let inverted = DefaultClassifier.not();
        assert_eq!(inverted.classify(&Ok::<u16, ()>(200)), Outcome::Failure);
        let both = DefaultClassifier.and(DefaultClassifier.not());
        assert_eq!(both.classify(&Err::<u16, ()>(())), Outcome::Success);
        assert_eq!(both.classify(&Ok::<u16, ()>(200)), Outcome::Success);
    }
}
