//! `template.yaml` (what is deployed) and `call_events::local` (what the tests and the
//! local run create on moto) declare the same table and queues, and the function's
//! environment and permissions match what the code reads and calls.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_sqs::types::QueueAttributeName;
use call_events::local::Resources;
use serde_json::Value as Json;
use serde_yaml_ng::Value;
use support::aws::TestAws;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn resource<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    let r = &template["Resources"][logical_id];
    assert!(!r.is_null(), "template.yaml has no resource {logical_id}");
    &r["Properties"]
}

/// `!Ref X` -> "X", `!GetAtt X.Arn` -> "X.Arn", `!Sub "s"` -> "s", plain strings as they are.
fn text(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) => text(&tagged.value),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn pairs(list: &Value, key: &str, value: &str) -> BTreeMap<String, String> {
    list.as_sequence()
        .unwrap()
        .iter()
        .map(|e| (text(&e[key]), text(&e[value])))
        .collect()
}

#[tokio::test]
async fn lead_table_in_the_template_matches_the_local_table() {
    let aws = TestAws::new().await;
    let template = template();
    let table = resource(&template, "LeadTable");
    let local = aws
        .dynamodb
        .describe_table()
        .table_name(&aws.resources.table_name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();

    let local_keys: BTreeMap<String, String> = local
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pairs(&table["KeySchema"], "AttributeName", "KeyType"),
        local_keys
    );

    let local_attributes: BTreeMap<String, String> = local
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pairs(
            &table["AttributeDefinitions"],
            "AttributeName",
            "AttributeType"
        ),
        local_attributes
    );

    let local_indexes: BTreeMap<String, (BTreeMap<String, String>, String)> = local
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            let keys = i
                .key_schema()
                .iter()
                .map(|k| {
                    (
                        k.attribute_name().to_owned(),
                        k.key_type().as_str().to_owned(),
                    )
                })
                .collect();
            let projection = i
                .projection()
                .and_then(|p| p.projection_type())
                .unwrap()
                .as_str()
                .to_owned();
            (i.index_name().unwrap().to_owned(), (keys, projection))
        })
        .collect();
    let template_indexes: BTreeMap<String, (BTreeMap<String, String>, String)> =
        table["GlobalSecondaryIndexes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    text(&i["IndexName"]),
                    (
                        pairs(&i["KeySchema"], "AttributeName", "KeyType"),
                        text(&i["Projection"]["ProjectionType"]),
                    ),
                )
            })
            .collect();
    assert_eq!(template_indexes, local_indexes);
    assert_eq!(text(&table["BillingMode"]), "PAY_PER_REQUEST");
    assert_eq!(
        local
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str()),
        Some("PAY_PER_REQUEST")
    );
}

