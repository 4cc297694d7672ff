//! Every alarm of `template.yaml` fires in the scenario its description names, and stays
//! quiet in normal traffic with unsigned noise (docs/contract.md §7). Each alarm's
//! definition is evaluated as CloudWatch would (`support::alarms`) over the EMF lines the
//! webhook and the relay print while the scenario plays on the in-memory adapters; AWS's
//! own metrics (Lambda errors, API Gateway 5xx, queue depths) are what AWS publishes in the
//! scenario. docs/operating.md, has the table of scenarios.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use call_events::adapters::memory::{MemoryStreamShards, StreamPlan};
use call_events::adapters::{MemoryDncRegister, MemoryLeadStore, MemoryPublisher};
use call_events::core::domain::Timestamp;
use call_events::core::signature::{Secret, Verifier, sign_v2};
use call_events::entrypoints::http::WebhookHandler;
use call_events::telemetry::{RelayRun, relay_log_line_of};
use call_events::usecases::record::CallEventRecorder;
use call_events::usecases::redrive::redrive;
use call_events::usecases::relay::{BatchReport, RedriveReport, Relay, RelayCounts, SweepReport};
use serde_json::Value;
use support::alarms::{Metrics, State, evaluate};
use support::aws::{LOCAL_SECRET, request, sample};
use support::template::{template, text};

/// The scenarios' "now": a whole minute.
const NOW: i64 = 1_800_000_000_000;
const MINUTE: i64 = 60_000;

/// A moment in the minute that ended `minutes_ago` minutes before NOW.
fn at(minutes_ago: i64) -> i64 {
    NOW - (minutes_ago + 1) * MINUTE + 1_000
}

type Webhook = WebhookHandler<MemoryLeadStore>;

fn webhook(store: &MemoryLeadStore, secret: &str) -> Webhook {
    WebhookHandler::new(
        Verifier::new(vec![Secret::new(secret).unwrap()], 300),
        CallEventRecorder::new(store.clone()),
    )
}

/// A signed call event, distinct for each `n`.
fn event(n: usize) -> Value {
    let mut event = sample("02-call-received.json");
    let body = support::body(
        "lead.call_received",
        "alarms",
        &format!("2024-01-28T12:{:02}:{:02}Z", (n / 60) % 60, n % 60),
        &format!("+1202555{:04}", n % 10_000),
        "",
    );
    let header = sign_v2(
        &Secret::new(LOCAL_SECRET).unwrap(),
        chrono::Utc::now().timestamp_millis(),
        body.as_bytes(),
    );
    event["body"] = Value::from(body);
    event["isBase64Encoded"] = Value::from(false);
    support::aws::set_signature(&mut event, &header);
    event
}

/// What a scanner sends: no signature at all.
fn unsigned(n: usize) -> Value {
    let mut event = event(n);
    event["headers"]
        .as_object_mut()
        .unwrap()
        .remove("aktify-signature");
    event
}

/// One version of the webhook as deployed: its handler, the logical version it runs as.
struct Version {
    handler: Webhook,
    version: Option<&'static str>,
}

/// The traffic of a minute, spread over the versions by weight as a canary's alias does
/// (every tenth request to the second version, if there is one).
async fn minute(metrics: &mut Metrics, versions: &[Version], minutes_ago: i64, events: &[Value]) {
    for (i, event) in events.iter().enumerate() {
        let version = match versions.len() {
            2 if i % 10 == 9 => &versions[1],
            _ => &versions[0],
        };
        let (response, report) = version.handler.respond(&request(event)).await;
        let line = report.to_log_line(at(minutes_ago));
        metrics.emf(&line, "WebhookFunction", version.version);
        if response.status().as_u16() >= 500 {
            let dims = [("ApiId", "WebhookApi"), ("Stage", "$default")];
            metrics.aws(at(minutes_ago), "AWS/ApiGateway", "5xx", &dims, 1.0);
        }
    }
}

