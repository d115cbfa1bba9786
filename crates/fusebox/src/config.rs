//! Policies from a TOML file (feature `config`): a `[default]` policy and per-circuit
//! `[circuits.<name>]` policies, every value in its text form.
//!
//! ```toml
//! [default]
//! window = "count(100)"
//! trip = "min_requests(20) & failure_rate(0.5)"
//! retry = "backoff(1s, 2, 60s).jitter(0.1)"
//!
//! # Alert once when the same error happens 100 times in a minute.
//! [circuits.payments]
//! window = "time(60s)"
//! trip = "failure_count(100)"
//! retry = "cooldown(5m)"
//! ```
//!
//! A circuit section sets only what differs: unset fields come from `[default]`, and fields
//! unset there from the built-in defaults (`Policy::default()`). Fields: `window`, `trip`,
//! `retry`, `permit`, `max_concurrent_probes`, `close_after`, `max_wait`, `record_latency`,
//! and `fleet`: `"shared"` shares the circuit's trips with the other replicas of the service
//! (see [`FuseboxBuilder::share_trips`](crate::FuseboxBuilder::share_trips)), `"local"` (the
//! default) keeps them to this process.
//! Errors name the file, the circuit and the field.
//!
//! `[alerts."<pattern>"]` sections set the policy of the fingerprints of logged errors whose
//! message matches the pattern (feature `alerts`, see `fusebox::alerts`):
//!
//! ```toml
//! # Ten failed orders within a minute are worth an alert.
//! [alerts."order * failed"]
//! trip = "failure_count(10)"
//!
//! # Every other fingerprint: 50 in five minutes.
//! [alerts."*"]
//! window = "time(5m)"
//! trip = "failure_count(50)"
//! ```
//!
//! A pattern is matched against the whole normalised message of the fingerprint's first
//! event (numbers read `{n}`, UUIDs `{uuid}`, hex ids `{hex}`, quoted values `"{s}"`): `*`
//! matches any run of characters, including none; everything else matches itself. When
//! several patterns match, the one with the most characters besides `*` wins, and among
//! those the first in alphabetical order. Unset fields come from the alert defaults
//! (`time(60s)`, `failure_count(100)`, `cooldown(5m)`, `permit = "all()"`), not from
//! `[default]`, whose policy is for calls to services.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use fusebox_core::{Policy, PolicyBuilder};
use serde::Deserialize;

/// Policies read from a config file; give them to
/// [`FuseboxBuilder::config`](crate::FuseboxBuilder::config).
///
/// ```
/// use fusebox::config::Config;
///
/// let config = Config::from_toml(
///     r#"
///     [default]
///     trip = "min_requests(20) & failure_rate(0.5)"
///
///     [circuits.payments]
///     window = "time(60s)"
///     trip = "failure_count(100)"
///     "#,
///     "fusebox.toml",
/// )?;
/// assert_eq!(config.default_policy().trip().to_string(), "min_requests(20) & failure_rate(0.5)");
/// let payments = config.policy("payments").unwrap();
/// assert_eq!(payments.window().to_string(), "time(60s)");
/// assert_eq!(payments.trip().to_string(), "failure_count(100)");
///
/// let err = Config::from_toml("[circuits.search]\ntrip = \"failure_rate(2)\"", "fusebox.toml")
///     .unwrap_err();
/// assert!(err.to_string().starts_with("fusebox.toml: circuit \"search\": trip: invalid trip rule"));
/// # Ok::<(), fusebox::config::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    default: Policy,
    circuits: BTreeMap<String, Policy>,
    default_shared: bool,
    shared: BTreeMap<String, bool>,
    alerts: BTreeMap<String, Policy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    default: Fields,
    #[serde(default)]
    circuits: BTreeMap<String, Fields>,
    #[serde(default)]
    alerts: BTreeMap<String, Fields>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    window: Option<String>,
    trip: Option<String>,
    retry: Option<String>,
    permit: Option<String>,
    max_concurrent_probes: Option<u32>,
    close_after: Option<u32>,
    max_wait: Option<String>,
    record_latency: Option<bool>,
    fleet: Option<String>,
}

