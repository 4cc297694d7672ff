//! The register's API (docs/contract.md §9): API Gateway's HTTP API event (payload 2.0) of a
//! route authorized by AWS IAM, in; the contract's JSON answer, out. API Gateway checked the
//! caller's SigV4 signature before the function runs and hands its identity in
//! `requestContext.authorizer.iam`; the function routes by method and path and never answers
//! with internal detail.
//!
//! The event is read as JSON into the few fields used, each optional, so that no event can
//! stop the function (lambda_http's conversion builds a URI with `unwrap`s: see
//! `http::request_from_event`).

use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::error;

use crate::core::api_request::{FieldError, parse_check, parse_opt_out};
use crate::core::dial_list::{Country, read_phone};
use crate::core::domain::Timestamp;
use crate::ports::{DncRegisterStore, RegisterLookup};
use crate::telemetry::error_chain;
use crate::usecases::ask::{AskError, Standing, ask};
use crate::usecases::opt_out::{Caller, opt_out_signal, record_opt_out};

/// The fields of the event the API reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiEvent {
    raw_path: Option<String>,
    body: Option<String>,
    is_base64_encoded: bool,
    request_context: RequestContext,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RequestContext {
    request_id: Option<String>,
    http: HttpContext,
    authorizer: Option<Authorizer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct HttpContext {
    method: Option<String>,
    path: Option<String>,
    source_ip: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Authorizer {
    iam: Option<IamIdentity>,
}

/// The caller API Gateway authorized (`AWS_IAM`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct IamIdentity {
    user_arn: Option<String>,
}

impl ApiEvent {
    /// The event's fields; an event of any other shape reads as empty (and is answered 404).
    pub fn read(event: Value) -> Self {
        serde_json::from_value(event).unwrap_or_default()
    }

    fn body(&self) -> Vec<u8> {
        let body = self.body.as_deref().unwrap_or_default();
        if self.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap_or_else(|_| body.as_bytes().to_vec())
        } else {
            body.as_bytes().to_vec()
        }
    }
}

/// An answer: its status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    fn error(status: u16, code: &str) -> Self {
        Self {
            status,
            body: json!({ "error": code }),
        }
    }

    fn refused(e: &FieldError) -> Self {
        let mut body = json!({ "error": e.code });
        if let Some(field) = &e.field {
            body["field"] = json!(field);
        }
        Self { status: 400, body }
    }

    /// As API Gateway's payload 2.0 takes a function's answer.
    pub fn into_response(self) -> Value {
        json!({
            "statusCode": self.status,
            "headers": { "content-type": "application/json" },
            "multiValueHeaders": {},
            "cookies": [],
            "body": self.body.to_string(),
            "isBase64Encoded": false,
        })
    }
}

/// The routes the API answers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route<'a> {
    /// `GET /v1/opt-outs/{phone}`.
    Lookup(&'a str),
    /// `POST /v1/opt-outs/check`.
    Check,
    /// `POST /v1/opt-outs`.
    Record,
}

fn route<'a>(method: &str, path: &'a str) -> Result<Route<'a>, Answer> {
    let path = path.strip_suffix('/').unwrap_or(path);
    match (method, path) {
        ("POST", "/v1/opt-outs/check") => Ok(Route::Check),
        ("POST", "/v1/opt-outs") => Ok(Route::Record),
        (_, "/v1/opt-outs") => Err(Answer::error(405, "method_not_allowed")),
        (_, "/v1/opt-outs/check") => Err(Answer::error(405, "method_not_allowed")),
        ("GET", p) => match p.strip_prefix("/v1/opt-outs/") {
            Some(phone) if !phone.is_empty() && !phone.contains('/') => Ok(Route::Lookup(phone)),
            _ => Err(Answer::error(404, "not_found")),
        },
        _ => Err(Answer::error(404, "not_found")),
    }
}

/// The phone of `GET /v1/opt-outs/{phone}`: E.164 (`+` may come encoded, `%2B`), or a
/// national number of the US, as `import` and `scrub` read one.
fn path_phone(text: &str) -> Result<crate::core::domain::Phone, FieldError> {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    read_phone(&decoded, Country::US).map_err(|_| FieldError {
        code: "invalid_field",
        field: Some("phone".to_owned()),
    })
}

/// One phone's answer (`onRegister: false` with nothing else for a phone not on it).
pub fn standing_json(standing: &Standing) -> Value {
    match &standing.listed {
        None => json!({ "phone": standing.phone.as_str(), "onRegister": false }),
        Some(listed) => json!({
            "phone": standing.phone.as_str(),
            "onRegister": true,
            "dncAt": listed.dnc_at,
            "kinds": listed.kinds(),
            "requestState": listed.request_state,
        }),
    }
}

