//! Which circuit guards a call: one fixed [`Circuit`], or one circuit per key ([`Keyed`]).
//!
//! Keyed routing puts one layer in front of many circuits, chosen per request: by the host an
//! outbound request goes to (`ByHost`, feature `http`), or by any closure ([`key_fn`]).
//! Circuits are created
//! in the [`Fusebox`] registry on first use, bounded by
//! [`max_keyed_circuits`](crate::FuseboxBuilder::max_keyed_circuits), and evicted once idle
//! ([`keyed_idle_timeout`](crate::FuseboxBuilder::keyed_idle_timeout)). Once a key's circuit
//! exists, a call through [`Keyed`] takes no lock and, for a [`Key`] that borrows its key
//! from the request, allocates nothing.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use fusebox_core::{Circuit, OwnedAdmission, Rejected};

use crate::Fusebox;

/// Chooses the circuit for a request and asks it whether the call may run.
///
/// Implemented by [`Circuit`] (every call the same circuit) and [`Keyed`].
pub trait SelectCircuit<Req> {
    /// Asks the circuit for `request` whether it may run now.
    ///
    /// # Errors
    /// The circuit's [`Rejected`].
    fn acquire(&self, request: &Req) -> Result<OwnedAdmission, Rejected>;
}

impl<Req> SelectCircuit<Req> for Circuit {
    fn acquire(&self, _request: &Req) -> Result<OwnedAdmission, Rejected> {
        self.try_acquire_owned()
    }
}

/// The routing key of a request: the name of the circuit that guards it.
pub trait Key<Req> {
    /// The key of `request`, borrowed from it where possible.
    fn key<'r>(&self, request: &'r Req) -> Cow<'r, str>;
}

/// Finds the circuit of a request in a registry: what [`Keyed`] asks on every call.
///
/// Every [`Key`] is one: it names the circuit, and the registry looks the name up
/// ([`Fusebox::keyed_circuit`]). Implement it directly when naming the circuit would cost
/// something per call that a cache of resolved circuits avoids, as `fusebox-axum`'s `ByRoute`
/// does; create circuits with [`Fusebox::keyed_circuit`] so they count against the bound.
///
/// ```
/// use fusebox::Fusebox;
/// use fusebox::key::ResolveCircuit;
/// use fusebox_core::Circuit;
///
/// /// Requests for one of a few regions, resolved by index without naming them.
/// struct ByRegion(Vec<Circuit>);
///
/// impl ResolveCircuit<usize> for ByRegion {
///     fn resolve(&self, fusebox: &Fusebox, region: &usize) -> Circuit {
///         match self.0.get(*region) {
///             Some(circuit) => circuit.clone(),
///             None => fusebox.keyed_circuit("unknown-region"),
///         }
///     }
/// }
///
/// let fusebox = Fusebox::builder().build()?;
/// let regions = ByRegion(vec![fusebox.circuit("eu"), fusebox.circuit("us")]);
/// assert_eq!(&**regions.resolve(&fusebox, &1).name(), "us");
/// assert_eq!(&**regions.resolve(&fusebox, &7).name(), "unknown-region");
/// # Ok::<(), fusebox::BuildError>(())
/// ```
pub trait ResolveCircuit<Req> {
    /// The circuit in `fusebox` that guards `request`.
    fn resolve(&self, fusebox: &Fusebox, request: &Req) -> Circuit;

    /// Asks the circuit that guards `request` whether it may run. The default resolves the
    /// circuit, then acquires; a key that reaches its circuit without a handle of its own
    /// overrides it and saves the handle's two reference-count writes per call.
    ///
    /// # Errors
    /// The circuit's [`Rejected`].
    fn acquire(&self, fusebox: &Fusebox, request: &Req) -> Result<OwnedAdmission, Rejected> {
        self.resolve(fusebox, request).try_acquire_owned()
    }
}

impl<Req, K: Key<Req>> ResolveCircuit<Req> for K {
    fn resolve(&self, fusebox: &Fusebox, request: &Req) -> Circuit {
        // The handle lives for this one call only.
        fusebox.keyed_circuit_for_call(&self.key(request))
    }

    fn acquire(&self, fusebox: &Fusebox, request: &Req) -> Result<OwnedAdmission, Rejected> {
        fusebox.keyed_acquire_for_call(&self.key(request))
    }
}