/// Normal traffic during a canary (every tenth request to the new version), played once.
async fn normal_traffic() -> Metrics {
    static NORMAL: tokio::sync::OnceCell<Metrics> = tokio::sync::OnceCell::const_new();
    NORMAL
        .get_or_init(|| async {
            let mut metrics = Metrics::default();
            let versions = canary(webhook(&MemoryLeadStore::new(), LOCAL_SECRET));
            normal(&mut metrics, &versions).await;
            metrics
        })
        .await
        .clone()
}

/// Normal traffic: the platform's events, two a minute for seven hours, and thirty unsigned
/// requests a minute in the last hour; the relay's lines of each minute, a sweep a minute.
async fn normal(metrics: &mut Metrics, versions: &[Version]) {
    let mut n = 0;
    for minutes_ago in (0..7 * 60).rev() {
        let mut events = vec![event(n), event(n + 1)];
        n += 2;
        if minutes_ago < 60 {
            events.extend((0..30).map(unsigned));
        }
        minute(metrics, versions, minutes_ago, &events).await;
        let batch = RelayRun::Batch(BatchReport {
            counts: RelayCounts {
                callbacks_sent: 1,
                ..RelayCounts::default()
            },
            retry_from: None,
        });
        relay_line(metrics, &batch, None, minutes_ago);
        relay_line(metrics, &idle_sweep(), None, minutes_ago);
        for (alarm, value) in HEALTHY {
            aws_fault(metrics, alarm, *value, 1, minutes_ago);
        }
    }
}

/// What AWS publishes every minute of a healthy stack, by the alarm that watches it: the
/// relay close behind the stream, nothing waiting on any queue.
const HEALTHY: &[(&str, f64)] = &[
    ("RelayIteratorAgeAlarm", 800.0),
    ("QuarantineAlarm", 0.0),
    ("CallbackDeadLetterAlarm", 0.0),
    ("DncDeadLetterAlarm", 0.0),
    ("RelayFailureQueueAlarm", 0.0),
    ("RelayFailureDeadLetterAlarm", 0.0),
    ("RelayThrottlesAlarm", 0.0),
    ("RelayDestinationFailuresAlarm", 0.0),
];

/// An alarm, and the metric AWS publishes for it: namespace, name, dimensions.
type AwsMetric = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// What AWS publishes in each scenario of an alarm on an AWS metric, as AWS documents it
/// (namespace, metric name, dimensions), not as the alarm under test names it: an alarm on a
/// misspelt metric or dimension then never fires, and its scenario fails. Dimension values
/// are the resources, written as the tests read the template (`!Ref X` is `X`, `!GetAtt
/// X.QueueName` is `X.QueueName`).
/// - Lambda (docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html): `Errors`,
///   `Throttles`, `IteratorAge`, `DestinationDeliveryFailures`, by `FunctionName` (and, for
///   a version, `Resource` and `ExecutedVersion`);
/// - SQS (AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html):
///   `ApproximateNumberOfMessagesVisible`, `ApproximateAgeOfOldestMessage`, by `QueueName`.
const AWS_METRICS: &[AwsMetric] = &[
    (
        "FunctionErrorsAlarm",
        "AWS/Lambda",
        "Errors",
        &[("FunctionName", "WebhookFunction")],
    ),
    (
        "WebhookCanaryErrorsAlarm",
        "AWS/Lambda",
        "Errors",
        &[
            ("FunctionName", "WebhookFunction"),
            ("Resource", "${WebhookFunction}:live"),
            ("ExecutedVersion", "WebhookFunction.Version.Version"),
        ],
    ),
    (
        "RelayErrorsAlarm",
        "AWS/Lambda",
        "Errors",
        &[("FunctionName", "RelayFunction")],
    ),
    (
        "RelayThrottlesAlarm",
        "AWS/Lambda",
        "Throttles",
        &[("FunctionName", "RelayFunction")],
    ),
    (
        "RelayDestinationFailuresAlarm",
        "AWS/Lambda",
        "DestinationDeliveryFailures",
        &[("FunctionName", "RelayFunction")],
    ),
    (
        "RelayIteratorAgeAlarm",
        "AWS/Lambda",
        "IteratorAge",
        &[("FunctionName", "RelayFunction")],
    ),
    (
        "QuarantineAlarm",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        &[("QueueName", "QuarantineQueue.QueueName")],
    ),
    (
        "CallbackDeadLetterAlarm",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        &[("QueueName", "CallbackDeadLetterQueue.QueueName")],
    ),
    (
        "DncDeadLetterAlarm",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        &[("QueueName", "DncDeadLetterQueue.QueueName")],
    ),
    (
        "RelayFailureDeadLetterAlarm",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        &[("QueueName", "RelayFailureDeadLetterQueue.QueueName")],
    ),
    (
        "RelayFailureQueueAlarm",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        &[("QueueName", "RelayFailureQueue.QueueName")],
    ),
    // The template's metric filter over API Gateway's access log: a 429 it logged.
    (
        "ThrottledBurstAlarm",
        "CallEventsReceiver",
        "Throttled",
        &[],
    ),
];

