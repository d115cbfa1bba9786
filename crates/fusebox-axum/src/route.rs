//! One circuit per route: [`ByRoute`] chooses a request's circuit by the route template axum
//! matched (`GET /users/{id}`), and [`route_breaker`] is the ready-made layer.
//!
//! Circuit names come from templates the application declared, never from raw paths, so the
//! number of circuits is bounded by the number of routes. A layer resolves each route's
//! circuits once and keeps them: past a route's first request, a call formats no name, takes
//! no lock and allocates nothing to find its circuit.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arc_swap::ArcSwap;
use axum::extract::MatchedPath;
use fusebox::classify::HttpClassifier;
use fusebox::key::{Keyed, ResolveCircuit};
use fusebox::{CircuitBreakerLayer, Fusebox};
use fusebox_core::{Circuit, OwnedAdmission, Rejected};
use http::Method;

use crate::Json503Layer;

/// The key of a request that carries no [`MatchedPath`]: no route matched it (the router's
/// fallback, with `Router::layer`), or the layer wraps the whole router from outside.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The methods that keep their name in circuit names, then the name shared by every other.
const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "OTHER",
];

/// Chooses an axum request's circuit by its method and the route template it matched, for
/// keyed routing ([`CircuitBreakerLayer::keyed`]): `/users/7` and `/users/8` both go to the
/// circuit `GET /users/{id}`.
///
/// The template is axum's [`MatchedPath`], which exists only inside routing: apply the layer
/// with `Router::route_layer` (or `Router::layer`, which also guards the fallback). A request
/// without one goes to the circuit [`UNMATCHED_ROUTE`], never to one named by its raw path
/// (that would create a circuit per URL a client makes up). Methods beyond the nine standard
/// ones share `OTHER`, for the same reason. A nested router's template includes the nest
/// prefix (`GET /api/users/{id}`).
///
/// A `ByRoute` keeps the circuits it resolved, and its clones share them, so that only a
/// route's first request names its circuit: use one `ByRoute` per registry. The circuits it
/// keeps are never evicted while it lives (see
/// [`keyed_idle_timeout`](fusebox::FuseboxBuilder::keyed_idle_timeout)); a route whose circuit
/// would overflow [`max_keyed_circuits`](fusebox::FuseboxBuilder::max_keyed_circuits) asks
/// again on each request until it gets its own.
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use fusebox::{CircuitBreakerLayer, Fusebox};
/// use fusebox_axum::ByRoute;
/// use http::Request;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fusebox = Fusebox::builder().build()?;
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "a user" }))
///     .route_layer(CircuitBreakerLayer::keyed(fusebox.clone(), ByRoute::default()).respond_503());
///
/// for id in [7, 8] {
///     let request = Request::get(format!("/users/{id}")).body(Body::empty())?;
///     app.clone().oneshot(request).await?;
/// }
/// let circuits = fusebox.snapshot();
/// assert_eq!(circuits.len(), 1);
/// assert_eq!(&*circuits[0].name, "GET /users/{id}");
/// assert_eq!(circuits[0].calls.success, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct ByRoute {
    routes: Arc<Routes>,
    /// The first route this `ByRoute` found in `routes`, with the template axum matched. axum
    /// hands each request of a route a clone of the route's own template, and keeping one
    /// keeps its address from being reused, so the same address means the same template:
    /// each route's service has a `ByRoute` of its own ([`Keyed`] clones the layer's), and
    /// finds its circuits by comparing one address, without the map's hash and probe.
    first: OnceLock<(MatchedPath, Arc<RouteCircuits>)>,
}

/// Seeded, like the registry's map; the templates come from the application, not from users.
type Hasher = foldhash::fast::RandomState;

/// The circuits resolved so far, by template. Read without a lock on every request; replaced
/// whole when a template is seen for the first time, which happens once per route.
#[derive(Default)]
struct Routes {
    by_template: ArcSwap<HashMap<Box<str>, Arc<RouteCircuits>, Hasher>>,
    /// Serialises the replacements of `by_template`.
    adding: Mutex<()>,
    unmatched: OnceLock<Circuit>,
}

/// One route's circuit per method, in the order of [`METHODS`].
#[derive(Default)]
struct RouteCircuits([OnceLock<Circuit>; METHODS.len()]);

impl RouteCircuits {
    /// The circuit this route keeps for `method`, if it has one yet.
    #[inline]
    fn kept(&self, method: &Method) -> Option<&Circuit> {
        self.0[method_index(method)].get()
    }
}

impl Routes {
    /// The circuits of `template`, added on its first request.
    fn of(&self, template: &str) -> Arc<RouteCircuits> {
        if let Some(route) = self.by_template.load().get(template) {
            return Arc::clone(route);
        }
        let _adding = self.adding.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.by_template.load_full();
        if let Some(route) = current.get(template) {
            return Arc::clone(route); // added by another request meanwhile
        }
        let route = Arc::<RouteCircuits>::default();
        let mut next = HashMap::clone(&current);
        next.insert(template.into(), Arc::clone(&route));
        self.by_template.store(Arc::new(next));
        route
    }
}

