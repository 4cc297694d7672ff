//! Properties of the consumer over a simulated FIFO queue: whatever the batch sizes, the
//! interleaving of groups, the failures (each message's action fails its first few times)
//! and the copies SQS delivers again, every message is acted on exactly once, and each
//! phone's messages in the order they were sent.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use aws_lambda_events::event::sqs::SqsEvent;
use call_events_messages::ids::callback_id;
use call_events_messages::{CallbackScheduled, DncRequested};
use example_consumer::memory::{MemoryIdempotency, MemoryRegister};
use example_consumer::{ActionError, Actions, Consumer};
use proptest::prelude::*;
use serde_json::json;

/// Fails each id's action its first `n` times; records the rest.
#[derive(Default)]
struct Flaky {
    failures_left: Mutex<HashMap<String, u32>>,
    acted: Mutex<Vec<String>>,
}

impl Flaky {
    fn act(&self, id: &str) -> Result<(), ActionError> {
        let mut left = self.failures_left.lock().unwrap();
        if let Some(n) = left.get_mut(id).filter(|n| **n > 0) {
            *n -= 1;
            return Err(ActionError("flaky".into()));
        }
        self.acted.lock().unwrap().push(id.to_owned());
        Ok(())
    }
}

impl Actions for Flaky {
    async fn schedule_callback(&self, c: &CallbackScheduled) -> Result<(), ActionError> {
        self.act(&c.id)
    }
    async fn stop_calling(&self, d: &DncRequested) -> Result<(), ActionError> {
        self.act(&d.id)
    }
}

#[derive(Debug, Clone)]
struct Sent {
    group: usize,
    n: u32,
}

fn phone(group: usize) -> String {
    format!("+1202555{group:04}")
}

fn body(sent: &Sent) -> String {
    let event_id = format!("evt_{:032x}", sent.n);
    json!({
        "schemaVersion": 1, "type": "callback.scheduled", "id": callback_id(&event_id),
        "campaignId": "c", "phone": phone(sent.group), "externalLeadId": null,
        "scheduledTime": "2026-11-26T15:00:00.000Z",
        "source": {"eventType": "lead.call_scheduled", "eventTime": "2026-11-25T10:00:00.000Z", "eventId": event_id}
    })
    .to_string()
}

fn id(sent: &Sent) -> String {
    callback_id(&format!("evt_{:032x}", sent.n))
}

/// A FIFO queue: per group, the messages not yet deleted, in order. A receive takes from
/// the heads of the groups, in order within each group, up to `max` messages.
struct Fifo {
    groups: Vec<VecDeque<(String, Sent)>>,
}

impl Fifo {
    fn receive(&self, max: usize, rotate: usize) -> Vec<(String, Sent)> {
        let mut batch = Vec::new();
        let count = self.groups.len();
        for k in 0..count {
            for message in &self.groups[(k + rotate) % count] {
                if batch.len() == max {
                    return batch;
                }
                batch.push(message.clone());
            }
        }
        batch
    }

    fn delete(&mut self, message_id: &str) {
        for group in &mut self.groups {
            group.retain(|(m, _)| m != message_id);
        }
    }

    fn is_empty(&self) -> bool {
        self.groups.iter().all(VecDeque::is_empty)
    }
}

fn event(batch: &[(String, Sent)]) -> SqsEvent {
    let records: Vec<_> = batch
        .iter()
        .map(|(message_id, sent)| {
            json!({"messageId": message_id, "body": body(sent),
                   "attributes": {"MessageGroupId": phone(sent.group)}})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn scenario() -> impl Strategy<Value = (Vec<Sent>, Vec<bool>, Vec<u32>, Vec<usize>)> {
    // Up to 24 sends over 4 groups, message numbers unique; some resent later (copies).
    (1usize..24)
        .prop_flat_map(|len| {
            (
                proptest::collection::vec(0usize..4, len),
                proptest::collection::vec(any::<bool>(), len),
                proptest::collection::vec(0u32..3, len),
                proptest::collection::vec(1usize..=10, 1..8),
            )
        })
        .prop_map(|(groups, copies, failures, batch_sizes)| {
            let sent = groups
                .into_iter()
                .enumerate()
                .map(|(n, group)| Sent { group, n: n as u32 })
                .collect();
            (sent, copies, failures, batch_sizes)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn each_message_is_acted_on_once_and_in_its_groups_order(
        (sent, copies, failures, batch_sizes) in scenario()
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let actions = Flaky::default();
        for (s, f) in sent.iter().zip(&failures) {
            actions.failures_left.lock().unwrap().insert(id(s), *f);
        }
        let consumer = Consumer::new(actions, MemoryIdempotency::default(), MemoryRegister::default());

        // Enqueue: every send, then the copies SQS delivers again, after them.
        let mut queue = Fifo { groups: vec![VecDeque::new(); 4] };
        let mut next_message_id = 0;
        let mut enqueue = |queue: &mut Fifo, s: &Sent| {
            next_message_id += 1;
            queue.groups[s.group].push_back((format!("m{next_message_id}"), s.clone()));
        };
        for s in &sent {
            enqueue(&mut queue, s);
        }
        for (s, again) in sent.iter().zip(&copies) {
            if *again {
                enqueue(&mut queue, s);
            }
        }

        let mut round = 0;
        while !queue.is_empty() {
            prop_assert!(round < 200, "the queue does not drain");
            let batch = queue.receive(batch_sizes[round % batch_sizes.len()], round);
            let failed: HashSet<String> = runtime
                .block_on(consumer.handle(&event(&batch), 0, 1))
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
            for (message_id, _) in &batch {
                if !failed.contains(message_id) {
                    queue.delete(message_id);
                }
            }
            round += 1;
        }

        let acted = consumer.actions().acted.lock().unwrap().clone();
        let mut expected: Vec<String> = sent.iter().map(id).collect();
        let mut got = acted.clone();
        expected.sort();
        got.sort();
        prop_assert_eq!(got, expected, "each message acted on exactly once");
        for group in 0..4 {
            let in_order: Vec<String> = sent.iter().filter(|s| s.group == group).map(id).collect();
            let done: Vec<String> = acted.iter().filter(|a| in_order.contains(a)).cloned().collect();
            prop_assert_eq!(done, in_order, "group {}", group);
        }
    }
}