/// AWS publishes `value` for the metric `alarm` watches ([`AWS_METRICS`]) in each of the
/// `minutes` up to `until` minutes ago.
fn aws_fault(metrics: &mut Metrics, alarm: &str, value: f64, minutes: i64, until: i64) {
    let Some((_, namespace, name, dims)) = AWS_METRICS.iter().find(|(a, ..)| *a == alarm) else {
        panic!("{alarm}: what AWS publishes for it is not in AWS_METRICS");
    };
    for minutes_ago in until..until + minutes {
        metrics.aws(at(minutes_ago), namespace, name, dims, value);
    }
}

/// A register entry of an imported list whose request the import owes since `since`.
fn imported_entry(
    phone: &call_events::core::domain::Phone,
    since: Timestamp,
) -> call_events::core::register::RegisterEntry {
    use call_events::core::import::{ImportRun, imported_signal};
    let run = ImportRun {
        source: "crm".into(),
        file_sha256: "00".repeat(32),
        imported_at: since,
    };
    let signal = imported_signal(&run, phone.clone(), None, 1, phone.as_str().to_owned());
    let (_, entry) = call_events::core::import::take(None, &signal, since, true);
    entry
}

/// A sweep that found nothing pending.
fn idle_sweep() -> RelayRun {
    RelayRun::Sweep(SweepReport {
        oldest_pending_seconds: Some(0),
        ..SweepReport::default()
    })
}

fn relay_line(metrics: &mut Metrics, run: &RelayRun, error: Option<&str>, minutes_ago: i64) {
    let line = relay_log_line_of(run, error, Duration::ZERO, at(minutes_ago));
    metrics.emf(&line, "RelayFunction", None);
}

/// `template.yaml`, read once.
fn the_template() -> &'static serde_yaml_ng::Value {
    static TEMPLATE: std::sync::OnceLock<serde_yaml_ng::Value> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(template)
}

/// Every alarm's state over `metrics` at NOW.
fn states(metrics: &Metrics) -> Vec<(String, State)> {
    let template = the_template();
    let mut states = Vec::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if text(&resource["Type"]) == "AWS::CloudWatch::Alarm" {
            let name = text(name);
            states.push((name.clone(), evaluate(template, &name, metrics, NOW)));
        }
    }
    states
}

/// A canary: the running version, and the new one taking every tenth request.
fn canary(new: Webhook) -> Vec<Version> {
    vec![
        Version {
            handler: webhook(&MemoryLeadStore::new(), LOCAL_SECRET),
            version: None,
        },
        Version {
            handler: new,
            version: Some("WebhookFunction.Version.Version"),
        },
    ]
}

