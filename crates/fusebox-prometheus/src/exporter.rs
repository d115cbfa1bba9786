//! [`PrometheusExporter`]: the Prometheus recorder, its upkeep, and the exposition text your
//! `/metrics` route serves.
//!
//! This module serves no HTTP itself (the exporter crate is used without its listener and
//! push-gateway features): the app's own router, or a second one on a metrics port, calls
//! [`PrometheusExporter::render`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use fusebox::Fusebox;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};
use tokio::runtime::Handle;

use crate::calls::{AbortOnDrop, record_calls, spawn_every};
use crate::metric::describe;

/// How often the upkeep task runs: the default of `metrics-exporter-prometheus`'s own.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The Prometheus recorder of an app's circuits: renders the exposition text for a scrape.
///
/// It holds a [`PrometheusHandle`] and the [`Fusebox`] whose call metrics it records. An
/// upkeep task, spawned on the tokio runtime, runs every 5 seconds: it records call metrics
/// ([`record_calls`]) and runs the recorder's upkeep (which keeps histograms from growing
/// without bound). It stops when the last clone of the exporter is dropped.
///
/// Create it after building the [`Fusebox`] (with a [`PrometheusListener`]) and before the
/// first circuit, so that every registration reaches the recorder.
///
/// Serving `/metrics` on the app's router (axum here; anything that can return a `String`
/// works):
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use fusebox::Fusebox;
/// use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fusebox = Fusebox::builder()
///     .listener("prometheus", PrometheusListener::new())
///     .build()?;
/// let exporter = PrometheusExporter::install(&fusebox)?;
///
/// let app = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .route("/metrics", get(move || async move { exporter.render() }));
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
///
/// Serving it on a separate metrics port, so that `/metrics` is not reachable on the public
/// one:
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use fusebox::Fusebox;
/// use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fusebox = Fusebox::builder()
///     .listener("prometheus", PrometheusListener::new())
///     .build()?;
/// let exporter = PrometheusExporter::install(&fusebox)?;
///
/// let app = Router::new().route("/", get(|| async { "hello" }));
/// let metrics = Router::new().route("/metrics", get(move || async move { exporter.render() }));
///
/// let public = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// let private = tokio::net::TcpListener::bind("127.0.0.1:9090").await?;
/// tokio::try_join!(axum::serve(public, app), axum::serve(private, metrics))?;
/// # Ok(())
/// # }
/// ```
///
/// The route, exercised without a socket:
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use fusebox::Fusebox;
/// use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fusebox = Fusebox::builder()
///     .listener("prometheus", PrometheusListener::new())
///     .build()?;
/// let exporter = PrometheusExporter::install(&fusebox)?;
/// let app = Router::new().route("/metrics", get(move || async move { exporter.render() }));
///
/// fusebox.circuit("payments").try_acquire()?.finish(fusebox_core::Outcome::Success);
/// let request = Request::get("/metrics").body(Body::empty())?;
/// let response = app.oneshot(request).await?;
/// assert_eq!(response.status(), 200);
/// let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
/// let text = std::str::from_utf8(&body)?;
/// assert!(text.contains(r#"circuit_breaker_calls_total{circuit_name="payments",outcome="success"} 1"#));
/// # Ok(())
/// # }
/// ```
///
/// [`PrometheusListener`]: crate::PrometheusListener
#[derive(Clone)]
pub struct PrometheusExporter {
    handle: PrometheusHandle,
    fusebox: Fusebox,
    _upkeep: Arc<AbortOnDrop>,
}

impl PrometheusExporter {
    /// Installs a Prometheus recorder (built with [`PrometheusBuilder::new`]) as the process's
    /// global `metrics` recorder, describes the metrics and spawns the upkeep task.
    ///
    /// # Errors
    /// [`InstallError::NoRuntime`] outside a tokio runtime (nothing is installed then),
    /// [`InstallError::RecorderAlreadyInstalled`] when the process already has a global
    /// recorder: a process has one, and it cannot be replaced. Build yours with
    /// [`PrometheusBuilder`] and pass its handle to [`PrometheusExporter::from_handle`].
    ///
    /// ```
    /// use fusebox::Fusebox;
    /// use fusebox_prometheus::{InstallError, PrometheusExporter};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fusebox = Fusebox::builder().build()?;
    /// let exporter = PrometheusExporter::install(&fusebox)?;
    ///
    /// let again = PrometheusExporter::install(&fusebox);
    /// assert!(matches!(again, Err(InstallError::RecorderAlreadyInstalled)));
    /// # drop(exporter);
    /// # Ok(())
    /// # }
    /// ```
    pub fn install(fusebox: &Fusebox) -> Result<PrometheusExporter, InstallError> {
        let runtime = Handle::try_current().map_err(|_| InstallError::NoRuntime)?;
        let handle = PrometheusBuilder::new()
            .install_recorder()
            .map_err(|err| match err {
                BuildError::FailedToSetGlobalRecorder(_) => InstallError::RecorderAlreadyInstalled,
                other => InstallError::Recorder(other),
            })?;
        Ok(PrometheusExporter::start(&runtime, handle, fusebox))
    }

