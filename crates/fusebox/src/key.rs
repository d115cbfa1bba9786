//! Which circuit guards a call: one fixed [`Circuit`], or one circuit per key ([`Keyed`]).
//!
//! Keyed routing puts one layer in front of many circuits, chosen per request: by the host an
//! outbound request goes to ([`ByHost`]), or by any closure ([`key_fn`]). Circuits are created
//! in the [`Fusebox`] registry on first use, bounded by
//! [`max_keyed_circuits`](crate::FuseboxBuilder::max_keyed_circuits), and evicted once idle
//! ([`keyed_idle_timeout`](crate::FuseboxBuilder::keyed_idle_timeout)). Once a key's circuit
//! exists, a call through [`Keyed`] takes no lock and, for a [`Key`] that borrows its key
//! from the request, allocates nothing.

use std::borrow::Cow;
use std::fmt;

use fusebox_core::{Admission, Circuit, Rejected};

use crate::Fusebox;

/// Chooses the circuit for a request and asks it whether the call may run.
///
/// Implemented by [`Circuit`] (every call the same circuit) and [`Keyed`].
pub trait SelectCircuit<Req> {
    /// Asks the circuit for `request` whether it may run now.
    ///
    /// # Errors
    /// The circuit's [`Rejected`].
    fn acquire(&self, request: &Req) -> Result<Admission, Rejected>;
}

impl<Req> SelectCircuit<Req> for Circuit {
    fn acquire(&self, _request: &Req) -> Result<Admission, Rejected> {
        self.try_acquire()
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
}

impl<Req, K: Key<Req>> ResolveCircuit<Req> for K {
    fn resolve(&self, fusebox: &Fusebox, request: &Req) -> Circuit {
        // The handle lives for this one call only.
        fusebox.keyed_circuit_for_call(&self.key(request))
    }
}

/// One circuit per key, from a [`Fusebox`] registry: `K` is a [`Key`] or any other
/// [`ResolveCircuit`].
#[derive(Clone)]
pub struct Keyed<K> {
    fusebox: Fusebox,
    key: K,
}

impl<K> Keyed<K> {
    /// Circuits of `fusebox`, chosen by `key`.
    pub fn new(fusebox: Fusebox, key: K) -> Keyed<K> {
        Keyed { fusebox, key }
    }

    /// The registry the circuits live in.
    pub fn fusebox(&self) -> &Fusebox {
        &self.fusebox
    }
}

impl<Req, K: ResolveCircuit<Req>> SelectCircuit<Req> for Keyed<K> {
    fn acquire(&self, request: &Req) -> Result<Admission, Rejected> {
        self.key.resolve(&self.fusebox, request).try_acquire()
    }
}

impl<K> fmt::Debug for Keyed<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyed")
            .field("fusebox", &self.fusebox)
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

/// Keys outbound requests by the host they go to (`api.example.com`, `127.0.0.1:8080` with
/// the port when the URI has one), for `http::Request` (feature `http`) and `reqwest::Request`
/// (feature `reqwest`). A request without a host (a relative URI without `Host` header) is
/// keyed `unknown_host`.
///
/// ```
/// # #[cfg(feature = "http")] {
/// use fusebox::key::{ByHost, Key};
///
/// let request = http::Request::get("http://api.example.com:8443/v1/quotes").body(()).unwrap();
/// assert_eq!(ByHost.key(&request), "api.example.com:8443");
/// let inbound = http::Request::get("/v1/quotes").header("host", "shop.test").body(()).unwrap();
/// assert_eq!(ByHost.key(&inbound), "shop.test");
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ByHost;

/// The key of a request without a host.
pub const UNKNOWN_HOST: &str = "unknown_host";

#[cfg(feature = "http")]
impl<B> Key<http::Request<B>> for ByHost {
    fn key<'r>(&self, request: &'r http::Request<B>) -> Cow<'r, str> {
        if let Some(authority) = request.uri().authority() {
            // Credentials are never part of a circuit name.
            let text = authority.as_str();
            return Cow::Borrowed(text.rsplit_once('@').map_or(text, |(_, host)| host));
        }
        request
            .headers()
            .get(http::header::HOST)
            .and_then(|host| host.to_str().ok())
            .map_or(Cow::Borrowed(UNKNOWN_HOST), Cow::Borrowed)
    }
}

#[cfg(feature = "reqwest")]
impl Key<reqwest::Request> for ByHost {
    fn key<'r>(&self, request: &'r reqwest::Request) -> Cow<'r, str> {
        let url = request.url();
        match (url.host_str(), url.port()) {
            (Some(host), None) => Cow::Borrowed(host),
            (Some(host), Some(port)) => Cow::Owned(format!("{host}:{port}")),
            (None, _) => Cow::Borrowed(UNKNOWN_HOST),
        }
    }
}

#[cfg(all(test, feature = "http"))]
mod tests {
    use super::*;

    #[test]
    fn by_host_strips_credentials_and_falls_back_to_unknown() {
        let request = http::Request::get("http://user:secret@db.internal:5984/x")
            .body(())
            .unwrap();
        assert_eq!(ByHost.key(&request), "db.internal:5984");
        let request = http::Request::get("/x").body(()).unwrap();
        assert_eq!(ByHost.key(&request), UNKNOWN_HOST);
    }
}