/// A webhook whose lead item became unreadable, and an event of that lead: it can never be
/// stored.
async fn a_lead_that_cannot_be_stored() -> (Webhook, Value) {
    let store = MemoryLeadStore::new();
    let first = event(92_000);
    webhook(&store, LOCAL_SECRET)
        .respond(&request(&first))
        .await;
    for mut item in store.items() {
        let damaged = aws_sdk_dynamodb::types::AttributeValue::S("x".into());
        item.insert("version".into(), damaged);
        store.put_raw(item);
    }
    let mut again = first;
    let body = again["body"]
        .as_str()
        .unwrap()
        .replace("12:33:20", "12:33:21");
    let secret = Secret::new(LOCAL_SECRET).unwrap();
    let header = sign_v2(
        &secret,
        chrono::Utc::now().timestamp_millis(),
        body.as_bytes(),
    );
    again["body"] = Value::from(body);
    support::aws::set_signature(&mut again, &header);
    (webhook(&store, LOCAL_SECRET), again)
}

/// The alarms in ALARM.
fn firing(metrics: &Metrics) -> BTreeSet<String> {
    states(metrics)
        .into_iter()
        .filter(|(_, state)| *state == State::Alarm)
        .map(|(name, _)| name)
        .collect()
}

#[tokio::test]
async fn normal_traffic_with_unsigned_noise_fires_no_alarm_even_during_a_canary() {
    let mut metrics = Metrics::default();
    normal(
        &mut metrics,
        &canary(webhook(&MemoryLeadStore::new(), LOCAL_SECRET)),
    )
    .await;
    assert_eq!(firing(&metrics), BTreeSet::new());
    // Heavier noise, 300 unsigned requests a minute for ten minutes: still nothing.
    let versions = canary(webhook(&MemoryLeadStore::new(), LOCAL_SECRET));
    for minutes_ago in 0..10 {
        let noise: Vec<Value> = (0..300).map(unsigned).collect();
        minute(&mut metrics, &versions, minutes_ago, &noise).await;
    }
    assert_eq!(firing(&metrics), BTreeSet::new());
}

/// Normal traffic, then the scenario: exactly `expected` fires.
async fn fires(scenario: &str, expected: &[&str], metrics: &Metrics) {
    let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(firing(metrics), expected, "{scenario}");
}

#[tokio::test]
async fn each_webhook_alarm_fires_in_its_scenario() {
    // DynamoDB down for two minutes: 503s, counted by the function and by API Gateway.
    let mut m = normal_traffic().await;
    let store = MemoryLeadStore::new();
    store.fail_next_writes(usize::MAX);
    let down = vec![Version {
        handler: webhook(&store, LOCAL_SECRET),
        version: None,
    }];
    for minutes_ago in 0..2 {
        let events: Vec<Value> = (0..5)
            .map(|i| event(90_000 + minutes_ago as usize * 10 + i))
            .collect();
        minute(&mut m, &down, minutes_ago, &events).await;
    }
    fires("DynamoDB down", &["Api5xxAlarm"], &m).await;

    // The platform's secret differs from ours: every delivery is a wrong signature.
    let mut m = normal_traffic().await;
    let wrong = vec![Version {
        handler: webhook(
            &MemoryLeadStore::new(),
            "a-secret-the-platform-does-not-use",
        ),
        version: None,
    }];
    for minutes_ago in 0..5 {
        let events: Vec<Value> = (0..5)
            .map(|i| event(91_000 + minutes_ago as usize * 10 + i))
            .collect();
        minute(&mut m, &wrong, minutes_ago, &events).await;
    }
    fires("secrets differ", &["UnauthorizedBurstAlarm"], &m).await;

    // An event that can never be stored (its lead's item is unreadable).
    let mut m = normal_traffic().await;
    let (broken, again) = a_lead_that_cannot_be_stored().await;
    let versions = vec![Version {
        handler: broken,
        version: None,
    }];
    minute(&mut m, &versions, 0, &[again]).await;
    fires("an unreadable lead item", &["PermanentFailuresAlarm"], &m).await;

    // The platform stops sending for the configured hours: nothing processed.
    let mut m = Metrics::default();
    for minutes_ago in 0..7 * 60 {
        relay_line(&mut m, &idle_sweep(), None, minutes_ago);
    }
    fires(
        "the platform stopped sending",
        &["NoProcessedEventAlarm"],
        &m,
    )
    .await;

    // AWS's own: the function crashes; API Gateway throttles.
    for (alarm, value) in [("FunctionErrorsAlarm", 1.0), ("ThrottledBurstAlarm", 30.0)] {
        let mut m = normal_traffic().await;
        aws_fault(&mut m, alarm, value, 5, 0);
        fires(alarm, &[alarm], &m).await;
    }
}

