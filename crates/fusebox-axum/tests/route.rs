//! One circuit per route, resolved once per route: names, sharing, eviction and the
//! allocation-free path, driving routers in process.
// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::routing::get;
use fusebox::key::ResolveCircuit;
use fusebox::{CircuitBreakerLayer, Fusebox, OVERFLOW_CIRCUIT};
use fusebox_axum::{ByRoute, route_breaker};
use fusebox_core::{ManualClock, Outcome};
use http::{Method, Request, StatusCode};
use tower::ServiceExt;

async fn send(app: &Router, method: Method, path: &str) -> StatusCode {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

/// Every circuit as (name, successful calls), sorted by name.
fn successes(fusebox: &Fusebox) -> Vec<(String, u64)> {
    fusebox
        .snapshot()
        .iter()
        .map(|s| (s.name.to_string(), s.calls.success))
        .collect()
}

#[tokio::test]
async fn route_circuits_are_named_by_method_and_template() {
    let fusebox = Fusebox::builder().build().unwrap();
    let app = Router::new()
        .route(
            "/inventory/{item}",
            get(|| async { "an item" }).post(|| async { "added" }),
        )
        .route("/orders", get(|| async { "orders" }))
        .route_layer(route_breaker(&fusebox));
    for path in ["/inventory/1", "/inventory/2", "/orders"] {
        assert_eq!(send(&app, Method::GET, path).await, StatusCode::OK);
    }
    assert_eq!(
        send(&app, Method::POST, "/inventory/3").await,
        StatusCode::OK
    );
    assert_eq!(
        successes(&fusebox),
        [
            ("GET /inventory/{item}".to_owned(), 2),
            ("GET /orders".to_owned(), 1),
            ("POST /inventory/{item}".to_owned(), 1),
        ]
    );
}

#[tokio::test]
async fn one_by_route_shared_by_two_routes_keeps_a_circuit_per_route() {
    let fusebox = Fusebox::builder().build().unwrap();
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b", get(|| async { "b" }))
        .route_layer(CircuitBreakerLayer::keyed(fusebox.clone(), ByRoute::default()).respond_503());
    for path in ["/a", "/b", "/a", "/b", "/b"] {
        assert_eq!(send(&app, Method::GET, path).await, StatusCode::OK);
    }
    assert_eq!(
        successes(&fusebox),
        [("GET /a".to_owned(), 2), ("GET /b".to_owned(), 3)]
    );
}

#[tokio::test]
async fn a_route_that_overflowed_gets_its_own_circuit_once_an_idle_key_is_evicted() {
    let clock = ManualClock::new();
    let fusebox = Fusebox::builder()
        .max_keyed_circuits(1)
        .keyed_idle_timeout(Duration::from_secs(600))
        .clock(clock.clone())
        .build()
        .unwrap();
    let junk = fusebox.keyed_circuit("junk");
    junk.try_acquire().unwrap().finish(Outcome::Success);
    drop(junk);
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route_layer(route_breaker(&fusebox));

    assert_eq!(send(&app, Method::GET, "/a").await, StatusCode::OK);
    assert_eq!(
        successes(&fusebox),
        [(OVERFLOW_CIRCUIT.to_owned(), 1), ("junk".to_owned(), 1)]
    );

    clock.advance(Duration::from_secs(600));
    for _ in 0..2 {
        assert_eq!(send(&app, Method::GET, "/a").await, StatusCode::OK);
    }
    assert_eq!(
        successes(&fusebox),
        [("GET /a".to_owned(), 2), (OVERFLOW_CIRCUIT.to_owned(), 1)]
    );
}

/// A request for `uri` as a route `template` of a router of its own sees it, with the
/// `MatchedPath` that exists only inside routing (taken from a handler).
async fn routed(method: Method, template: &str, uri: &str) -> Request<()> {
    let matched: Arc<Mutex<Option<MatchedPath>>> = Arc::default();
    let slot = matched.clone();
    let app = Router::new().route(
        template,
        axum::routing::any(move |path: MatchedPath| async move {
            *slot.lock().unwrap() = Some(path);
        }),
    );
    assert_eq!(send(&app, method.clone(), uri).await, StatusCode::OK);
    let path = matched.lock().unwrap().take().unwrap();
    Request::builder()
        .method(method)
        .uri(uri)
        .extension(path)
        .body(())
        .unwrap()
}

#[tokio::test]
async fn a_routes_later_requests_resolve_its_circuit_without_allocating() {
    let request = routed(Method::GET, "/inventory/{item}", "/inventory/9").await;

    let fusebox = Fusebox::builder().build().unwrap();
    let by_route = ByRoute::default();
    let first = by_route.resolve(&fusebox, &request);
    assert_eq!(&**first.name(), "GET /inventory/{item}");
    let later = allocation_counter::measure(|| {
        for _ in 0..1_000 {
            let circuit = by_route.resolve(&fusebox, &request);
            assert!(circuit.ptr_eq(&first));
        }
    });
    assert_eq!(later.count_total, 0);
}

#[tokio::test]
async fn a_routes_circuit_is_kept_while_the_router_lives_even_when_idle() {
    let clock = ManualClock::new();
    let fusebox = Fusebox::builder()
        .keyed_idle_timeout(Duration::from_secs(600))
        .clock(clock.clone())
        .build()
        .unwrap();
    // Used as a service directly, axum layers the route anew for each request.
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route_layer(route_breaker(&fusebox));
    assert_eq!(send(&app, Method::GET, "/a").await, StatusCode::OK);

    clock.advance(Duration::from_secs(3_600));
    drop(fusebox.keyed_circuit("other")); // a new key: the registry sweeps
    assert_eq!(successes(&fusebox)[0], ("GET /a".to_owned(), 1));

    drop(app);
    clock.advance(Duration::from_secs(3_600));
    drop(fusebox.keyed_circuit("another"));
    // Nothing keeps `GET /a` now; `other` was only ever held for a moment.
    assert_eq!(successes(&fusebox), [("another".to_owned(), 0)]);
}

#[tokio::test]
async fn a_by_route_finds_each_routes_circuit_whichever_route_it_saw_first() {
    let fusebox = Fusebox::builder().build().unwrap();
    // A clone, as each route's service holds one.
    let by_route = ByRoute::default().clone();
    let item = routed(Method::GET, "/items/{id}", "/items/1").await;
    let orders = routed(Method::GET, "/orders", "/orders").await;
    let posted = routed(Method::POST, "/orders", "/orders").await;
    // The same template from another router: equal text, another allocation.
    let item_elsewhere = routed(Method::GET, "/items/{id}", "/items/2").await;

    let first = by_route.resolve(&fusebox, &item);
    for _ in 0..2 {
        assert!(by_route.resolve(&fusebox, &item).ptr_eq(&first));
    }
    let names = |request: &Request<()>| {
        let admission = by_route.acquire(&fusebox, request).unwrap();
        admission.circuit().to_string()
    };
    for _ in 0..2 {
        assert_eq!(names(&orders), "GET /orders");
        assert_eq!(names(&posted), "POST /orders");
        assert_eq!(names(&item_elsewhere), "GET /items/{id}");
        assert_eq!(names(&item), "GET /items/{id}");
    }
    assert!(by_route.resolve(&fusebox, &item_elsewhere).ptr_eq(&first));
}

#[test]
fn a_guarded_routes_requests_allocate_no_more_than_behind_a_pass_through_layer() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let fusebox = Fusebox::builder().build().unwrap();
    // As `axum::serve` runs a router: its routes are made once, then cloned per request. Any
    // route layer costs axum allocations of its own per request: compare with one that does
    // nothing.
    let plain: Router = Router::new()
        .route("/a", get(|| async { "a" }))
        .route_layer(tower::util::MapRequestLayer::new(
            std::convert::identity::<Request<Body>>,
        ))
        .with_state(());
    let guarded: Router = Router::new()
        .route("/a", get(|| async { "a" }))
        .route_layer(route_breaker(&fusebox))
        .with_state(());
    let mut allocations = Vec::new();
    for app in [&plain, &guarded] {
        let requests = |count| async move {
            for _ in 0..count {
                assert_eq!(send(app, Method::GET, "/a").await, StatusCode::OK);
            }
        };
        // The first requests resolve the route's circuit and remember it.
        runtime.block_on(requests(2));
        let measured = allocation_counter::measure(|| runtime.block_on(requests(10)));
        allocations.push(measured.count_total);
    }
    assert_eq!(allocations[0], allocations[1]);
    assert_eq!(successes(&fusebox), [("GET /a".to_owned(), 12)]);
}