/// A config file that could not be read or holds an invalid value; `Display` names the
/// file, the circuit (or `[default]`) and the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    origin: String,
    section: Option<String>,
    /// The section is an `[alerts."<pattern>"]` one.
    alert: bool,
    field: Option<&'static str>,
    message: String,
}

impl ConfigError {
    /// The circuit whose section is invalid (`None` for `[default]`, an alert pattern or the
    /// whole file).
    pub fn circuit(&self) -> Option<&str> {
        self.section.as_deref().filter(|_| !self.alert)
    }

    /// The alert pattern whose `[alerts."<pattern>"]` section is invalid.
    pub fn alert_pattern(&self) -> Option<&str> {
        self.section.as_deref().filter(|_| self.alert)
    }

    /// The invalid field, when one is to blame.
    pub fn field(&self) -> Option<&'static str> {
        self.field
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        match (&self.section, self.field) {
            (Some(pattern), _) if self.alert => write!(f, "alert pattern {pattern:?}: ")?,
            (Some(circuit), _) => write!(f, "circuit {circuit:?}: ")?,
            (None, Some(_)) => f.write_str("[default]: ")?,
            (None, None) => {}
        }
        if let Some(field) = self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads and validates the TOML file at `path`.
    ///
    /// # Errors
    /// The file cannot be read, is not valid TOML, has unknown fields, or holds an invalid
    /// value.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            origin: origin.clone(),
            section: None,
            alert: false,
            field: None,
            message: format!("cannot read the file: {err}"),
        })?;
        Config::from_toml(&text, &origin)
    }

    /// Reads and validates TOML text; `origin` names it in errors (a file name).
    ///
    /// # Errors
    /// Like [`Config::from_path`].
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let file: File = toml::from_str(text).map_err(|err| ConfigError {
            origin: origin.to_owned(),
            section: None,
            alert: false,
            field: None,
            message: err.to_string().trim_end().to_owned(),
        })?;
        let error = |section: Option<&str>, field, message: String| ConfigError {
            origin: origin.to_owned(),
            section: section.map(str::to_owned),
            alert: false,
            field: Some(field),
            message,
        };
        let default = file
            .default
            .apply(Policy::builder())
            .and_then(|b| b.build().map_err(|e| (e.field(), e.to_string())))
            .map_err(|(field, message)| error(None, field, message))?;
        let default_shared = file
            .default
            .shared()
            .map_err(|message| error(None, "fleet", message))?
            .unwrap_or(false);
        let mut circuits = BTreeMap::new();
        let mut shared = BTreeMap::new();
        for (name, fields) in file.circuits {
            let shares = fields
                .shared()
                .map_err(|message| error(Some(&name), "fleet", message))?
                .unwrap_or(default_shared);
            shared.insert(name.clone(), shares);
            let policy = file
                .default
                .apply(Policy::builder())
                .and_then(|b| fields.apply(b))
                .and_then(|b| b.build().map_err(|e| (e.field(), e.to_string())))
                .map_err(|(field, message)| error(Some(&name), field, message))?;
            circuits.insert(name, policy);
        }
        let mut alerts = BTreeMap::new();
        for (pattern, fields) in file.alerts {
            let policy = fields
                .apply(crate::alert_policy_builder())
                .and_then(|b| b.build().map_err(|e| (e.field(), e.to_string())))
                .map_err(|(field, message)| ConfigError {
                    alert: true,
                    ..error(Some(&pattern), field, message)
                })?;
            alerts.insert(pattern, policy);
        }
        Ok(Config {
            default,
            circuits,
            default_shared,
            shared,
            alerts,
        })
    }

    /// Whether the circuit named `name` shares its trips with the fleet: its section's
    /// `fleet`, else `[default]`'s.
    ///
    /// ```
    /// use fusebox::config::Config;
    ///
    /// let config = Config::from_toml("[circuits.work]\nfleet = \"shared\"", "fusebox.toml")?;
    /// assert!(config.shares_trips("work"));
    /// assert!(!config.shares_trips("search"));
    /// # Ok::<(), fusebox::config::ConfigError>(())
    /// ```
    pub fn shares_trips(&self, name: &str) -> bool {
        self.shared
            .get(name)
            .copied()
            .unwrap_or(self.default_shared)
    }

    /// Whether `[default]` says `fleet = "shared"`: every circuit without a `fleet` of its
    /// own shares its trips.
    pub fn default_shares_trips(&self) -> bool {
        self.default_shared
    }

    /// The policy of circuits without a section of their own.
    pub fn default_policy(&self) -> &Policy {
        &self.default
    }

    /// The policy of the circuit named `name`, if the file has a section for it.
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.circuits.get(name)
    }

    /// Every circuit section, by name.
    pub fn circuits(&self) -> impl Iterator<Item = (&str, &Policy)> {
        self.circuits
            .iter()
            .map(|(name, policy)| (name.as_str(), policy))
    }

    /// Every `[alerts."<pattern>"]` section, by pattern in alphabetical order: the policies
    /// of the fingerprints of logged errors (see the module docs for the pattern syntax).
    ///
    /// ```
    /// use fusebox::config::Config;
    ///
    /// let config = Config::from_toml(
    ///     "[alerts.\"order * failed\"]\ntrip = \"failure_count(10)\"",
    ///     "fusebox.toml",
    /// )?;
    /// let (pattern, policy) = config.alert_policies().next().unwrap();
    /// assert_eq!(pattern, "order * failed");
    /// assert_eq!(policy.trip().to_string(), "failure_count(10)");
    /// // Unset fields come from the alert defaults.
    /// assert_eq!(policy.window().to_string(), "time(60s)");
    /// assert_eq!(policy.retry().to_string(), "cooldown(300s)");
    ///
    /// let err = Config::from_toml("[alerts.\"*\"]\nwindow = \"time(0s)\"", "f.toml").unwrap_err();
    /// assert_eq!(err.alert_pattern(), Some("*"));
    /// assert!(err.to_string().starts_with("f.toml: alert pattern \"*\": window: "), "{err}");
    /// # Ok::<(), fusebox::config::ConfigError>(())
    /// ```
    pub fn alert_policies(&self) -> impl Iterator<Item = (&str, &Policy)> {
        self.alerts
            .iter()
            .map(|(pattern, policy)| (pattern.as_str(), policy))
    }
}