#[tokio::test]
async fn queues_in_the_template_match_the_local_queues() {
    let aws = TestAws::new().await;
    let template = template();
    let [_, callbacks, callbacks_dlq, dnc, dnc_dlq, quarantine] = Resources::names("PREFIX");
    let r = &aws.resources;
    // logical id in the template, local name (after the prefix), local URL, its DLQ's logical id
    let queues = [
        (
            "CallbackQueue",
            &callbacks,
            &r.queues.callback,
            Some("CallbackDeadLetterQueue"),
        ),
        (
            "CallbackDeadLetterQueue",
            &callbacks_dlq,
            &r.callback_dlq,
            None,
        ),
        ("DncQueue", &dnc, &r.queues.dnc, Some("DncDeadLetterQueue")),
        ("DncDeadLetterQueue", &dnc_dlq, &r.dnc_dlq, None),
        ("QuarantineQueue", &quarantine, &r.queues.quarantine, None),
    ];
    for (logical_id, local_name, url, dlq) in queues {
        let declared = resource(&template, logical_id);
        assert_eq!(
            text(&declared["QueueName"]).trim_start_matches("${AWS::StackName}"),
            local_name.trim_start_matches("PREFIX"),
            "{logical_id}: name"
        );
        let attributes = aws
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        let local = |name: QueueAttributeName| attributes.get(&name).cloned();
        let is_fifo = local(QueueAttributeName::FifoQueue).as_deref() == Some("true");
        assert_eq!(
            declared["FifoQueue"].as_bool().unwrap_or(false),
            is_fifo,
            "{logical_id}: FifoQueue"
        );
        if is_fifo {
            assert_eq!(
                declared["ContentBasedDeduplication"].as_bool(),
                local(QueueAttributeName::ContentBasedDeduplication).map(|v| v == "true"),
                "{logical_id}: ContentBasedDeduplication"
            );
        }
        assert_eq!(
            Some(text(&declared["MessageRetentionPeriod"])),
            local(QueueAttributeName::MessageRetentionPeriod),
            "{logical_id}: MessageRetentionPeriod"
        );
        let local_redrive: Option<Json> =
            local(QueueAttributeName::RedrivePolicy).map(|p| serde_json::from_str(&p).unwrap());
        match dlq {
            None => {
                assert!(
                    declared["RedrivePolicy"].is_null(),
                    "{logical_id}: no redrive"
                );
                assert!(local_redrive.is_none(), "{logical_id}: no local redrive");
            }
            Some(dlq_id) => {
                let declared = &declared["RedrivePolicy"];
                let local_redrive = local_redrive.unwrap();
                assert_eq!(
                    text(&declared["deadLetterTargetArn"]),
                    format!("{dlq_id}.Arn")
                );
                assert_eq!(
                    text(&declared["maxReceiveCount"]),
                    local_redrive["maxReceiveCount"]
                        .to_string()
                        .trim_matches('"')
                );
                let dlq_url = if dlq_id.starts_with("Callback") {
                    &r.callback_dlq
                } else {
                    &r.dnc_dlq
                };
                let dlq_arn = call_events::local::queue_arn(&aws.sqs, dlq_url)
                    .await
                    .unwrap();
                assert_eq!(local_redrive["deadLetterTargetArn"], dlq_arn.as_str());
            }
        }
    }
}

#[test]
fn function_environment_in_the_template_is_what_the_code_reads() {
    let template = template();
    let function = resource(&template, "WebhookFunction");
    let declared: BTreeSet<String> = function["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(text)
        .collect();
    // WEBHOOK_SECRET holds the secret in plain text: for local runs only, never deployed.
    let read: BTreeSet<String> = call_events::config::VARIABLES
        .iter()
        .filter(|name| **name != "WEBHOOK_SECRET")
        .map(|name| name.to_string())
        .collect();
    assert_eq!(declared, read);
}

#[test]
fn function_is_allowed_exactly_the_calls_it_makes() {
    let template = template();
    let function = resource(&template, "WebhookFunction");
    let statements = function["Policies"][0]["Statement"].as_sequence().unwrap();
    let actions: BTreeSet<String> = statements
        .iter()
        .flat_map(|s| s["Action"].as_sequence().unwrap().iter().map(text))
        .collect();
    let expected: BTreeSet<String> = [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "sqs:SendMessage",
        "secretsmanager:GetSecretValue",
    ]
    .map(String::from)
    .into();
    assert_eq!(actions, expected);
    for s in statements {
        assert_eq!(text(&s["Effect"]), "Allow");
        let resources = match s["Resource"].as_sequence() {
            Some(list) => list.iter().map(text).collect(),
            None => vec![text(&s["Resource"])],
        };
        assert!(resources.iter().all(|r| !r.contains('*')), "{resources:?}");
    }
}

#[test]
fn function_runs_as_the_issue_asks() {
    let template = template();
    let function = resource(&template, "WebhookFunction");
    let globals = &template["Globals"]["Function"];
    assert_eq!(text(&globals["Runtime"]), "provided.al2023");
    assert_eq!(text(&globals["Architectures"][0]), "arm64");
    assert_eq!(text(&function["Handler"]), "bootstrap");
    assert_eq!(text(&function["MemorySize"]), "128");
    assert_eq!(text(&function["Tracing"]), "Active");
    assert!(text(&function["Timeout"]).parse::<u32>().unwrap() < 29);
    assert_eq!(
        text(&template["Resources"]["WebhookFunction"]["Metadata"]["BuildMethod"]),
        "rust-cargolambda"
    );
    assert_eq!(
        text(&template["Resources"]["LeadTable"]["DeletionPolicy"]),
        "Retain"
    );
}