impl ByRoute {
    /// `use_it` on the circuit this route has kept for the request's method, if it has one:
    /// the common case, which needs neither a name nor a handle of its own.
    fn with_kept<B, R>(
        &self,
        request: &http::Request<B>,
        use_it: impl FnOnce(&Circuit) -> R,
    ) -> Option<R> {
        let path = request.extensions().get::<MatchedPath>()?;
        if let Some((first, route)) = self.first.get() {
            if std::ptr::eq(first.as_str(), path.as_str()) {
                return route.kept(request.method()).map(use_it);
            }
        }
        let routes = self.routes.by_template.load();
        let route = routes.get(path.as_str())?;
        if self.first.get().is_none() {
            // Taken by another request meanwhile: then that one is remembered instead.
            let _ = self.first.set((path.clone(), Arc::clone(route)));
        }
        route.kept(request.method()).map(use_it)
    }
}

impl<B> ResolveCircuit<http::Request<B>> for ByRoute {
    fn resolve(&self, fusebox: &Fusebox, request: &http::Request<B>) -> Circuit {
        if let Some(circuit) = self.with_kept(request, Circuit::clone) {
            return circuit;
        }
        let Some(path) = request.extensions().get::<MatchedPath>() else {
            return keep(&self.routes.unmatched, fusebox, || {
                UNMATCHED_ROUTE.to_owned()
            });
        };
        let template = path.as_str();
        let method = method_index(request.method());
        let route = self.routes.of(template);
        keep(&route.0[method], fusebox, || {
            format!("{} {template}", METHODS[method])
        })
    }

    fn acquire(
        &self,
        fusebox: &Fusebox,
        request: &http::Request<B>,
    ) -> Result<OwnedAdmission, Rejected> {
        self.with_kept(request, Circuit::try_acquire_owned)
            .unwrap_or_else(|| self.resolve(fusebox, request).try_acquire_owned())
    }
}

impl fmt::Debug for ByRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes = self.routes.by_template.load();
        let mut templates: Vec<&str> = routes.keys().map(|template| &**template).collect();
        templates.sort_unstable();
        f.debug_struct("ByRoute")
            .field("templates", &templates)
            .finish()
    }
}

/// The circuit in `slot`, or else the keyed circuit `name`, kept in `slot` unless it is the
/// overflow circuit (a route keeps asking until it gets its own).
fn keep(slot: &OnceLock<Circuit>, fusebox: &Fusebox, name: impl FnOnce() -> String) -> Circuit {
    if let Some(circuit) = slot.get() {
        return circuit.clone();
    }
    let name = name();
    let circuit = fusebox.keyed_circuit(&name);
    if **circuit.name() == *name {
        // Another request may have filled the slot meanwhile, with the same circuit.
        let _ = slot.set(circuit.clone());
    }
    circuit
}

/// The index in [`METHODS`] of `method`'s name in circuit names. Compared as `Method`s, not
/// as names: a standard method is a tag, so this is a few comparisons of a byte.
#[inline]
fn method_index(method: &Method) -> usize {
    // By how common the method is.
    const STANDARD: [Method; METHODS.len() - 1] = [
        Method::GET,
        Method::POST,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    const INDEX: [usize; METHODS.len() - 1] = [0, 2, 1, 3, 4, 5, 6, 7, 8];
    STANDARD
        .iter()
        .position(|standard| standard == method)
        .map_or(METHODS.len() - 1, |position| INDEX[position])
}

/// The layer [`route_breaker`] returns: keyed by [`ByRoute`], classifying 5xx as failures,
/// answering rejections with a JSON 503.
pub type RouteBreakerLayer = Json503Layer<HttpClassifier, Keyed<ByRoute>>;

/// One circuit per route of an axum router, in `fusebox`: keyed by [`ByRoute`], 5xx responses
/// are failures ([`HttpClassifier::server_errors`]) and rejected calls are answered with a
/// [`RejectedResponse`](crate::RejectedResponse). Apply it with `Router::route_layer`.
///
/// Each circuit's policy is the registry's policy for its name (`"GET /users/{id}"`) or the
/// default policy; circuits count against
/// [`max_keyed_circuits`](fusebox::FuseboxBuilder::max_keyed_circuits).
///
/// ```
/// use axum::{Router, routing::{get, post}};
/// use fusebox::Fusebox;
/// use fusebox_axum::route_breaker;
///
/// let fusebox = Fusebox::builder().build()?;
/// let app: Router = Router::new()
///     .route("/orders", post(|| async { "created" }))
///     .route("/orders/{id}", get(|| async { "an order" }))
///     .route_layer(route_breaker(&fusebox));
/// # let _ = app;
/// # Ok::<(), fusebox::BuildError>(())
/// ```
pub fn route_breaker(fusebox: &Fusebox) -> RouteBreakerLayer {
    Json503Layer::new(
        CircuitBreakerLayer::keyed(fusebox.clone(), ByRoute::default())
            .classify(HttpClassifier::server_errors()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_outside_routing_goes_to_unmatched_not_to_its_path() {
        let fusebox = Fusebox::builder().build().unwrap();
        let request = http::Request::get("/users/42").body(()).unwrap();
        let circuit = ByRoute::default().resolve(&fusebox, &request);
        assert_eq!(&**circuit.name(), UNMATCHED_ROUTE);
    }

    #[test]
    fn standard_methods_keep_their_name_and_extensions_share_other() {
        for name in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
        ] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(METHODS[method_index(&method)], name);
        }
        for name in ["PURGE", "get", "X-ANYTHING"] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(METHODS[method_index(&method)], "OTHER", "{name}");
        }
    }
}
