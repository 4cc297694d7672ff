//! One JSON line per request on stdout. The line is also a CloudWatch Embedded Metric
//! Format document, so the counts become metrics without any API call.
//! It never holds the secret, the signature or a full phone number.

use std::time::Duration;

use serde::Serialize;

use crate::usecases::relay::{BatchReport, RedriveReport, SweepReport};

pub const METRICS_NAMESPACE: &str = "CallEventsReceiver";
/// The EMF dimension every metric carries, so each function's alarms see only its own.
pub const DIMENSION: &str = "FunctionName";
/// The second dimension set adds the version that ran, so an alarm that gates a deployment
/// watches the new version alone (CodeDeploy's canary).
pub const VERSION_DIMENSION: &str = "ExecutedVersion";
/// Every metric is published per function, and per function and version.
const DIMENSION_SETS: [&[&str]; 2] = [&[DIMENSION], &[DIMENSION, VERSION_DIMENSION]];

/// The function's name, as Lambda sets it (`local` elsewhere): the value of [`DIMENSION`].
/// The version that runs, as Lambda sets it (`$LATEST` elsewhere): the value of
/// [`VERSION_DIMENSION`].
fn function_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_else(|_| "$LATEST".to_owned())
    })
}

fn function_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned())
    })
}

/// The `_aws` block of an EMF document: every metric named in it is a count, but for
/// `Duration` (milliseconds) when `with_duration`.
#[derive(Serialize)]
struct Emf<'a> {
    #[serde(rename = "Timestamp")]
    timestamp: i64,
    #[serde(rename = "CloudWatchMetrics")]
    directives: [Directive<'a>; 1],
}

#[derive(Serialize)]
struct Directive<'a> {
    #[serde(rename = "Namespace")]
    namespace: &'static str,
    #[serde(rename = "Dimensions")]
    dimensions: [&'static [&'static str]; 2],
    #[serde(rename = "Metrics")]
    metrics: Vec<Definition<'a>>,
}

#[derive(Serialize)]
struct Definition<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "Unit")]
    unit: &'static str,
}

fn emf_block<'a>(timestamp_ms: i64, metrics: &[(&'a str, usize)], with_duration: bool) -> Emf<'a> {
    let mut definitions: Vec<Definition<'a>> = metrics
        .iter()
        .map(|(name, _)| Definition {
            name,
            unit: if name.ends_with("Seconds") {
                "Seconds"
            } else {
                "Count"
            },
        })
        .collect();
    if with_duration {
        definitions.push(Definition {
            name: "Duration",
            unit: "Milliseconds",
        });
    }
    Emf {
        timestamp: timestamp_ms,
        directives: [Directive {
            namespace: METRICS_NAMESPACE,
            dimensions: DIMENSION_SETS,
            metrics: definitions,
        }],
    }
}

/// Metric values as top-level members of the line (EMF reads them there).
struct Values<'a>(&'a [(&'a str, usize)]);

impl Serialize for Values<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, count) in self.0 {
            map.serialize_entry(name, count)?;
        }
        map.end()
    }
}

/// The webhook's line: the request's fields, and the EMF document they are part of.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestLine<'a> {
    #[serde(rename = "_aws")]
    emf: Emf<'a>,
    #[serde(rename = "FunctionName")]
    function_name: &'a str,
    #[serde(rename = "ExecutedVersion")]
    executed_version: &'a str,
    level: &'static str,
    message: &'static str,
    request_id: Option<&'a str>,
    outcome: &'static str,
    status: u16,
    event_type: Option<&'a str>,
    campaign_id: Option<&'a str>,
    phone: Option<&'a str>,
    event_id: Option<&'a str>,
    effects: &'a [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    duration_ms: f64,
    #[serde(flatten)]
    values: Values<'a>,
    #[serde(rename = "Duration")]
    duration: f64,
}

/// The relay's line per batch.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchLine<'a> {
    #[serde(rename = "_aws")]
    emf: Emf<'a>,
    #[serde(rename = "FunctionName")]
    function_name: &'a str,
    #[serde(rename = "ExecutedVersion")]
    executed_version: &'a str,
    level: &'static str,
    message: &'static str,
    retry_from: Option<&'a str>,
    /// Why the invocation stopped short (a sweep's transient failure or its deadline).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    duration_ms: f64,
    #[serde(flatten)]
    values: Values<'a>,
}

pub use crate::core::error_chain;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Processed,
    Duplicate,
    Ignored,
    Quarantined,
    Unauthorized,
    MethodNotAllowed,
    PayloadTooLarge,
    BackendUnavailable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Quarantined => "quarantined",
            Self::Unauthorized => "unauthorized",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::BackendUnavailable => "backend_unavailable",
        }
    }
}