/// One circuit per key, from a [`Fusebox`] registry: `K` is a [`Key`] or any other
/// [`ResolveCircuit`].
///
/// A service clones its `Keyed` for every request it serves (axum clones a route's service
/// per request), so the registry and the key sit behind one shared reference count. Each
/// service a layer makes gets a key of its own, cloned from the layer's once: a key that
/// remembers what it resolved (as `fusebox-axum`'s `ByRoute` does) remembers it per service.
pub struct Keyed<K> {
    shared: Arc<Shared<K>>,
}

struct Shared<K> {
    fusebox: Fusebox,
    key: K,
    /// Made by [`Keyed::new`], so a layer's: each clone is a service's, with its own key.
    layers: bool,
}

impl<K> Keyed<K> {
    /// Circuits of `fusebox`, chosen by `key`.
    pub fn new(fusebox: Fusebox, key: K) -> Keyed<K> {
        Keyed {
            shared: Arc::new(Shared {
                fusebox,
                key,
                layers: true,
            }),
        }
    }

    /// The registry the circuits live in.
    pub fn fusebox(&self) -> &Fusebox {
        &self.shared.fusebox
    }
}

impl<K: Clone> Clone for Keyed<K> {
    #[inline]
    fn clone(&self) -> Self {
        if !self.shared.layers {
            return Keyed {
                shared: Arc::clone(&self.shared),
            };
        }
        Keyed {
            shared: Arc::new(Shared {
                fusebox: self.shared.fusebox.clone(),
                key: self.shared.key.clone(),
                layers: false,
            }),
        }
    }
}

impl<Req, K: ResolveCircuit<Req>> SelectCircuit<Req> for Keyed<K> {
    fn acquire(&self, request: &Req) -> Result<OwnedAdmission, Rejected> {
        self.shared.key.acquire(&self.shared.fusebox, request)
    }
}

impl<K> fmt::Debug for Keyed<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyed")
            .field("fusebox", &self.shared.fusebox)
            .field("key", &std::any::type_name::<K>())
            .finish()
    }
}

/// A key computed by a closure; see [`key_fn`].
#[derive(Clone, Copy)]
pub struct KeyFn<F>(F);

/// Keys requests with a closure returning the circuit name.
///
/// ```
/// use fusebox::key::{Key, key_fn};
///
/// let by_tenant = key_fn(|request: &(String, u32)| format!("tenant-{}", request.0));
/// assert_eq!(by_tenant.key(&("acme".to_owned(), 7)), "tenant-acme");
/// ```
pub fn key_fn<F>(f: F) -> KeyFn<F> {
    KeyFn(f)
}

impl<Req, F: Fn(&Req) -> String> Key<Req> for KeyFn<F> {
    fn key<'r>(&self, request: &'r Req) -> Cow<'r, str> {
        Cow::Owned((self.0)(request))
    }
}

impl<F> fmt::Debug for KeyFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyFn")
            .field(&std::any::type_name::<F>())
            .finish()
    }
}

#[cfg(feature = "http")]
pub use crate::http::{ByHost, UNKNOWN_HOST};

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A key that counts how often it is cloned.
    struct Counted(Arc<AtomicUsize>);

    impl Clone for Counted {
        fn clone(&self) -> Self {
            self.0.fetch_add(1, Ordering::Relaxed);
            Counted(Arc::clone(&self.0))
        }
    }

    #[test]
    fn each_clone_of_a_new_keyed_has_its_own_key_and_clones_of_it_share_that() {
        let clones = Arc::new(AtomicUsize::new(0));
        let fusebox = Fusebox::builder().build().expect("a default registry");
        let layers = Keyed::new(fusebox, Counted(Arc::clone(&clones)));
        let (service_a, service_b) = (layers.clone(), layers.clone());
        assert_eq!(clones.load(Ordering::Relaxed), 2);
        assert!(!Arc::ptr_eq(&service_a.shared, &service_b.shared));

        let per_request = [service_a.clone(), service_a.clone().clone()];
        assert_eq!(clones.load(Ordering::Relaxed), 2);
        for request in &per_request {
            assert!(Arc::ptr_eq(&request.shared, &service_a.shared));
        }
    }
}