/// The API's handler: the register it asks (`R`) and records opt-outs on (`W`), and how
/// long a request may take.
pub struct ApiHandler<R, W> {
    register: R,
    store: W,
    deadline: Duration,
}

impl<R: RegisterLookup, W: DncRegisterStore> ApiHandler<R, W> {
    pub fn new(register: R, store: W, deadline: Duration) -> Self {
        Self {
            register,
            store,
            deadline,
        }
    }

    /// The answer to one request, and its log line (one JSON line per request on stdout).
    pub async fn respond(&self, event: &ApiEvent) -> (Answer, Value) {
        let started = Instant::now();
        let method = event.request_context.http.method.as_deref().unwrap_or("");
        let path = event
            .raw_path
            .as_deref()
            .or(event.request_context.http.path.as_deref())
            .unwrap_or("");
        let (answer, asked) = match route(method, path) {
            Err(answer) => (answer, 0),
            Ok(route) => self.answer(route, event).await,
        };
        let caller = event
            .request_context
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.as_deref());
        let log = json!({
            "function": "api",
            "requestId": event.request_context.request_id,
            "method": method,
            "path": path,
            "caller": caller,
            "status": answer.status,
            "phones": asked,
            "durationMs": started.elapsed().as_secs_f64() * 1000.0,
        });
        (answer, log)
    }

    async fn answer(&self, route: Route<'_>, event: &ApiEvent) -> (Answer, usize) {
        let phones = match route {
            // Boxed, as the read below: the SDK's futures nest deep, and the function's
            // `main` must still lay its future out (a fresh build overflowed the compiler's
            // query depth without it).
            Route::Record => return (Box::pin(self.record(event)).await, 1),
            Route::Lookup(text) => path_phone(text).map(|p| vec![p]),
            Route::Check => parse_check(&event.body()),
        };
        let phones = match phones {
            Ok(phones) => phones,
            Err(e) => return (Answer::refused(&e), 0),
        };
        let asked = phones.len();
        let standings = match Box::pin(ask(&self.register, &phones, self.deadline)).await {
            Ok(standings) => standings,
            Err(e) => {
                // Never "not on the register" for a phone it did not answer for.
                let why = match &e {
                    AskError::Backend(e) => error_chain(e),
                    AskError::DeadlineExceeded(_) => e.to_string(),
                };
                error!(error = %why, "the register did not answer");
                return (Answer::error(503, "backend_unavailable"), asked);
            }
        };
        let body = match route {
            Route::Check => {
                json!({ "results": standings.iter().map(standing_json).collect::<Vec<_>>() })
            }
            _ => standings.first().map(standing_json).unwrap_or(Value::Null),
        };
        (Answer { status: 200, body }, asked)
    }

    /// `POST /v1/opt-outs`: on the register before the answer.
    async fn record(&self, event: &ApiEvent) -> Answer {
        let context = &event.request_context;
        let Some(principal) = context
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone())
            .filter(|arn| !arn.is_empty())
        else {
            // API Gateway's AWS_IAM authorizer always names the caller: without one, the
            // request did not come through it.
            return Answer::error(403, "no_principal");
        };
        let now = Timestamp::now();
        let body = event.body();
        let request = match parse_opt_out(&body, now) {
            Ok(request) => request,
            Err(e) => return Answer::refused(&e),
        };
        let caller = Caller {
            principal,
            source_ip: context.http.source_ip.clone().unwrap_or_default(),
            request_id: context.request_id.clone().unwrap_or_default(),
        };
        let signal = opt_out_signal(&request, &caller, &body, now);
        let recording = record_opt_out(&self.store, &signal, now);
        match tokio::time::timeout(self.deadline, recording).await {
            Ok(Ok(entry)) => Answer {
                status: 202,
                body: json!({
                    "phone": request.phone.as_str(),
                    "onRegister": true,
                    "dncAt": entry.first.signal.at.to_rfc3339(),
                    "requestState": entry.request.name(),
                }),
            },
            Ok(Err(e)) => {
                error!(error = %error_chain(&e), "an opt-out could not be recorded");
                Answer::error(503, "backend_unavailable")
            }
            Err(_elapsed) => {
                error!("an opt-out was not recorded within {:?}", self.deadline);
                Answer::error(503, "backend_unavailable")
            }
        }
    }
}