/// What the request log line says about one request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestReport {
    pub request_id: Option<String>,
    pub outcome: Outcome,
    pub status: u16,
    pub event_type: Option<String>,
    pub campaign_id: Option<String>,
    /// Already masked to its last 4 digits.
    pub phone: Option<String>,
    pub event_id: Option<String>,
    pub effects: Vec<&'static str>,
    pub callback_suppressed: bool,
    /// The event could never be stored (and was quarantined).
    pub permanent_failure: bool,
    /// The quarantined body could not be kept whole (kept cut: a preview, its length and
    /// digest).
    pub body_cut: bool,
    /// Answered 401 for a well-formed signature that matched no secret, or was stale: what
    /// a secret or clock out of step with the platform's looks like (unsigned scanners send
    /// none).
    pub wrong_signature: bool,
    /// Why the request was refused or failed: a signature error kind, a rejected field,
    /// or a backend error chain. For operators only.
    pub detail: Option<String>,
    pub duration: Duration,
}

impl Default for RequestReport {
    /// A report to fill in: the outcome and status are set where the answer is decided.
    fn default() -> Self {
        Self::new(Outcome::BackendUnavailable, 503)
    }
}

impl RequestReport {
    pub fn new(outcome: Outcome, status: u16) -> Self {
        Self {
            request_id: None,
            outcome,
            status,
            event_type: None,
            campaign_id: None,
            phone: None,
            event_id: None,
            effects: Vec::new(),
            callback_suppressed: false,
            permanent_failure: false,
            body_cut: false,
            wrong_signature: false,
            detail: None,
            duration: Duration::ZERO,
        }
    }

    fn count(&self, effect: &str) -> usize {
        self.effects.iter().filter(|e| **e == effect).count()
    }

    /// The counts this request adds to each metric.
    pub fn metrics(&self) -> [(&'static str, usize); 13] {
        let is = |outcome| usize::from(self.outcome == outcome);
        [
            // Every request answered, whatever it was: the canary's 401 rate divides by it.
            ("Requests", 1),
            ("Processed", is(Outcome::Processed)),
            ("Duplicate", is(Outcome::Duplicate)),
            ("Ignored", is(Outcome::Ignored)),
            ("Quarantined", is(Outcome::Quarantined)),
            ("Unauthorized", is(Outcome::Unauthorized)),
            ("WrongSignatures", usize::from(self.wrong_signature)),
            ("CallbacksDecided", self.count("callback")),
            ("DncSignals", self.count("dnc")),
            ("CallbacksSuppressed", usize::from(self.callback_suppressed)),
            ("BackendErrors", is(Outcome::BackendUnavailable)),
            ("PermanentFailures", usize::from(self.permanent_failure)),
            ("BodiesCut", usize::from(self.body_cut)),
        ]
    }

    /// The log line: request fields plus an EMF `_aws` block naming the metrics.
    pub fn to_log_line(&self, timestamp_ms: i64) -> String {
        let metrics = self.metrics();
        let duration_ms = self.duration.as_secs_f64() * 1000.0;
        let line = RequestLine {
            emf: emf_block(timestamp_ms, &metrics, true),
            function_name: function_name(),
            executed_version: function_version(),
            level: match self.outcome {
                Outcome::BackendUnavailable => "ERROR",
                _ => "INFO",
            },
            message: "webhook request",
            request_id: self.request_id.as_deref(),
            outcome: self.outcome.as_str(),
            status: self.status,
            event_type: self.event_type.as_deref(),
            campaign_id: self.campaign_id.as_deref(),
            phone: self.phone.as_deref(),
            event_id: self.event_id.as_deref(),
            effects: &self.effects,
            detail: self.detail.as_deref(),
            duration_ms,
            values: Values(&metrics),
            duration: duration_ms,
        };
        // Strings, numbers and arrays of them: serializing cannot fail.
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// What one invocation of the relay did, by what started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayRun {
    Batch(BatchReport),
    Redrive(RedriveReport),
    Sweep(SweepReport),
}

impl RelayRun {
    /// The line's `message`.
    fn name(&self) -> &'static str {
        match self {
            Self::Batch(_) => "relay batch",
            Self::Redrive(_) => "redrive",
            Self::Sweep(_) => "sweep",
        }
    }

    /// Every line carries the same metrics (0 where they do not apply, so a dashboard sum
    /// has a datapoint a minute); a sweep's adds its heartbeat, and the age of the longest
    /// pending request when it could read the index.
    fn metrics(&self) -> Vec<(&'static str, usize)> {
        let none = RedriveReport::default();
        let (counts, pending, waiting, redrive) = match self {
            Self::Batch(r) => (r.counts, 0, 0, &none),
            Self::Redrive(r) => (r.counts, 0, 0, r),
            Self::Sweep(r) => (r.counts, r.pending_found, r.waiting_found, &none),
        };
        let mut metrics = counts.metrics();
        metrics.extend([
            ("DncRequestsPending", pending),
            ("WritesWaiting", waiting),
            ("BatchesRedriven", redrive.redriven),
            ("StreamGaps", redrive.gaps),
            ("RedrivesDeferred", redrive.deferred),
        ]);
        if let Self::Sweep(sweep) = self {
            metrics.push(("Sweeps", 1));
            if let Some(age) = sweep.oldest_pending_seconds {
                metrics.push((
                    "OldestPendingSeconds",
                    usize::try_from(age).unwrap_or(usize::MAX),
                ));
            }
            // An import's requests, apart: their own pace, their own due time.
            metrics.push(("ImportedRequestsPending", sweep.imported_found));
            metrics.push(("ImportedRequestsSent", sweep.imported_sent));
            if let Some(age) = sweep.oldest_imported_seconds {
                metrics.push((
                    "OldestImportedSeconds",
                    usize::try_from(age).unwrap_or(usize::MAX),
                ));
            }
        }
        metrics
    }
}

/// The relay function's line for one invocation; `error`, why it stopped short, if it did.
pub fn relay_log_line_of(
    run: &RelayRun,
    error: Option<&str>,
    duration: Duration,
    timestamp_ms: i64,
) -> String {
    let metrics = run.metrics();
    let retry_from = match run {
        RelayRun::Batch(batch) => batch.retry_from.as_deref(),
        _ => None,
    };
    let line = BatchLine {
        emf: emf_block(timestamp_ms, &metrics, false),
        function_name: function_name(),
        executed_version: function_version(),
        level: match (retry_from, error) {
            (None, None) => "INFO",
            _ => "ERROR",
        },
        message: run.name(),
        retry_from,
        error,
        duration_ms: duration.as_secs_f64() * 1000.0,
        values: Values(&metrics),
    };
    serde_json::to_string(&line).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usecases::relay::RelayCounts;
    use serde_json::{Value, json};

    fn processed_dnc() -> RequestReport {
        RequestReport {
            request_id: Some("req-1".into()),
            event_type: Some("lead.call_key_pressed".into()),
            campaign_id: Some("camp".into()),
            phone: Some("*******7890".into()),
            event_id: Some("evt_1".into()),
            effects: vec!["dnc"],
            duration: Duration::from_micros(1500),
            ..RequestReport::new(Outcome::Processed, 200)
        }
    }

    #[test]
    fn log_line_is_one_json_object_with_the_request_fields() {
        let line = processed_dnc().to_log_line(1_706_443_200_000);
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["requestId"], "req-1");
        assert_eq!(v["eventType"], "lead.call_key_pressed");
        assert_eq!(v["campaignId"], "camp");
        assert_eq!(v["outcome"], "processed");
        assert_eq!(v["effects"], json!(["dnc"]));
        assert_eq!(v["phone"], "*******7890");
        assert_eq!(v["durationMs"], 1.5);
    }

