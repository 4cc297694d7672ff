//! The HTTP entrypoint: turns an API Gateway request (HTTP API payload 2.0 or REST API
//! payload 1.0, body possibly base64) into one of the contract's answers. Every answer is
//! JSON; none carries internal detail. Errors map to statuses here and nowhere else.

use std::time::Instant;

use lambda_http::http::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use tracing::error;

use crate::core::signature::{self, SignatureError, Verifier};
use crate::ports::{Inbox, LeadStore, WebhookSecrets};
use crate::telemetry::{Outcome, RequestReport, error_chain};
use crate::usecases::keyring::{Fixed, Keyring};
use crate::usecases::record::{CallEventRecorder, Receipt, RecordError, Recorded};

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

/// The webhook: the secrets (`K`, where they are read again) and the use case.
pub struct WebhookHandler<S, K = Fixed> {
    keyring: Keyring<K>,
    recorder: CallEventRecorder<S>,
}

impl<S: LeadStore + Inbox> WebhookHandler<S> {
    /// With secrets that are never read again.
    pub fn new(verifier: Verifier, recorder: CallEventRecorder<S>) -> Self {
        Self::with_keyring(Keyring::new(verifier, None), recorder)
    }
}

impl<S: LeadStore + Inbox, K: WebhookSecrets> WebhookHandler<S, K> {
    pub fn with_keyring(keyring: Keyring<K>, recorder: CallEventRecorder<S>) -> Self {
        Self { keyring, recorder }
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

    /// Refuses what HTTP refuses (method, size, signature); hands an authentic body to the
    /// use case; maps what came of it to the contract's answer.
    async fn answer(&self, request: &Request) -> (StatusCode, Value, RequestReport) {
        if request.method() != Method::POST {
            return respond_with(Answer::MethodNotAllowed, RequestReport::default());
        }
        let body: &[u8] = request.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return respond_with(Answer::PayloadTooLarge, RequestReport::default());
        }
        let header = request
            .headers()
            .get(signature::HEADER)
            .map(|v| v.to_str().unwrap_or_default());
        let now_ms = chrono::Utc::now().timestamp_millis();
        if let Err(e) = self.keyring.verify(header, body, now_ms).await {
            let report = RequestReport {
                // A signature that could be the platform's (a secret, a clock or the scheme
                // out of step), not a scanner's missing or malformed header.
                wrong_signature: matches!(
                    e,
                    SignatureError::Mismatch | SignatureError::Stale | SignatureError::V1Refused
                ),
                detail: Some(e.to_string()),
                ..RequestReport::default()
            };
            return respond_with(Answer::Unauthorized, report);
        }
        let (delivery, result) = self.recorder.receive(body, header).await;
        let report = RequestReport {
            event_type: delivery.event_type,
            campaign_id: delivery.campaign_id,
            phone: delivery.phone.map(|phone| phone.masked()),
            ..RequestReport::default()
        };
        respond_with(Answer::Received(result), report)
    }
}

/// Everything the webhook can answer.
enum Answer {
    MethodNotAllowed,
    PayloadTooLarge,
    Unauthorized,
    /// What the use case made of an authentic body.
    Received(Result<Receipt, RecordError>),
}

/// The one place an answer becomes a status, a JSON body and the log line's outcome. The
/// sender gives up after 5 failed deliveries: only a failure that may pass is a 503.
fn respond_with(answer: Answer, mut report: RequestReport) -> (StatusCode, Value, RequestReport) {
    let (outcome, status, body) = match answer {
        Answer::MethodNotAllowed => (
            Outcome::MethodNotAllowed,
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": Outcome::MethodNotAllowed.as_str()}),
        ),
        Answer::PayloadTooLarge => (
            Outcome::PayloadTooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": Outcome::PayloadTooLarge.as_str()}),
        ),
        // No detail that helps an attacker: the kind of failure goes to the log only.
        Answer::Unauthorized => (
            Outcome::Unauthorized,
            StatusCode::UNAUTHORIZED,
            json!({"error": Outcome::Unauthorized.as_str()}),
        ),
        Answer::Received(Ok(Receipt::Recorded(Recorded::Processed {
            event_id,
            event_type,
            effects,
            callback_suppressed,
        }))) => {
            report.event_id = Some(event_id.to_string());
            report.effects.clone_from(&effects);
            report.callback_suppressed = callback_suppressed;
            let body = json!({
                "status": "processed",
                "eventId": event_id.as_str(),
                "eventType": event_type.as_str(),
                "effects": effects,
            });
            (Outcome::Processed, StatusCode::OK, body)
        }
        Answer::Received(Ok(Receipt::Recorded(Recorded::Duplicate { event_id }))) => {
            report.event_id = Some(event_id.to_string());
            let body = json!({"status": "duplicate", "eventId": event_id.as_str()});
            (Outcome::Duplicate, StatusCode::OK, body)
        }
        Answer::Received(Ok(Receipt::Ignored)) => (
            Outcome::Ignored,
            StatusCode::OK,
            json!({"status": "ignored"}),
        ),
        Answer::Received(Ok(Receipt::Quarantined {
            kept,
            permanent_failure,
        })) => {
            report.permanent_failure = permanent_failure;
            report.body_cut = kept.cut;
            report.detail = Some(kept.reason.clone());
            let mut body = json!({"status": "quarantined", "reason": kept.reason});
            if kept.dnc_kept {
                report.effects = vec!["dnc"];
                body["effects"] = json!(["dnc"]);
            }
            (Outcome::Quarantined, StatusCode::OK, body)
        }
        // The sender retries, and nothing was lost. The error goes to the logs only.
        Answer::Received(Err(e)) => {
            let chain = error_chain(&e);
            error!(error = %chain, "backend unavailable: answering 503 so the sender retries");
            report.detail = Some(chain);
            let body = json!({"error": Outcome::BackendUnavailable.as_str()});
            (
                Outcome::BackendUnavailable,
                StatusCode::SERVICE_UNAVAILABLE,
                body,
            )
        }
    };
    report.outcome = outcome;
    report.status = status.as_u16();
    (status, body, report)
}