#[tokio::test]
async fn a_body_kept_cut_fires_its_alarm() {
    let mut m = normal_traffic().await;
    // A signature header so large that the quarantine item cannot hold it with the body.
    let body: Vec<u8> = vec![0xe9; 200 * 1024];
    let secret = Secret::new(LOCAL_SECRET).unwrap();
    let header = format!(
        "{},pad={}",
        sign_v2(&secret, chrono::Utc::now().timestamp_millis(), &body),
        "p".repeat(150 * 1024)
    );
    let mut event = support::aws::signed_bytes(&body);
    support::aws::set_signature(&mut event, &header);
    let handler = webhook(&MemoryLeadStore::new(), LOCAL_SECRET);
    let (response, report) = handler.respond(&request(&event)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(report.body_cut);
    m.emf(&report.to_log_line(at(0)), "WebhookFunction", None);
    fires("a body kept cut", &["BodiesCutAlarm"], &m).await;
}

#[tokio::test]
async fn each_canary_gate_fires_on_what_the_new_version_does_wrong() {
    // A new version that refuses the platform's signatures, under heavy traffic (the gate
    // needs 20 requests a minute to the new version).
    let mut m = normal_traffic().await;
    let versions = canary(webhook(
        &MemoryLeadStore::new(),
        "the-new-version-reads-a-wrong-secret",
    ));
    for minutes_ago in 0..2 {
        let mut events: Vec<Value> = (0..300)
            .map(|i| event(100_000 + minutes_ago as usize * 1000 + i))
            .collect();
        events.extend((0..100).map(unsigned));
        minute(&mut m, &versions, minutes_ago, &events).await;
    }
    let gates = [
        "WebhookCanaryUnauthorizedAlarm",
        // The new version's refusals are wrong signatures: the burst pages too.
        "UnauthorizedBurstAlarm",
    ];
    fires(
        "the new version refuses the platform's signatures",
        &gates,
        &m,
    )
    .await;

    // A new version whose writes fail: its 503s.
    let mut m = normal_traffic().await;
    let store = MemoryLeadStore::new();
    store.fail_next_writes(usize::MAX);
    let versions = canary(webhook(&store, LOCAL_SECRET));
    let events: Vec<Value> = (0..40).map(|i| event(110_000 + i)).collect();
    minute(&mut m, &versions, 0, &events).await;
    let gates = ["WebhookCanaryBackendErrorsAlarm", "Api5xxAlarm"];
    fires("the new version's writes fail", &gates, &m).await;

    // A new version that cannot store what it parses.
    let mut m = normal_traffic().await;
    let (broken, again) = a_lead_that_cannot_be_stored().await;
    let versions = vec![Version {
        handler: broken,
        version: Some("WebhookFunction.Version.Version"),
    }];
    minute(&mut m, &versions, 0, &[again]).await;
    let gates = [
        "WebhookCanaryPermanentFailuresAlarm",
        "PermanentFailuresAlarm",
    ];
    fires("the new version cannot store events", &gates, &m).await;

    // A new version that crashes: Lambda counts its errors.
    let mut m = normal_traffic().await;
    aws_fault(&mut m, "WebhookCanaryErrorsAlarm", 1.0, 1, 0);
    fires("the new version crashes", &["WebhookCanaryErrorsAlarm"], &m).await;
}

#[tokio::test]
async fn each_relay_alarm_fires_in_its_scenario() {
    // SQS down: the relay's sends fail; the sweep finds the DNC request waiting longer and
    // longer (its own clock runs with the scenario's).
    let mut m = normal_traffic().await;
    let store = MemoryLeadStore::new();
    let key_9 = support::parse_call(&support::body(
        "lead.call_key_pressed",
        "alarms",
        "2024-01-28T12:00:00Z",
        "+12025559999",
        r#""callType":"inbound","keypressNumber":"9""#,
    ));
    let evidence = call_events::core::register::evidence_of_request(Some("t=1,v2=00"), b"{}");
    CallEventRecorder::new(store.clone())
        .record(&key_9, &evidence)
        .await
        .unwrap();
    let publisher = MemoryPublisher::new();
    publisher.set_down(true);
    let relay = Relay::new(
        publisher.clone(),
        MemoryDncRegister::new(),
        MemoryLeadStore::new(),
    );
    let report = relay
        .relay(&support::changes(&store), support::budget())
        .await;
    assert!(report.retry_from.is_some());
    relay_line(&mut m, &RelayRun::Batch(report), None, 0);
    let start = Timestamp::now().to_unix_parts().0;
    for minutes_ago in (0..10).rev() {
        let now = Timestamp::from_unix_parts(start + (10 - minutes_ago) * 60, 0).unwrap();
        let swept = relay.sweep(now, support::budget()).await;
        let stopped = swept.stopped.as_ref().map(ToString::to_string);
        let stopped = stopped.as_deref();
        relay_line(
            &mut m,
            &RelayRun::Sweep(swept.report.clone()),
            stopped,
            minutes_ago,
        );
    }
    fires(
        "SQS down for 10 minutes",
        &["RelaySendFailuresAlarm", "DncRequestsPendingAlarm"],
        &m,
    )
    .await;

    // SQS refuses a callback and the DNC request for good: parked, refused.
    let mut m = normal_traffic().await;
    let publisher = MemoryPublisher::new();
    publisher.refuse_next_sends_for_good(1);
    let relay = Relay::new(publisher, MemoryDncRegister::new(), MemoryLeadStore::new());
    let report = relay
        .relay(&support::changes(&store), support::budget())
        .await;
    assert_eq!((report.counts.parked, report.counts.dnc_refused), (1, 1));
    relay_line(&mut m, &RelayRun::Batch(report), None, 0);
    fires(
        "SQS refuses a DNC request for good",
        &["RelayParkedAlarm", "DncRequestsRefusedAlarm"],
        &m,
    )
    .await;

    // SQS refuses the request for good, the quarantine queue too, and the lead table fails
    // the write that would keep it: not an SQS failure, and not SendFailures.
    let mut m = normal_traffic().await;
    let publisher = MemoryPublisher::new();
    publisher.refuse_next_sends_for_good(1);
    publisher.refuse_quarantine_for_good(true);
    let lot = MemoryLeadStore::new();
    lot.fail_next_writes(1);
    let relay = Relay::new(publisher, MemoryDncRegister::new(), lot);
    let report = relay
        .relay(&support::changes(&store), support::budget())
        .await;
    assert_eq!(
        (report.counts.park_failures, report.counts.send_failures),
        (1, 0)
    );
    assert!(report.retry_from.is_some());
    relay_line(&mut m, &RelayRun::Batch(report), None, 0);
    fires(
        "the lead table fails a park",
        &["RelayParkFailuresAlarm"],
        &m,
    )
    .await;

    // A list imported with --request 6 days ago, its requests never sent (SQS refusing
    // them for days): the import's own alarm, not the platform's 5-minute one.
    let mut m = normal_traffic().await;
    let register = MemoryDncRegister::new();
    let six_days_ago = Timestamp::now().minus(Duration::from_secs(6 * 86_400));
    let phone = call_events::core::domain::Phone::parse("+12025550870").unwrap();
    let entry = imported_entry(&phone, six_days_ago);
    use call_events::ports::DncRegisterStore;
    register.save(&phone, &entry, None).await.unwrap();
    let publisher = MemoryPublisher::new();
    publisher.set_down(true);
    let relay = Relay::new(publisher, register, MemoryLeadStore::new());
    let swept = relay.sweep(Timestamp::now(), support::budget()).await;
    assert!(swept.report.oldest_imported_seconds.unwrap() >= 6 * 86_400);
    let stopped = swept.stopped.as_ref().map(ToString::to_string);
    relay_line(
        &mut m,
        &RelayRun::Sweep(swept.report.clone()),
        stopped.as_deref(),
        0,
    );
    fires(
        "an import's requests not sent for 6 days",
        &["ImportedRequestsDueAlarm", "RelaySendFailuresAlarm"],
        &m,
    )
    .await;

    // A given-up batch the stream no longer holds.
    let mut m = normal_traffic().await;
    let shards = MemoryStreamShards::new(
        store.clone(),
        StreamPlan {
            trimmed_through: Some("9".repeat(21)),
            ..StreamPlan::default()
        },
    );
    let lot = MemoryLeadStore::new();
    let relay = Relay::new(MemoryPublisher::new(), MemoryDncRegister::new(), lot);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let outcome = redrive(&shards, &relay, &shards.batch(0, 0), None, deadline).await;
    assert_eq!(outcome, call_events::usecases::redrive::Redriven::Gap);
    let report = RelayRun::Redrive(RedriveReport {
        gaps: 1,
        ..RedriveReport::default()
    });
    relay_line(&mut m, &report, None, 0);
    fires(
        "a batch the stream no longer holds",
        &["StreamGapsAlarm"],
        &m,
    )
    .await;

    // The sweep stops running: no sweep line for the last five minutes.
    let mut quiet = Metrics::default();
    for minutes_ago in (5..60).rev() {
        relay_line(&mut quiet, &idle_sweep(), None, minutes_ago);
    }
    assert_eq!(
        evaluate(&template(), "SweepHeartbeatAlarm", &quiet, NOW),
        State::Alarm
    );
    assert_eq!(
        evaluate(&template(), "SweepHeartbeatAlarm", &quiet, NOW - 5 * MINUTE),
        State::Ok,
        "while it ran"
    );

    // AWS's own: the relay falls behind, crashes, is throttled; Lambda cannot write a
    // given-up batch to the bucket; a batch waits or is dead-lettered; a consumer fails a
    // message five times; something waits on the quarantine queue.
    for (alarm, value) in [
        ("RelayIteratorAgeAlarm", 600_000.0),
        ("RelayErrorsAlarm", 1.0),
        ("RelayThrottlesAlarm", 3.0),
        ("RelayDestinationFailuresAlarm", 1.0),
        ("RelayFailureQueueAlarm", 1_000.0),
        ("RelayFailureDeadLetterAlarm", 1.0),
        ("CallbackDeadLetterAlarm", 1.0),
        ("DncDeadLetterAlarm", 1.0),
        ("QuarantineAlarm", 1.0),
    ] {
        let mut m = normal_traffic().await;
        aws_fault(&mut m, alarm, value, 20, 0);
        fires(alarm, &[alarm], &m).await;
    }
}

/// Every alarm of the template has a scenario in this file that fires it.
#[test]
fn every_alarm_has_a_scenario_here() {
    let me = std::fs::read_to_string(file!()).unwrap();
    for (name, resource) in template()["Resources"].as_mapping().unwrap() {
        if text(&resource["Type"]) == "AWS::CloudWatch::Alarm" {
            let name = text(name);
            assert!(
                me.contains(&format!("\"{name}\"")),
                "{name} has no scenario"
            );
        }
    }
}
