//! Faults in AWS: a retryable answer, and nothing lost.

mod support;

use std::sync::Mutex;

use call_events::domain::{CallEvent, CampaignId, Phone};
use call_events::dynamo::DynamoLeadStore;
use call_events::lead::LeadState;
use call_events::messages::QueueMessage;
use call_events::ports::{BackendError, LeadStore, SaveError, StoredLead};
use call_events::service::{CallEvents, Recorded};
use call_events::sqs::SqsPublisher;
use serde_json::json;
use support::aws::{
    CLOSED_ENDPOINT, LOCAL_SECRET, TestAws, body_json, deliver, n, resign, s, sample, signed,
};
use support::body;

const CAMPAIGN: &str = "spring-campaign";
const LEAD_C: &str = "+12025550103";

fn outbox_len(item: &support::aws::Item) -> usize {
    item.get("outbox")
        .and_then(|v| v.as_m().ok())
        .map_or(0, |m| m.len())
}

#[tokio::test]
async fn sqs_down_answers_503_keeps_the_dnc_request_and_redelivery_sends_it_once() {
    let aws = TestAws::new().await;
    let sqs_down = aws.handler_with_endpoints(None, Some(CLOSED_ENDPOINT));
    let key9 = resign(sample("09-call-key-pressed-9.json"), LOCAL_SECRET);
    let (status, answer) = deliver(&sqs_down, &key9).await;
    assert_eq!(
        (status, answer),
        (503, json!({"error": "backend_unavailable"}))
    );
    let item = aws.item(LEAD_C, CAMPAIGN).await.unwrap();
    assert_eq!(item.get("dnc").and_then(|v| v.as_bool().ok()), Some(&true));
    assert_eq!(outbox_len(&item), 1, "the DNC request waits in the outbox");
    assert!(aws.drain(&aws.resources.queues.dnc).await.is_empty());

    let healthy = aws.handler().await;
    let (status, answer) = deliver(
        &healthy,
        &resign(sample("09-call-key-pressed-9.json"), LOCAL_SECRET),
    )
    .await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("duplicate"))
    );
    let dnc = aws.drain(&aws.resources.queues.dnc).await;
    assert_eq!(dnc.len(), 1);
    assert_eq!(body_json(&dnc[0])["reason"], "keypress_9");
    assert_eq!(outbox_len(&aws.item(LEAD_C, CAMPAIGN).await.unwrap()), 0);

    let (status, _) = deliver(
        &healthy,
        &resign(sample("09-call-key-pressed-9.json"), LOCAL_SECRET),
    )
    .await;
    assert_eq!(status, 200);
    assert!(aws.drain(&aws.resources.queues.dnc).await.is_empty());
}

#[tokio::test]
async fn sqs_down_then_a_later_event_of_the_lead_sends_the_pending_dnc_request_once() {
    let aws = TestAws::new().await;
    let sqs_down = aws.handler_with_endpoints(None, Some(CLOSED_ENDPOINT));
    let (status, _) = deliver(
        &sqs_down,
        &resign(sample("09-call-key-pressed-9.json"), LOCAL_SECRET),
    )
    .await;
    assert_eq!(status, 503);

    let healthy = aws.handler().await;
    let (status, answer) = deliver(
        &healthy,
        &resign(sample("10-call-ended-dnc.json"), LOCAL_SECRET),
    )
    .await;
    assert_eq!(
        (status, answer["status"].clone(), answer["effects"].clone()),
        (200, json!("processed"), json!([]))
    );
    let dnc = aws.drain(&aws.resources.queues.dnc).await;
    assert_eq!(dnc.len(), 1);
    assert_eq!(body_json(&dnc[0])["reason"], "keypress_9");
    let item = aws.item(LEAD_C, CAMPAIGN).await.unwrap();
    assert_eq!(outbox_len(&item), 0);
    assert_eq!(n(&item, "callsEnded"), Some(1));
}

#[tokio::test]
async fn sqs_down_keeps_the_callback_for_the_next_delivery() {
    let aws = TestAws::new().await;
    let sqs_down = aws.handler_with_endpoints(None, Some(CLOSED_ENDPOINT));
    assert_eq!(
        deliver(
            &sqs_down,
            &resign(sample("07-call-scheduled.json"), LOCAL_SECRET)
        )
        .await
        .0,
        503
    );
    let healthy = aws.handler().await;
    assert_eq!(
        deliver(
            &healthy,
            &resign(sample("07-call-scheduled.json"), LOCAL_SECRET)
        )
        .await
        .0,
        200
    );
    assert_eq!(aws.drain(&aws.resources.queues.callback).await.len(), 1);
}

