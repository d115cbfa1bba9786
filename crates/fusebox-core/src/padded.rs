//! [`CachePadded`]: keeps a value on cache lines of its own.
//!
//! Two threads writing different atomics that share a cache line slow each other down as if
//! they shared the atomic ("false sharing"). 128 bytes covers adjacent-line prefetching on
//! x86-64 and the 128-byte lines of some ARM cores.

use std::ops::Deref;

#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> Deref for CachePadded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