    #[test]
    fn log_line_is_an_emf_document_whose_metrics_all_have_values() {
        let v: Value = serde_json::from_str(&processed_dnc().to_log_line(42)).unwrap();
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 42);
        assert_eq!(directive["Namespace"], METRICS_NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            json!([["FunctionName"], ["FunctionName", "ExecutedVersion"]])
        );
        assert!(v["FunctionName"].is_string(), "the dimension has a value");
        assert!(v["ExecutedVersion"].is_string(), "so has the version");
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in [
            "Processed",
            "Duplicate",
            "Ignored",
            "Quarantined",
            "Unauthorized",
            "CallbacksDecided",
            "DncSignals",
            "CallbacksSuppressed",
            "BackendErrors",
        ] {
            assert!(names.contains(&name), "{name} is not declared");
        }
        for name in names {
            assert!(v[name].is_number(), "{name} has no value");
        }
        assert_eq!(v["Processed"], 1);
        assert_eq!(v["DncSignals"], 1);
        assert_eq!(v["CallbacksDecided"], 0);
    }

    #[test]
    fn backend_errors_and_suppressed_callbacks_are_counted() {
        let failed = RequestReport::new(Outcome::BackendUnavailable, 503);
        assert!(failed.metrics().contains(&("BackendErrors", 1)));
        let suppressed = RequestReport {
            callback_suppressed: true,
            ..RequestReport::new(Outcome::Processed, 200)
        };
        assert!(suppressed.metrics().contains(&("CallbacksSuppressed", 1)));
    }

    #[test]
    fn relay_line_is_an_emf_document_counting_what_sqs_took_and_what_failed() {
        let report = BatchReport {
            counts: RelayCounts {
                callbacks_sent: 2,
                callbacks_suppressed: 1,
                dnc_sent: 1,
                send_failures: 1,
                ..Default::default()
            },
            retry_from: Some("42".into()),
        };
        let run = RelayRun::Batch(report);
        let line = relay_log_line_of(&run, None, Duration::from_millis(3), 7);
        let v: Value = serde_json::from_str(&line).unwrap();
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(
            directive["Dimensions"],
            json!([["FunctionName"], ["FunctionName", "ExecutedVersion"]])
        );
        assert!(v["FunctionName"].is_string());
        assert!(v["ExecutedVersion"].is_string());
        for (name, count) in [
            ("CallbacksSent", 2),
            ("CallbacksSuppressed", 1),
            ("DncRequestsSent", 1),
            ("SendFailures", 1),
            ("Parked", 0),
        ] {
            assert!(
                directive["Metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["Name"] == name),
                "{name} is not declared"
            );
            assert_eq!(v[name], count, "{name}");
        }
        assert_eq!(
            (v["level"].as_str(), v["retryFrom"].as_str()),
            (Some("ERROR"), Some("42"))
        );
        assert!(!line.contains('\n'));
    }
}
