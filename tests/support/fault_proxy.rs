//! A fault-injection proxy between an SDK client and moto: an HTTP/1.1 relay on a free
//! 127.0.0.1 port that lets each call through, or, call by call from a plan, delays it,
//! resets the connection, or answers it itself with an HTTP 500, a throttling error, a
//! validation error or any other error code, in the AWS JSON protocol DynamoDB, DynamoDB
//! Streams and SQS speak. In front of DynamoDB Streams it can also play what moto never
//! does: an empty `GetRecords` page before the records. In front of SQS it can refuse what
//! SQS refuses and moto takes: a message holding a character outside XML 1.0's set.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Passed through after this long.
    Latency(Duration),
    /// The connection is closed without an answer.
    Reset,
    /// `500 InternalServerError`.
    Http500,
    /// `400 ThrottlingException`.
    Throttle,
    /// `400 ValidationException`: the request can never succeed.
    Invalid,
    /// `400` with this error code (`ExpiredIteratorException`, `LimitExceededException`,
    /// `TrimmedDataAccessException`, ...).
    Error(&'static str),
    /// Passed through, and then answered `500 InternalServerError` as if the answer were
    /// lost: the call took effect, the caller does not know it (the SDK retries it).
    CommitThen500,
    /// A `BatchGetItem` answered `200` with none of its keys processed (all in
    /// `UnprocessedKeys`), as DynamoDB may answer one; any other call passes.
    Unprocessed,
    /// Passed through: a place in a plan.
    Pass,
}

#[derive(Default)]
struct Plan {
    /// Faults for the next calls, in order; then every call passes.
    next: VecDeque<Fault>,
    /// Every call while set.
    always: Option<Fault>,
    calls: usize,
    /// The operation of each call (`X-Amz-Target`, e.g. `DynamoDB_20120810.Query`).
    operations: Vec<String>,
    /// Answer the first `GetRecords` of each iterator with no records and the same
    /// iterator, as DynamoDB Streams may.
    empty_first_page: bool,
    iterators_seen: std::collections::HashSet<String>,
    empty_pages: usize,
    /// Refuse an SQS send as SQS does when a body or attribute holds a character it does
    /// not take.
    strict_sqs: bool,
    refused: usize,
}

/// A running proxy; dropping it does not stop it (the test process ends it).
#[derive(Clone)]
pub struct FaultProxy {
    pub endpoint: String,
    plan: Arc<Mutex<Plan>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let plan = Arc::new(Mutex::new(Plan::default()));
        let shared = plan.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(client, upstream.clone(), shared.clone()));
            }
        });
        Self { endpoint, plan }
    }

    /// The next calls meet these faults, one each.
    pub fn inject(&self, faults: &[Fault]) {
        self.plan
            .lock()
            .unwrap()
            .next
            .extend(faults.iter().copied());
    }

    /// Every call meets `fault` until [`FaultProxy::heal`].
    pub fn break_with(&self, fault: Fault) {
        self.plan.lock().unwrap().always = Some(fault);
    }

    pub fn heal(&self) {
        let mut plan = self.plan.lock().unwrap();
        plan.always = None;
        plan.next.clear();
    }

    /// Calls seen so far.
    pub fn calls(&self) -> usize {
        self.plan.lock().unwrap().calls
    }

    /// The operation of each call so far, in order (`DynamoDB_20120810.Query`, ...).
    pub fn operations(&self) -> Vec<String> {
        self.plan.lock().unwrap().operations.clone()
    }

    /// From now on, the first `GetRecords` of each iterator is answered with an empty page.
    pub fn empty_first_pages(&self) {
        self.plan.lock().unwrap().empty_first_page = true;
    }

    /// From now on, an SQS send holding a character SQS does not take is answered as SQS
    /// answers it (`400 InvalidMessageContents`), not passed to moto.
    pub fn strict_sqs(&self) {
        self.plan.lock().unwrap().strict_sqs = true;
    }

    /// Sends refused so far as SQS refuses them.
    pub fn refused(&self) -> usize {
        self.plan.lock().unwrap().refused
    }

    /// Empty pages answered so far.
    pub fn empty_pages(&self) -> usize {
        self.plan.lock().unwrap().empty_pages
    }
}

/// A request's `X-Amz-Target` header (the JSON protocols' operation), or `""`.
fn operation(request: &[u8]) -> String {
    let text = String::from_utf8_lossy(request);
    let head = text.split_once("\r\n\r\n").map_or(&*text, |(head, _)| head);
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("x-amz-target")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default()
}

/// The iterator of a `GetRecords` call, if the request is one.
fn get_records_iterator(request: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(request);
    let (head, body) = text.split_once("\r\n\r\n")?;
    if !head
        .to_ascii_lowercase()
        .contains("dynamodbstreams_20120810.getrecords")
    {
        return None;
    }
    let body: serde_json::Value = serde_json::from_str(body).ok()?;
    body["ShardIterator"].as_str().map(str::to_owned)
}

