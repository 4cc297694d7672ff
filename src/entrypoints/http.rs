//! The HTTP entrypoint: turns an API Gateway request (HTTP API payload 2.0 or REST API
//! payload 1.0, body possibly base64) into one of the contract's answers. Every answer is
//! JSON; none carries internal detail. Errors map to statuses here and nowhere else.

use std::time::Instant;

use lambda_http::http::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use tracing::error;

use crate::core::lead::DncSignal;
use crate::core::register::evidence_of_request;
use crate::core::signature::{self, Verifier};
use crate::core::wire::{Inbound, parse_body};
use crate::ports::{Inbox, LeadStore};
use crate::telemetry::{Outcome, RequestReport, error_chain};
use crate::usecases::record::{CallEventRecorder, RecordError, Recorded};

/// The API Gateway event (HTTP API payload 2.0 or REST payload 1.0) as the request the
/// handler answers.
///
/// The function does not route by host, path or query, and lambda_http builds a URI from
/// them with `unwrap`s: an event whose host header, `x-forwarded-proto`, path or query
/// string do not make a valid URI would abort the process (found by the `apigw_request`
/// fuzz target). So those parts are neutralised before the conversion: no host (the URI is
/// the bare path), the path `/call-events`, no query. Likewise a body flagged base64 that
/// is not valid base64 (aws_lambda_events would abort on it) is taken as the text it is: its
/// signature then fails, and it is answered 401. Nothing the contract uses is touched.
pub fn request_from_event(
    mut event: serde_json::Value,
) -> Result<lambda_http::request::LambdaRequest, serde_json::Error> {
    if let Some(event) = event.as_object_mut() {
        for name in ["rawPath", "path"] {
            if event.contains_key(name) {
                event.insert(name.into(), Value::from("/call-events"));
            }
        }
        if event.contains_key("rawQueryString") {
            event.insert("rawQueryString".into(), Value::from(""));
        }
        for name in ["queryStringParameters", "multiValueQueryStringParameters"] {
            event.remove(name);
        }
        for name in ["headers", "multiValueHeaders"] {
            if let Some(headers) = event.get_mut(name).and_then(Value::as_object_mut) {
                headers.retain(|header, _| {
                    !header.eq_ignore_ascii_case("host")
                        && !header.eq_ignore_ascii_case("x-forwarded-proto")
                });
            }
        }
        if let Some(context) = event
            .get_mut("requestContext")
            .and_then(Value::as_object_mut)
        {
            context.remove("domainName");
        }
        let flagged_base64 = event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true);
        let decodes = |body: &str| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .is_ok()
        };
        if flagged_base64
            && !event
                .get("body")
                .and_then(Value::as_str)
                .is_none_or(decodes)
        {
            event.insert("isBase64Encoded".into(), Value::from(false));
        }
    }
    serde_json::from_value(event)
}

/// The largest body accepted: a quarantined body must fit in a table item (400 KB) and
/// in an SQS message.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub struct WebhookHandler<S> {
    verifier: Verifier,
    recorder: CallEventRecorder<S>,
}

impl<S: LeadStore + Inbox> WebhookHandler<S> {
    pub fn new(verifier: Verifier, recorder: CallEventRecorder<S>) -> Self {
        Self { verifier, recorder }
    }