impl Fields {
    /// `fleet`: `Some(true)` for `"shared"`, `Some(false)` for `"local"`.
    fn shared(&self) -> Result<Option<bool>, String> {
        match self.fleet.as_deref() {
            None => Ok(None),
            Some("shared") => Ok(Some(true)),
            Some("local") => Ok(Some(false)),
            Some(other) => Err(format!(
                "{other:?} is not a fleet mode; write \"shared\" (trips reach every replica) or \"local\" (the default)"
            )),
        }
    }

    /// Sets the fields present here on `builder`; an error names the field.
    fn apply(&self, mut builder: PolicyBuilder) -> Result<PolicyBuilder, (&'static str, String)> {
        fn parse<T: FromStr>(field: &'static str, text: &str) -> Result<T, (&'static str, String)>
        where
            T::Err: fmt::Display,
        {
            text.parse::<T>().map_err(|err| (field, err.to_string()))
        }
        if let Some(text) = &self.window {
            builder = builder.window(parse("window", text)?);
        }
        if let Some(text) = &self.trip {
            builder = builder.trip(parse("trip", text)?);
        }
        if let Some(text) = &self.retry {
            builder = builder.retry(parse("retry", text)?);
        }
        if let Some(text) = &self.permit {
            builder = builder.permit(parse("permit", text)?);
        }
        if let Some(probes) = self.max_concurrent_probes {
            builder = builder.max_concurrent_probes(probes);
        }
        if let Some(successes) = self.close_after {
            builder = builder.close_after(successes);
        }
        if let Some(text) = &self.max_wait {
            let wait =
                fusebox_core::duration::parse(text).map_err(|err| ("max_wait", err.to_string()))?;
            builder = builder.max_wait(wait);
        }
        if let Some(record) = self.record_latency {
            builder = builder.record_latency(record);
        }
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn circuit_sections_inherit_unset_fields_from_default() {
        let config = Config::from_toml(
            r#"
            [default]
            retry = "cooldown(10s)"
            close_after = 3

            [circuits.payments]
            trip = "failure_streak(5)"
            max_wait = "30s"
            record_latency = true
            "#,
            "f.toml",
        )
        .unwrap();
        let payments = config.policy("payments").unwrap();
        assert_eq!(payments.retry().to_string(), "cooldown(10s)");
        assert_eq!(payments.close_after(), 3);
        assert_eq!(payments.max_wait(), Duration::from_secs(30));
        assert!(payments.measures_latency());
        assert_eq!(payments.window().to_string(), "count(100)");
        assert_eq!(config.default_policy().close_after(), 3);
        assert_eq!(config.circuits().count(), 1);
        assert!(config.policy("search").is_none());
    }

    #[test]
    fn errors_name_the_file_the_circuit_and_the_field() {
        let err = |text: &str| {
            Config::from_toml(text, "fusebox.toml")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("[circuits.payments]\nwindow = \"count(0)\""),
            "fusebox.toml: circuit \"payments\": window: invalid window \"count(0)\": at position 6: \
             count(n) needs 1 <= n <= 1000000\n  count(0)\n        ^"
        );
        assert_eq!(
            err("[default]\nretry = \"cooldown(0s)\""),
            "fusebox.toml: [default]: retry: invalid retry \"cooldown(0s)\": at position 9: \
             cooldown(d) needs d > 0\n  cooldown(0s)\n           ^"
        );
        assert_eq!(
            err("[circuits.a]\nclose_after = 0"),
            "fusebox.toml: circuit \"a\": close_after: invalid policy: close_after = 0: close_after needs at least 1"
        );
        let duration_error = fusebox_core::duration::parse("soon").unwrap_err();
        assert_eq!(
            err("[circuits.a]\nmax_wait = \"soon\""),
            format!("fusebox.toml: circuit \"a\": max_wait: {duration_error}")
        );
        let unknown = err("[circuits.a]\ntrips = \"closed()\"");
        assert!(unknown.starts_with("fusebox.toml: "), "{unknown}");
        assert!(unknown.contains("unknown field `trips`"), "{unknown}");
        let missing = Config::from_path("/nonexistent/fusebox.toml").unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("/nonexistent/fusebox.toml: cannot read the file: "),
            "{missing}"
        );
    }

    #[test]
    fn fleet_sharing_comes_from_the_section_or_the_default() {
        let config = Config::from_toml(
            "[default]\nfleet = \"shared\"\n[circuits.a]\nfleet = \"local\"\n[circuits.b]\n",
            "f.toml",
        )
        .unwrap();
        assert!(!config.shares_trips("a"));
        assert!(config.shares_trips("b"));
        assert!(config.shares_trips("unlisted"));
        assert!(config.default_shares_trips());
        let err = Config::from_toml("[circuits.a]\nfleet = \"global\"", "f.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.toml: circuit \"a\": fleet: \"global\" is not a fleet mode; write \"shared\" \
             (trips reach every replica) or \"local\" (the default)"
        );
    }

    #[test]
    fn trip_errors_point_into_the_rule() {
        let err =
            Config::from_toml("[circuits.s]\ntrip = \"failure_rate(2)\"", "f.toml").unwrap_err();
        assert_eq!((err.circuit(), err.field()), (Some("s"), Some("trip")));
        assert!(
            err.to_string()
                .starts_with("f.toml: circuit \"s\": trip: invalid trip rule at position 0: "),
            "{err}"
        );
    }
}