/// Does the request send SQS a message holding a character SQS does not take? (The SDK
/// speaks SQS's JSON protocol: the body's strings, once decoded, are what SQS checks.)
fn sqs_would_refuse(request: &[u8]) -> bool {
    let text = String::from_utf8_lossy(request);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let head = head.to_ascii_lowercase();
    if !head.contains("amazonsqs.sendmessage") {
        return false;
    }
    fn refused(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(text) => !text.chars().all(xml_char),
            serde_json::Value::Array(values) => values.iter().any(refused),
            serde_json::Value::Object(map) => map.values().any(refused),
            _ => false,
        }
    }
    serde_json::from_str(body).is_ok_and(|body: serde_json::Value| refused(&body))
}

/// XML 1.0's characters, as SQS's documentation lists them.
fn xml_char(c: char) -> bool {
    matches!(u32::from(c), 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

fn empty_page(iterator: &str) -> Option<Vec<u8>> {
    let body = serde_json::json!({"Records": [], "NextShardIterator": iterator}).to_string();
    Some(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

async fn serve(mut client: TcpStream, upstream: String, plan: Arc<Mutex<Plan>>) {
    loop {
        let Some(request) = read_message(&mut client).await else {
            return;
        };
        let (fault, empty) = {
            let mut plan = plan.lock().unwrap();
            plan.calls += 1;
            plan.operations.push(operation(&request));
            let mut fault = plan.next.pop_front().or(plan.always);
            if plan.strict_sqs && fault.is_none() && sqs_would_refuse(&request) {
                plan.refused += 1;
                fault = Some(Fault::Error("InvalidMessageContents"));
            }
            let empty = match get_records_iterator(&request) {
                Some(iterator) if plan.empty_first_page && fault.is_none() => {
                    let first = plan.iterators_seen.insert(iterator.clone());
                    plan.empty_pages += usize::from(first);
                    first.then_some(iterator)
                }
                _ => None,
            };
            (fault, empty)
        };
        if let Some(iterator) = empty {
            let Some(answer) = empty_page(&iterator) else {
                return;
            };
            if client.write_all(&answer).await.is_err() {
                return;
            }
            continue;
        }
        let answer = match fault {
            Some(Fault::Reset) => return,
            Some(Fault::Http500) => error_answer(500, "InternalServerError"),
            Some(Fault::CommitThen500) => match forward(&upstream, &request).await {
                Some(_taken) => error_answer(500, "InternalServerError"),
                None => return,
            },
            Some(Fault::Throttle) => error_answer(400, "ThrottlingException"),
            Some(Fault::Invalid) => error_answer(400, "ValidationException"),
            Some(Fault::Error(code)) => error_answer(400, code),
            Some(Fault::Unprocessed) => match nothing_processed(&request) {
                Some(answer) => Some(answer),
                None => forward(&upstream, &request).await,
            },
            Some(Fault::Latency(pause)) => {
                tokio::time::sleep(pause).await;
                forward(&upstream, &request).await
            }
            None | Some(Fault::Pass) => forward(&upstream, &request).await,
        };
        let Some(answer) = answer else { return };
        if client.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// The answer to a `BatchGetItem` that processed none of its keys: every table's keys
/// back in `UnprocessedKeys`. `None` for any other call.
fn nothing_processed(request: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(request);
    let (head, body) = text.split_once("\r\n\r\n")?;
    if !head
        .to_ascii_lowercase()
        .contains("dynamodb_20120810.batchgetitem")
    {
        return None;
    }
    let body: serde_json::Value = serde_json::from_str(body).ok()?;
    let asked = body.get("RequestItems")?.as_object()?;
    let responses: serde_json::Map<String, serde_json::Value> = asked
        .keys()
        .map(|table| (table.clone(), serde_json::json!([])))
        .collect();
    let answer = serde_json::json!({"Responses": responses, "UnprocessedKeys": asked}).to_string();
    Some(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        )
        .into_bytes(),
    )
}

/// One call to moto, on its own connection.
async fn forward(upstream: &str, request: &[u8]) -> Option<Vec<u8>> {
    let mut moto = TcpStream::connect(upstream).await.ok()?;
    moto.write_all(request).await.ok()?;
    read_message(&mut moto).await
}

fn error_answer(status: u16, code: &str) -> Option<Vec<u8>> {
    let body =
        format!(r#"{{"__type":"com.amazonaws.injected#{code}","message":"injected fault"}}"#);
    let reason = if status == 500 {
        "Internal Server Error"
    } else {
        "Bad Request"
    };
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-query-error: {code};Sender\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// Reads one HTTP/1.1 message (headers, then a `content-length` or chunked body).
async fn read_message(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let header_end = loop {
        if let Some(i) = find(&data, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..header_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    if let Some(length) = length {
        while data.len() < header_end + length {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            data.extend_from_slice(&buf[..n]);
        }
        return Some(data);
    }
    if head.contains("transfer-encoding: chunked") {
        while find(&data[header_end..], b"0\r\n\r\n").is_none() {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            data.extend_from_slice(&buf[..n]);
        }
    }
    Some(data)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