    /// An exporter over a recorder you installed yourself (custom buckets, global labels, a
    /// recorder layered with others), given its handle. Describes the metrics to the global
    /// recorder and spawns the upkeep task.
    ///
    /// Keep the builder's default naming: with `with_recommended_naming(true)` the exporter
    /// appends `_total` to counter names, and the `..._total` counters would render as
    /// `..._total_total`.
    ///
    /// # Errors
    /// [`InstallError::NoRuntime`] outside a tokio runtime.
    ///
    /// ```
    /// use fusebox::Fusebox;
    /// use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
    /// use metrics_exporter_prometheus::PrometheusBuilder;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let handle = PrometheusBuilder::new()
    ///     .add_global_label("service", "checkout")
    ///     .install_recorder()?;
    /// let fusebox = Fusebox::builder()
    ///     .listener("prometheus", PrometheusListener::new())
    ///     .build()?;
    /// let exporter = PrometheusExporter::from_handle(handle, &fusebox)?;
    ///
    /// fusebox.circuit("payments");
    /// let text = exporter.render();
    /// assert!(text.contains(
    ///     r#"circuit_breaker_failure_rate{service="checkout",circuit_name="payments"} 0"#
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_handle(
        handle: PrometheusHandle,
        fusebox: &Fusebox,
    ) -> Result<PrometheusExporter, InstallError> {
        let runtime = Handle::try_current().map_err(|_| InstallError::NoRuntime)?;
        Ok(PrometheusExporter::start(&runtime, handle, fusebox))
    }

    fn start(runtime: &Handle, handle: PrometheusHandle, fusebox: &Fusebox) -> Self {
        describe();
        let upkeep = {
            let handle = handle.clone();
            let fusebox = fusebox.clone();
            spawn_every(runtime, UPKEEP_INTERVAL, move || {
                record_calls(&fusebox);
                handle.run_upkeep();
            })
        };
        PrometheusExporter {
            handle,
            fusebox: fusebox.clone(),
            _upkeep: Arc::new(upkeep),
        }
    }

    /// Records call metrics ([`record_calls`]) and renders every metric of the recorder in
    /// the Prometheus text format (`text/plain; version=0.0.4`): the body of a `/metrics`
    /// response.
    ///
    /// ```
    /// use fusebox::Fusebox;
    /// use fusebox_prometheus::{PrometheusExporter, PrometheusListener};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fusebox = Fusebox::builder()
    ///     .listener("prometheus", PrometheusListener::new())
    ///     .build()?;
    /// let exporter = PrometheusExporter::install(&fusebox)?;
    /// let search = fusebox.circuit("search");
    /// search.force_open();
    /// assert!(search.try_acquire().is_err());
    ///
    /// let text = exporter.render();
    /// assert!(text.contains("# TYPE circuit_breaker_calls_total counter\n"));
    /// assert!(text.contains(r#"circuit_breaker_calls_total{circuit_name="search",outcome="rejected"} 1"#));
    /// # Ok(())
    /// # }
    /// ```
    pub fn render(&self) -> String {
        record_calls(&self.fusebox);
        self.handle.render()
    }

    /// The recorder's handle, for rendering elsewhere (call metrics are then as fresh as the
    /// last upkeep, at most 5 seconds old).
    ///
    /// ```
    /// use fusebox::Fusebox;
    /// use fusebox_prometheus::PrometheusExporter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let exporter = PrometheusExporter::install(&Fusebox::builder().build()?)?;
    /// let handle = exporter.handle().clone();
    /// assert_eq!(handle.render(), "");
    /// # Ok(())
    /// # }
    /// ```
    pub fn handle(&self) -> &PrometheusHandle {
        &self.handle
    }

    /// How often the upkeep task runs the recorder's upkeep and records call metrics: how
    /// stale call metrics rendered through [`handle`](Self::handle) may be.
    pub fn upkeep_interval(&self) -> Duration {
        UPKEEP_INTERVAL
    }
}

impl fmt::Debug for PrometheusExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusExporter")
            .field("fusebox", &self.fusebox)
            .field("upkeep_interval", &UPKEEP_INTERVAL)
            .finish_non_exhaustive()
    }
}

/// Why [`PrometheusExporter`] could not be set up. `Display` says what to do.
///
/// ```
/// use fusebox_prometheus::InstallError;
///
/// assert_eq!(
///     InstallError::RecorderAlreadyInstalled.to_string(),
///     "a metrics recorder is already installed; build your Prometheus recorder with \
///      PrometheusBuilder and use PrometheusExporter::from_handle with its handle"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// The process already has a global `metrics` recorder.
    RecorderAlreadyInstalled,
    /// No tokio runtime was running on this thread to spawn the upkeep task on.
    NoRuntime,
    /// The Prometheus recorder could not be built or installed for another reason.
    Recorder(BuildError),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::RecorderAlreadyInstalled => f.write_str(
                "a metrics recorder is already installed; build your Prometheus recorder with \
                 PrometheusBuilder and use PrometheusExporter::from_handle with its handle",
            ),
            InstallError::NoRuntime => f.write_str(
                "create the Prometheus exporter inside a tokio runtime (e.g. in #[tokio::main]): \
                 its upkeep task needs one, and no runtime is running on this thread",
            ),
            InstallError::Recorder(err) => {
                write!(f, "the Prometheus recorder could not be installed: {err}")
            }
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstallError::Recorder(err) => Some(err),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test in this binary that touches the global recorder.
    #[test]
    fn install_needs_a_runtime_and_installs_at_most_once() {
        let fusebox = Fusebox::builder().build().unwrap();
        let err = PrometheusExporter::install(&fusebox).unwrap_err();
        assert!(matches!(err, InstallError::NoRuntime), "{err:?}");
        assert_eq!(
            err.to_string(),
            "create the Prometheus exporter inside a tokio runtime (e.g. in #[tokio::main]): \
             its upkeep task needs one, and no runtime is running on this thread"
        );

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        // The failed attempt installed nothing: this one succeeds.
        let exporter = PrometheusExporter::install(&fusebox).unwrap();
        let again = PrometheusExporter::install(&fusebox).unwrap_err();
        assert!(
            matches!(again, InstallError::RecorderAlreadyInstalled),
            "{again:?}"
        );
        assert!(std::error::Error::source(&again).is_none());
        assert_eq!(exporter.upkeep_interval(), Duration::from_secs(5));
    }
}
