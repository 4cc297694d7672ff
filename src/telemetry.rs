//! One JSON line per request on stdout. The line is also a CloudWatch Embedded Metric
//! Format document, so the counts become metrics without any API call.
//! It never holds the secret, the signature or a full phone number.

use std::time::Duration;

use serde_json::{Map, Value, json};

pub const METRICS_NAMESPACE: &str = "CallEventsReceiver";
/// The EMF dimension every metric carries, so each function's alarms see only its own.
pub const DIMENSION: &str = "FunctionName";

/// The function's name, as Lambda sets it (`local` elsewhere): the value of [`DIMENSION`].
fn function_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned())
    })
}

/// The `_aws` block of an EMF document declaring `metrics` (all counts, `extra` besides).
fn emf_block(timestamp_ms: i64, metrics: &[(&str, usize)], extra: &[(&str, &str)]) -> Value {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .chain(
            extra
                .iter()
                .map(|(name, unit)| json!({"Name": name, "Unit": unit})),
        )
        .collect();
    json!({
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [{
            "Namespace": METRICS_NAMESPACE,
            "Dimensions": [[DIMENSION]],
            "Metrics": definitions,
        }],
    })
}

/// An error and all its sources on one line, for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

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
    /// Why the request was refused or failed: a signature error kind, a rejected field,
    /// or a backend error chain. For operators only.
    pub detail: Option<String>,
    pub duration: Duration,
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
            detail: None,
            duration: Duration::ZERO,
        }
    }

    fn count(&self, effect: &str) -> usize {
        self.effects.iter().filter(|e| **e == effect).count()
    }

    /// The counts this request adds to each metric.
    pub fn metrics(&self) -> [(&'static str, usize); 10] {
        let is = |outcome| usize::from(self.outcome == outcome);
        [
            ("Processed", is(Outcome::Processed)),
            ("Duplicate", is(Outcome::Duplicate)),
            ("Ignored", is(Outcome::Ignored)),
            ("Quarantined", is(Outcome::Quarantined)),
            ("Unauthorized", is(Outcome::Unauthorized)),
            ("CallbacksDecided", self.count("callback")),
            ("DncSignals", self.count("dnc")),
            ("CallbacksSuppressed", usize::from(self.callback_suppressed)),
            ("BackendErrors", is(Outcome::BackendUnavailable)),
            ("PermanentFailures", usize::from(self.permanent_failure)),
        ]
    }

    /// The log line: request fields plus an EMF `_aws` block naming the metrics.
    pub fn to_log_line(&self, timestamp_ms: i64) -> String {
        let metrics = self.metrics();
        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            emf_block(timestamp_ms, &metrics, &[("Duration", "Milliseconds")]),
        );
        line.insert(DIMENSION.into(), json!(function_name()));
        let level = if self.outcome == Outcome::BackendUnavailable {
            "ERROR"
        } else {
            "INFO"
        };
        line.insert("level".into(), json!(level));
        line.insert("message".into(), json!("webhook request"));
        line.insert("requestId".into(), json!(self.request_id));
        line.insert("outcome".into(), json!(self.outcome.as_str()));
        line.insert("status".into(), json!(self.status));
        line.insert("eventType".into(), json!(self.event_type));
        line.insert("campaignId".into(), json!(self.campaign_id));
        line.insert("phone".into(), json!(self.phone));
        line.insert("eventId".into(), json!(self.event_id));
        line.insert("effects".into(), json!(self.effects));
        if let Some(detail) = &self.detail {
            line.insert("detail".into(), json!(detail));
        }
        line.insert(
            "durationMs".into(),
            json!(self.duration.as_secs_f64() * 1000.0),
        );
        for (name, count) in metrics {
            line.insert(name.into(), json!(count));
        }
        line.insert(
            "Duration".into(),
            json!(self.duration.as_secs_f64() * 1000.0),
        );
        Value::Object(line).to_string()
    }
}

/// The relay's line per batch: what SQS took, what failed, as EMF metrics.
pub fn relay_log_line(
    report: &crate::relay::RelayReport,
    duration: Duration,
    timestamp_ms: i64,
) -> String {
    let metrics = [
        ("CallbacksSent", report.callbacks_sent),
        ("CallbacksSuppressed", report.callbacks_suppressed),
        ("DncRequestsSent", report.dnc_sent),
        ("DncSignalsRegistered", report.dnc_signals_registered),
        ("QuarantineForwarded", report.quarantine_forwarded),
        ("SendFailures", report.send_failures),
        ("Parked", report.parked),
        ("UnreadableRecords", report.unreadable),
    ];
    let mut line = Map::new();
    line.insert("_aws".into(), emf_block(timestamp_ms, &metrics, &[]));
    line.insert(DIMENSION.into(), json!(function_name()));
    let failed = report.retry_from.is_some();
    line.insert("level".into(), json!(if failed { "ERROR" } else { "INFO" }));
    line.insert("message".into(), json!("relay batch"));
    line.insert("retryFrom".into(), json!(report.retry_from));
    line.insert("durationMs".into(), json!(duration.as_secs_f64() * 1000.0));
    for (name, count) in metrics {
        line.insert(name.into(), json!(count));
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        assert!(v["FunctionName"].is_string(), "the dimension has a value");
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
}