#[tokio::test]
async fn dynamodb_down_answers_503_and_sends_nothing() {
    let aws = TestAws::new().await;
    let dynamo_down = aws.handler_with_endpoints(Some(CLOSED_ENDPOINT), None);
    for sample_name in ["07-call-scheduled.json", "09-call-key-pressed-9.json"] {
        let (status, answer) =
            deliver(&dynamo_down, &resign(sample(sample_name), LOCAL_SECRET)).await;
        assert_eq!(
            (status, answer),
            (503, json!({"error": "backend_unavailable"}))
        );
    }
    assert!(aws.drain_all_queues().await.iter().all(Vec::is_empty));
}

#[tokio::test]
async fn quarantine_queue_down_answers_503_rather_than_dropping_the_body() {
    let aws = TestAws::new().await;
    let sqs_down = aws.handler_with_endpoints(None, Some(CLOSED_ENDPOINT));
    let (status, answer) = deliver(
        &sqs_down,
        &resign(sample("21-malformed-json.json"), LOCAL_SECRET),
    )
    .await;
    assert_eq!(
        (status, answer),
        (503, json!({"error": "backend_unavailable"}))
    );
}

#[tokio::test]
async fn concurrent_deliveries_of_different_events_for_one_lead_both_land() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let phone = "+12025550166";
    let events: Vec<_> = (0..6)
        .map(|i| {
            signed(&body(
                "lead.call_initiated",
                CAMPAIGN,
                &format!("2024-01-28T12:0{i}:00Z"),
                phone,
                r#""isScheduled":false"#,
            ))
        })
        .collect();
    let answers = futures::future::join_all(events.iter().map(|e| deliver(&handler, e))).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    let item = aws.item(phone, CAMPAIGN).await.unwrap();
    assert_eq!(n(&item, "callsInitiated"), Some(6));
    assert_eq!(
        s(&item, "lastEventTime").as_deref(),
        Some("2024-01-28T12:05:00.000Z")
    );
}

/// A store whose first read is overtaken: between reading the lead and writing it back,
/// another delivery for the same lead lands. The write must then conflict and be redone.
struct OvertakenStore {
    inner: DynamoLeadStore,
    rival: Mutex<Option<(CallEvents<DynamoLeadStore, SqsPublisher>, CallEvent)>>,
}

impl LeadStore for OvertakenStore {
    async fn load(
        &self,
        campaign_id: &CampaignId,
        phone: &Phone,
    ) -> Result<Option<StoredLead>, BackendError> {
        let snapshot = self.inner.load(campaign_id, phone).await?;
        let rival = self.rival.lock().unwrap().take();
        if let Some((events, event)) = rival {
            let recorded = events.record(&event).await.unwrap();
            assert!(matches!(recorded, Recorded::Processed { .. }));
        }
        Ok(snapshot)
    }

    async fn save(
        &self,
        state: &LeadState,
        outbox: &[QueueMessage],
        expected_version: Option<u64>,
    ) -> Result<(), SaveError> {
        self.inner.save(state, outbox, expected_version).await
    }

    async fn mark_sent(
        &self,
        campaign_id: &CampaignId,
        phone: &Phone,
        ids: &[&str],
    ) -> Result<(), BackendError> {
        self.inner.mark_sent(campaign_id, phone, ids).await
    }
}

#[tokio::test]
async fn a_write_that_lost_a_race_is_redone_and_both_events_land() {
    let aws = TestAws::new().await;
    let phone = "+12025550155";
    let store = || DynamoLeadStore::new(aws.dynamodb.clone(), &aws.resources.table_name);
    let publisher = || SqsPublisher::new(aws.sqs.clone(), aws.resources.queues.clone());
    let event = |body: String| support::parse_call(&body);
    let first = event(body(
        "lead.call_initiated",
        CAMPAIGN,
        "2024-01-28T12:00:00Z",
        phone,
        r#""isScheduled":false"#,
    ));
    let rival = event(body(
        "lead.call_key_pressed",
        CAMPAIGN,
        "2024-01-28T12:01:00Z",
        phone,
        r#""callType":"inbound","keypressNumber":"9""#,
    ));
    let rival_events = CallEvents::new(store(), publisher());
    let overtaken = CallEvents::new(
        OvertakenStore {
            inner: store(),
            rival: Mutex::new(Some((rival_events, rival))),
        },
        publisher(),
    );
    let recorded = overtaken.record(&first).await.unwrap();
    assert!(matches!(recorded, Recorded::Processed { .. }));
    let item = aws.item(phone, CAMPAIGN).await.unwrap();
    assert_eq!(
        (n(&item, "callsInitiated"), n(&item, "keypresses")),
        (Some(1), Some(1))
    );
    assert_eq!(s(&item, "status").as_deref(), Some("dnc"));
    assert_eq!(aws.drain(&aws.resources.queues.dnc).await.len(), 1);
}