    /// Answers the request and writes its log line.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let (response, report) = self.respond(&request).await;
        println!(
            "{}",
            report.to_log_line(chrono::Utc::now().timestamp_millis())
        );
        response
    }

    /// Answers the request; the report says what happened, for the log line.
    pub async fn respond(&self, request: &Request) -> (Response<Body>, RequestReport) {
        let started = Instant::now();
        let (status, body, mut report) = self.answer(request).await;
        report.request_id = request.lambda_context_ref().map(|c| c.request_id.clone());
        report.duration = started.elapsed();
        let mut response = Response::new(Body::Text(body.to_string()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(ALLOW, HeaderValue::from_static("POST"));
        }
        (response, report)
    }

    async fn answer(&self, request: &Request) -> (StatusCode, Value, RequestReport) {
        let refuse = |status: StatusCode, outcome: Outcome| {
            let report = RequestReport::new(outcome, status.as_u16());
            (status, json!({"error": outcome.as_str()}), report)
        };
        if request.method() != Method::POST {
            return refuse(StatusCode::METHOD_NOT_ALLOWED, Outcome::MethodNotAllowed);
        }
        let body: &[u8] = request.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, Outcome::PayloadTooLarge);
        }
        let header = request
            .headers()
            .get(signature::HEADER)
            .map(|v| v.to_str().unwrap_or_default());
        let now_ms = chrono::Utc::now().timestamp_millis();
        if let Err(e) = self.verifier.verify(header, body, now_ms) {
            let (status, body, mut report) =
                refuse(StatusCode::UNAUTHORIZED, Outcome::Unauthorized);
            report.detail = Some(e.to_string());
            return (status, body, report);
        }

        match parse_body(body) {
            Ok(Inbound::NotHandled { event_type }) => {
                let mut report = RequestReport::new(Outcome::Ignored, 200);
                report.event_type = Some(event_type);
                (StatusCode::OK, json!({"status": "ignored"}), report)
            }
            // Safe to show and log whole: a rejection never repeats the offending value.
            Err(rejection) => {
                let report = RequestReport::new(Outcome::Quarantined, 200);
                self.quarantine(body, header, rejection.to_string(), None, report)
                    .await
            }
            Ok(Inbound::Call(event)) => {
                let mut report = RequestReport::new(Outcome::Processed, 200);
                report.event_type = Some(event.event_type().as_str().to_owned());
                report.campaign_id = Some(event.campaign_id.as_str().to_owned());
                report.phone = Some(event.phone.masked());
                let evidence = evidence_of_request(header, body);
                let result = self.recorder.record(&event, &evidence).await;
                let signal = DncSignal::of_event(&event, &event.id());
                self.recorded(result, body, header, signal, report).await
            }
            Ok(Inbound::LegacyDnc(event)) => {
                let mut report = RequestReport::new(Outcome::Processed, 200);
                report.event_type = Some(crate::core::wire::LEGACY_DNC_CREATED.to_owned());
                report.phone = Some(event.phone.masked());
                let evidence = evidence_of_request(header, body);
                let result = self.recorder.record_legacy_dnc(&event, &evidence).await;
                let signal = DncSignal::legacy(&event);
                self.recorded(result, body, header, Some(signal), report)
                    .await
            }
        }
    }

    /// Keeps the body durably for replay (with the DNC signal it carries, if any), then
    /// answers 200 `quarantined` with the reason; 503 only if keeping it failed for a
    /// reason that may pass.
    async fn quarantine(
        &self,
        body: &[u8],
        header: Option<&str>,
        reason: String,
        signal: Option<DncSignal>,
        mut report: RequestReport,
    ) -> (StatusCode, Value, RequestReport) {
        match self.recorder.quarantine(body, header, reason, signal).await {
            Ok(kept) => {
                report.outcome = Outcome::Quarantined;
                report.status = 200;
                report.detail = Some(kept.reason.clone());
                let mut answer = json!({"status": "quarantined", "reason": kept.reason});
                if kept.dnc_kept {
                    report.effects = vec!["dnc"];
                    answer["effects"] = json!(["dnc"]);
                }
                (StatusCode::OK, answer, report)
            }
            Err(e) => {
                report.outcome = Outcome::BackendUnavailable;
                report.status = 503;
                unavailable(report, &e)
            }
        }
    }

    /// The answer to a recorded event: a permanent failure is quarantined (with the
    /// event's DNC signal, `signal`), not a 503 the sender would retry into a broken
    /// webhook.
    async fn recorded(
        &self,
        result: Result<Recorded, RecordError>,
        body: &[u8],
        header: Option<&str>,
        signal: Option<DncSignal>,
        mut report: RequestReport,
    ) -> (StatusCode, Value, RequestReport) {
        if let Err(e) = &result
            && let Some(why) = e.permanent()
        {
            error!(error = %error_chain(e), "permanent failure: the body is quarantined");
            report.permanent_failure = true;
            let reason = format!("cannot be stored: {why}");
            return self.quarantine(body, header, reason, signal, report).await;
        }
        answer_for(result, report)
    }
}

/// The answer to a recorded event, or to a failure that may pass.
fn answer_for(
    result: Result<Recorded, RecordError>,
    mut report: RequestReport,
) -> (StatusCode, Value, RequestReport) {
    match result {
        Ok(Recorded::Processed {
            event_id,
            event_type,
            effects,
            callback_suppressed,
        }) => {
            report.event_id = Some(event_id.to_string());
            report.effects.clone_from(&effects);
            report.callback_suppressed = callback_suppressed;
            let answer = json!({
                "status": "processed",
                "eventId": event_id.as_str(),
                "eventType": event_type.as_str(),
                "effects": effects,
            });
            (StatusCode::OK, answer, report)
        }
        Ok(Recorded::Duplicate { event_id }) => {
            report.outcome = Outcome::Duplicate;
            report.event_id = Some(event_id.to_string());
            let answer = json!({"status": "duplicate", "eventId": event_id.as_str()});
            (StatusCode::OK, answer, report)
        }
        Err(e) => {
            report.outcome = Outcome::BackendUnavailable;
            report.status = 503;
            unavailable(report, &e)
        }
    }
}

/// The 503 answer: the sender retries, and nothing was lost. The error goes to the logs only.
fn unavailable(
    mut report: RequestReport,
    error: &(dyn std::error::Error + 'static),
) -> (StatusCode, Value, RequestReport) {
    let chain = error_chain(error);
    error!(error = %chain, "backend unavailable: answering 503 so the sender retries");
    report.detail = Some(chain);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": Outcome::BackendUnavailable.as_str()}),
        report,
    )
}
