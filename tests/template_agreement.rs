//! `template.yaml` (what is deployed) and `call_events::local` (what the tests and the
//! local run create on moto) declare the same table, stream and queues; each function's
//! environment and permissions match what the code reads and calls; the relay's event
//! source is configured as the contract says and its filter lets every message through.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_sqs::types::QueueAttributeName;
use call_events_local::Resources;
use serde_json::Value as Json;
use serde_yaml_ng::Value;
use support::aws::{LOCAL_SECRET, TestAws, deliver, resign, sample};
use support::template::{pairs, resource, template, text};

/// The table as created on moto, and its key schema (attribute -> HASH/RANGE).
async fn local_table(
    aws: &TestAws,
    name: &str,
) -> (
    aws_sdk_dynamodb::types::TableDescription,
    BTreeMap<String, String>,
) {
    let table = aws
        .dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    (table, keys)
}

/// Index name -> (key schema, projection type, projected attributes).
type Indexes = BTreeMap<String, (BTreeMap<String, String>, String, Vec<String>)>;

#[tokio::test]
async fn lead_table_in_the_template_matches_the_local_table() {
    let aws = TestAws::new().await;
    let template = template();
    let table = resource(&template, "LeadTable");
    let (local, local_keys) = local_table(&aws, &aws.resources.table_name).await;
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

    let local_indexes: Indexes = local
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
            let mut attributes: Vec<String> = i
                .projection()
                .map(|p| p.non_key_attributes().to_vec())
                .unwrap_or_default();
            attributes.sort();
            (
                i.index_name().unwrap().to_owned(),
                (keys, projection, attributes),
            )
        })
        .collect();
    let template_indexes: Indexes = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| {
            let mut attributes: Vec<String> = i["Projection"]["NonKeyAttributes"]
                .as_sequence()
                .map(|list| list.iter().map(text).collect())
                .unwrap_or_default();
            attributes.sort();
            (
                text(&i["IndexName"]),
                (
                    pairs(&i["KeySchema"], "AttributeName", "KeyType"),
                    text(&i["Projection"]["ProjectionType"]),
                    attributes,
                ),
            )
        })
        .collect();
    assert_eq!(template_indexes, local_indexes);
    assert_eq!(
        text(&table["StreamSpecification"]["StreamViewType"]),
        local
            .stream_specification()
            .and_then(|s| s.stream_view_type())
            .unwrap()
            .as_str()
    );
    let ttl = aws
        .dynamodb
        .describe_time_to_live()
        .table_name(&aws.resources.table_name)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(
        text(&table["TimeToLiveSpecification"]["AttributeName"]),
        ttl.attribute_name().unwrap()
    );
    assert_eq!(
        ttl.attribute_name(),
        Some(call_events::adapters::dynamodb::item::EXPIRES_AT)
    );
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
    let [
        _,
        _,
        callbacks,
        callbacks_dlq,
        dnc,
        dnc_dlq,
        quarantine,
        relay_failures,
        relay_failures_dlq,
    ] = Resources::names("PREFIX");
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
        (
            "RelayFailureQueue",
            &relay_failures,
            &r.relay_failures,
            Some("RelayFailureDeadLetterQueue"),
        ),
        (
            "RelayFailureDeadLetterQueue",
            &relay_failures_dlq,
            &r.relay_failures_dlq,
            None,
        ),
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
        assert_eq!(
            Some(text(&declared["MaximumMessageSize"])),
            local(QueueAttributeName::MaximumMessageSize),
            "{logical_id}: MaximumMessageSize"
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
                } else if dlq_id.starts_with("Relay") {
                    &r.relay_failures_dlq
                } else {
                    &r.dnc_dlq
                };
                let dlq_arn = call_events_local::queue_arn(&aws.sqs, dlq_url)
                    .await
                    .unwrap();
                assert_eq!(local_redrive["deadLetterTargetArn"], dlq_arn.as_str());
            }
        }
    }
}

fn environment(template: &Value, function: &str) -> BTreeSet<String> {
    resource(template, function)["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(text)
        .collect()
}

#[test]
fn each_function_environment_in_the_template_is_what_its_code_reads() {
    let template = template();
    // WEBHOOK_SECRET holds the secret in plain text: for local runs only, never deployed.
    let webhook: BTreeSet<String> = call_events::config::VARIABLES
        .iter()
        .filter(|name| **name != "WEBHOOK_SECRET")
        .map(|name| name.to_string())
        .collect();
    assert_eq!(environment(&template, "WebhookFunction"), webhook);
    let relay: BTreeSet<String> = call_events::config::RELAY_VARIABLES
        .iter()
        .map(|name| name.to_string())
        .collect();
    assert_eq!(environment(&template, "RelayFunction"), relay);
}

/// A statement as it is when its condition holds (`!If [condition, statement, NoValue]`).
fn when_present(statement: &Value) -> &Value {
    match statement {
        Value::Tagged(tagged) if tagged.tag == "If" => &tagged.value[1],
        other => other,
    }
}

/// The actions a function's policy allows (conditional statements included); every
/// statement an Allow on named resources (a named bucket's objects, `<bucket>/*`, included).
fn allowed_actions(template: &Value, function: &str) -> BTreeSet<String> {
    let statements: Vec<Value> = resource(template, function)["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| when_present(s).clone())
        .collect();
    for s in &statements {
        assert_eq!(text(&s["Effect"]), "Allow");
        let resources = match s["Resource"].as_sequence() {
            Some(list) => list.iter().map(text).collect(),
            None => vec![text(&s["Resource"])],
        };
        let named = |r: &String| !r.strip_suffix("/*").unwrap_or(r).contains('*');
        assert!(resources.iter().all(named), "{resources:?}");
    }
    statements
        .iter()
        .flat_map(|s| s["Action"].as_sequence().unwrap().iter().map(text))
        .collect()
}

#[test]
fn webhook_is_allowed_one_dynamodb_write_and_its_secret_and_nothing_on_sqs() {
    // kms:Decrypt only when the user brings a secret under their own key; DescribeTable
    // once at init, to open the connection.
    let expected: BTreeSet<String> = [
        "dynamodb:PutItem",
        "dynamodb:DescribeTable",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
    ]
    .map(String::from)
    .into();
    assert_eq!(allowed_actions(&template(), "WebhookFunction"), expected);
}

#[test]
fn relay_is_allowed_to_read_the_stream_the_register_the_failure_bucket_and_send_to_the_queues_only()
{
    let template = template();
    let expected: BTreeSet<String> = [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListBucket",
    ]
    .map(String::from)
    .into();
    assert_eq!(allowed_actions(&template, "RelayFunction"), expected);
    let function = &template["Resources"]["RelayFunction"];
    let events = function["Properties"]["Events"].as_mapping().unwrap();
    for event in events.values() {
        assert_eq!(
            text(&event["Type"]),
            "Schedule",
            "a SAM stream or SQS event would attach a managed policy on every stream or queue"
        );
    }
    assert_eq!(
        text(&function["Metadata"]["BuildProperties"]["Binary"]),
        "call-events-relay"
    );
}

#[test]
fn given_up_batches_are_redriven_by_the_relay_until_relayed_or_written_down_as_gaps() {
    let template = template();
    let source = resource(&template, "RelayRedriveSource");
    assert_eq!(text(&source["EventSourceArn"]), "RelayFailureQueue.Arn");
    assert_eq!(text(&source["FunctionName"]), "RelayFunction.Alias");
    assert_eq!(
        text(&source["FunctionResponseTypes"][0]),
        "ReportBatchItemFailures"
    );
    assert_eq!(
        text(&source["ScalingConfig"]["MaximumConcurrency"]),
        "2",
        "redrives run at most 2 at a time: a shard has at most 2 readers"
    );
    let queue = resource(&template, "RelayFailureQueue");
    let visibility: u64 = text(&queue["VisibilityTimeout"]).parse().unwrap();
    let timeout: u64 = text(&resource(&template, "RelayFunction")["Timeout"])
        .parse()
        .unwrap();
    assert!(
        visibility >= 6 * timeout,
        "SQS's advice for a Lambda event source"
    );
    let receives: u64 = text(&queue["RedrivePolicy"]["maxReceiveCount"])
        .parse()
        .unwrap();
    assert!(
        visibility * receives > 24 * 3600,
        "tried until the stream no longer holds the batch (then it is a gap), not dead-lettered before"
    );
    assert_eq!(
        text(&queue["RedrivePolicy"]["deadLetterTargetArn"]),
        "RelayFailureDeadLetterQueue.Arn"
    );
    for alarm in [
        "RelayFailureQueueAlarm",
        "RelayFailureDeadLetterAlarm",
        "StreamGapsAlarm",
    ] {
        assert!(!resource(&template, alarm).is_null(), "{alarm}");
    }
}

#[test]
fn a_sweep_reads_the_registers_sparse_index_of_pending_requests_every_minute() {
    use call_events::adapters::dynamodb::register::{PENDING_INDEX, PENDING_KEY, PENDING_SINCE};
    let template = template();
    let sweep = &resource(&template, "RelayFunction")["Events"]["Sweep"];
    assert_eq!(text(&sweep["Properties"]["Schedule"]), "rate(1 minute)");
    let table = resource(&template, "DncRegisterTable");
    let index = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|i| text(&i["IndexName"]) == PENDING_INDEX)
        .expect("the pending-request index");
    let keys = pairs(&index["KeySchema"], "AttributeName", "KeyType");
    assert_eq!(keys.get(PENDING_KEY).map(String::as_str), Some("HASH"));
    assert_eq!(keys.get(PENDING_SINCE).map(String::as_str), Some("RANGE"));
    assert_eq!(text(&index["Projection"]["ProjectionType"]), "KEYS_ONLY");
    for alarm in ["DncRequestsPendingAlarm", "DncRequestsRefusedAlarm"] {
        assert!(!resource(&template, alarm).is_null(), "{alarm}");
    }
}

#[test]
fn the_sweep_reads_the_lead_tables_sparse_index_of_writes_the_relay_has_not_confirmed() {
    use call_events::adapters::dynamodb::item::{RELAY_INDEX, RELAY_PENDING, RELAY_PENDING_SINCE};
    let template = template();
    let table = resource(&template, "LeadTable");
    let index = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|i| text(&i["IndexName"]) == RELAY_INDEX)
        .expect("the index of writes waiting for the relay");
    let keys = pairs(&index["KeySchema"], "AttributeName", "KeyType");
    assert_eq!(keys.get(RELAY_PENDING).map(String::as_str), Some("HASH"));
    assert_eq!(
        keys.get(RELAY_PENDING_SINCE).map(String::as_str),
        Some("RANGE")
    );
    assert_eq!(text(&index["Projection"]["ProjectionType"]), "KEYS_ONLY");
    // The relay confirms on the table and reads the index; it may not scan.
    let statements = resource(&template, "RelayFunction")["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap()
        .clone();
    let confirmations = statements
        .iter()
        .find(|s| text(&s["Sid"]) == "LeadTableConfirmations")
        .expect("the relay's confirmations");
    let actions: BTreeSet<String> = confirmations["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let expected: BTreeSet<String> = ["dynamodb:UpdateItem", "dynamodb:GetItem"]
        .map(String::from)
        .into();
    assert_eq!(actions, expected, "confirmations and rereads, no query");
    let resource = format!("{:?}", confirmations["Resource"]);
    assert!(
        resource.contains("LeadTable") && !resource.contains("/index/"),
        "the table only: {resource}"
    );
    let waiting = statements
        .iter()
        .find(|s| text(&s["Sid"]) == "LeadTableWaitingWrites")
        .expect("the sweep's query of the waiting writes");
    let actions: Vec<String> = waiting["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(actions, vec!["dynamodb:Query".to_owned()]);
    let resource = format!("{:?}", waiting["Resource"]);
    assert!(
        resource.contains(&format!("/index/{RELAY_INDEX}")),
        "{resource}"
    );
    // No statement of the relay's lets it query (or scan) the lead table itself.
    for statement in &statements {
        let resource = format!("{:?}", statement["Resource"]);
        let actions = format!("{:?}", statement["Action"]);
        if resource.contains("LeadTable") && !resource.contains("/index/") {
            assert!(
                !actions.contains("Query") && !actions.contains("Scan"),
                "{statement:?}"
            );
        }
    }
}

#[test]
fn every_queue_states_its_maximum_message_size() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let queues: Vec<_> = resources
        .iter()
        .filter(|(_, r)| text(&r["Type"]) == "AWS::SQS::Queue")
        .collect();
    assert!(queues.len() >= 7);
    for (name, queue) in queues {
        assert_eq!(
            text(&queue["Properties"]["MaximumMessageSize"]),
            call_events_local::MAXIMUM_MESSAGE_SIZE.to_string(),
            "{name:?}"
        );
    }
}

#[test]
fn relay_event_source_reports_partial_failures_bisects_and_parks_old_records() {
    let template = template();
    let source = resource(&template, "RelayEventSource");
    assert_eq!(text(&source["EventSourceArn"]), "LeadTable.StreamArn");
    assert_eq!(text(&source["FunctionName"]), "RelayFunction.Alias");
    assert_eq!(
        text(&source["FunctionResponseTypes"][0]),
        "ReportBatchItemFailures"
    );
    assert_eq!(source["BisectBatchOnFunctionError"].as_bool(), Some(true));
    assert_eq!(text(&source["ParallelizationFactor"]), "1");
    assert_eq!(
        text(&source["MaximumRecordAgeInSeconds"]),
        "RelayMaximumRecordAgeSeconds"
    );
    for bound in ["Default", "MaxValue"] {
        let max_age: u32 = text(&template["Parameters"]["RelayMaximumRecordAgeSeconds"][bound])
            .parse()
            .unwrap();
        assert!(
            max_age + 6 * 3600 <= 24 * 3600,
            "given up at least 6 h before the stream trims the record, so there is time to redrive"
        );
    }
    assert_eq!(
        text(&source["DestinationConfig"]["OnFailure"]["Destination"]),
        "RelayFailureBucket.Arn",
        "the whole batch kept, not positions in a 24-hour stream"
    );
    for alarm in [
        "RelayIteratorAgeAlarm",
        "RelayFailureQueueAlarm",
        "RelaySendFailuresAlarm",
    ] {
        assert!(!resource(&template, alarm).is_null(), "{alarm}");
    }
}

/// `!Sub [template, {vars}]` as (template, vars), each var's value as YAML.
fn sub_list(value: &Value) -> (String, BTreeMap<String, Value>) {
    let Value::Tagged(tagged) = value else {
        panic!("not a !Sub: {value:?}")
    };
    assert_eq!(tagged.tag, "Sub");
    let list = tagged.value.as_sequence().expect("!Sub [template, vars]");
    let vars = list[1]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (text(k), v.clone()))
        .collect();
    (text(&list[0]), vars)
}

#[test]
fn only_the_stacks_own_failure_bucket_may_announce_on_the_relay_failure_queue() {
    let template = template();
    let (bucket_name, bucket_vars) =
        sub_list(&resource(&template, "RelayFailureBucket")["BucketName"]);
    let statement =
        &resource(&template, "RelayFailureQueuePolicy")["PolicyDocument"]["Statement"][0];
    assert_eq!(text(&statement["Principal"]["Service"]), "s3.amazonaws.com");
    assert_eq!(
        text(&statement["Condition"]["StringEquals"]["aws:SourceAccount"]),
        "AWS::AccountId"
    );
    let (source_arn, arn_vars) = sub_list(&statement["Condition"]["ArnEquals"]["aws:SourceArn"]);
    assert_eq!(
        source_arn,
        format!("arn:${{AWS::Partition}}:s3:::{bucket_name}"),
        "the queue trusts this bucket, not any bucket of the account"
    );
    assert_eq!(arn_vars, bucket_vars, "both names resolve alike");
    // A bucket name is at most 63 characters: the stack id's unique part is 36.
    assert!(bucket_name.replace("${StackUnique}", &"x".repeat(36)).len() <= 63);
}

/// Does an EventBridge-style filter pattern (objects and `{"exists": true}` leaves, the only
/// forms the template uses) match the JSON `record`?
fn matches(pattern: &Json, record: &Json) -> bool {
    match pattern {
        Json::Object(fields) => fields
            .iter()
            .all(|(name, sub)| record.get(name).is_some_and(|value| matches(sub, value))),
        Json::Array(alternatives) => alternatives.iter().any(|alternative| {
            match alternative.get("exists").and_then(Json::as_bool) {
                Some(true) => true,
                _ => panic!("unsupported filter: {alternative}"),
            }
        }),
        other => panic!("unsupported filter: {other}"),
    }
}

#[tokio::test]
async fn relay_filter_lets_through_every_record_that_carries_a_message_and_no_other() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let template = template();
    let filters: Vec<Json> = resource(&template, "RelayEventSource")["FilterCriteria"]["Filters"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|f| serde_json::from_str(&text(&f["Pattern"])).unwrap())
        .collect();
    for name in [
        "01-call-initiated.json",
        "07-call-scheduled.json",
        "09-call-key-pressed-9.json",
        "21-malformed-json.json",
        "31-legacy-dnc-created.json",
    ] {
        deliver(&webhook, &resign(sample(name), LOCAL_SECRET)).await;
    }
    let records = aws.new_stream_records().await;
    assert!(records.len() >= 5);
    for record in records {
        let carries =
            call_events::adapters::dynamodb::item::committed(record.change.new_image.clone())
                .map(|c| {
                    !c.messages.is_empty() || !c.dnc_signals.is_empty() || c.quarantine.is_some()
                })
                .unwrap();
        let lambda_json = serde_json::to_value(&record).unwrap();
        let passes = filters.iter().any(|f| matches(f, &lambda_json));
        assert_eq!(passes, carries, "{lambda_json}");
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
    let relay = resource(&template, "RelayFunction");
    assert_eq!(text(&relay["Handler"]), "bootstrap");
    assert!(text(&relay["Timeout"]).parse::<u32>().unwrap() <= 60);
}

#[tokio::test]
async fn dnc_register_in_the_template_matches_the_local_one_and_is_kept_for_audit() {
    let aws = TestAws::new().await;
    let template = template();
    let declared = resource(&template, "DncRegisterTable");
    let name = &aws.resources.dnc_table_name;
    let (local, local_keys) = local_table(&aws, name).await;
    assert_eq!(
        pairs(&declared["KeySchema"], "AttributeName", "KeyType"),
        local_keys
    );
    assert_eq!(
        local_keys.keys().next().map(String::as_str),
        Some(call_events::adapters::dynamodb::register::REGISTER_KEY)
    );
    assert_eq!(text(&declared["BillingMode"]), "PAY_PER_REQUEST");
    // Kept for audit: no expiry, point-in-time recovery, deletion protection, retained.
    assert!(declared["TimeToLiveSpecification"].is_null());
    assert!(declared["StreamSpecification"].is_null());
    assert_eq!(
        declared["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(declared["DeletionProtectionEnabled"].as_bool(), Some(true));
    assert_eq!(local.deletion_protection_enabled(), Some(true));
    let backups = aws
        .dynamodb
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .unwrap()
        .continuous_backups_description
        .unwrap();
    assert_eq!(
        backups
            .point_in_time_recovery_description()
            .and_then(|p| p.point_in_time_recovery_status())
            .map(|s| s.as_str()),
        Some("ENABLED")
    );
    for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
        assert_eq!(
            text(&template["Resources"]["DncRegisterTable"][policy]),
            "Retain"
        );
    }
}

#[test]
fn every_method_of_the_route_reaches_the_function_which_answers_405() {
    let template = template();
    let event = &resource(&template, "WebhookFunction")["Events"]["CallEvents"]["Properties"];
    assert_eq!(text(&event["Path"]), "/call-events");
    assert_eq!(text(&event["Method"]), "ANY");
}

#[test]
fn alarms_watch_401_and_429_bursts_silence_and_5xx_on_the_functions_own_metrics() {
    let template = template();
    for (alarm, metric, function) in [
        (
            "UnauthorizedBurstAlarm",
            "WrongSignatures",
            Some("WebhookFunction"),
        ),
        (
            "NoProcessedEventAlarm",
            "Processed",
            Some("WebhookFunction"),
        ),
        (
            "RelaySendFailuresAlarm",
            "SendFailures",
            Some("RelayFunction"),
        ),
        ("ThrottledBurstAlarm", "Throttled", None),
        ("Api5xxAlarm", "5xx", None),
    ] {
        let declared = resource(&template, alarm);
        assert_eq!(text(&declared["MetricName"]), metric, "{alarm}");
        if let Some(function) = function {
            // EMF metrics carry the FunctionName dimension: an alarm without it sees nothing.
            assert_eq!(
                text(&declared["Namespace"]),
                call_events::telemetry::METRICS_NAMESPACE
            );
            let dimensions = pairs(&declared["Dimensions"], "Name", "Value");
            assert_eq!(
                dimensions
                    .get(call_events::telemetry::DIMENSION)
                    .map(String::as_str),
                Some(function),
                "{alarm}"
            );
        }
    }
    assert_eq!(
        text(&resource(&template, "NoProcessedEventAlarm")["TreatMissingData"]),
        "breaching"
    );
    let filter = resource(&template, "ThrottledMetricFilter");
    assert!(text(&filter["FilterPattern"]).contains("429"));
}

#[test]
fn both_functions_log_json_so_tracing_diagnostics_are_json_too() {
    let template = template();
    for function in ["WebhookFunction", "RelayFunction"] {
        let logging = &resource(&template, function)["LoggingConfig"];
        assert_eq!(text(&logging["LogFormat"]), "JSON", "{function}");
    }
}

/// The example consumer's own template (not part of the production one) agrees with its
/// code and with what the receiver's template exports.
#[test]
fn example_consumer_template_agrees_with_its_code_and_the_receivers_exports() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/example-consumer/template.yaml"
    );
    let example: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let function = &example["Resources"]["ConsumerFunction"];
    assert_eq!(
        text(&function["Metadata"]["BuildProperties"]["Binary"]),
        "call-events-example-consumer"
    );
    let properties = &function["Properties"];

    let variables: BTreeSet<String> = properties["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(text)
        .collect();
    let read: BTreeSet<String> = example_consumer::config::VARIABLES
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(variables, read, "the environment the consumer reads");

    // Every import names an export of the receiver's stack.
    let exports: BTreeSet<String> = template()["Outputs"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|o| !o["Export"]["Name"].is_null())
        .map(|o| text(&o["Export"]["Name"]))
        .filter_map(|name| name.strip_prefix("${AWS::StackName}-").map(str::to_owned))
        .collect();
    let yaml = std::fs::read_to_string(path).unwrap();
    let imports: Vec<&str> = yaml
        .split("${ReceiverStackName}-")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(imports.len(), 4, "{imports:?}");
    for import in imports {
        assert!(
            exports.contains(import),
            "the receiver exports no {import}: {exports:?}"
        );
    }

    // Both queues, with partial batch failures, which the consumer's answer relies on.
    let events = properties["Events"].as_mapping().unwrap();
    assert_eq!(events.len(), 2);
    for (_, event) in events {
        assert_eq!(text(&event["Type"]), "SQS");
        let types: Vec<String> = event["Properties"]["FunctionResponseTypes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        assert_eq!(types, ["ReportBatchItemFailures"]);
    }
    // Lambda refuses a function timeout above the queues' visibility timeout (30 s: the
    // receiver's queues keep SQS's default).
    let queue = &template()["Resources"]["CallbackQueue"]["Properties"];
    assert!(queue["VisibilityTimeout"].is_null());
    assert!(properties["Timeout"].as_u64().unwrap() <= 30);

    // Its table is the one the adapter uses; its policy allows exactly the calls it makes.
    let table = &example["Resources"]["IdempotencyTable"]["Properties"];
    assert_eq!(
        pairs(&table["KeySchema"], "AttributeName", "KeyType"),
        BTreeMap::from([(
            example_consumer::dynamodb::KEY.to_owned(),
            "HASH".to_owned()
        )])
    );
    assert_eq!(
        text(&table["TimeToLiveSpecification"]["AttributeName"]),
        example_consumer::dynamodb::TTL_ATTRIBUTE
    );
    let statements = properties["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap();
    let actions: BTreeSet<String> = statements
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::Sequence(list) => list.iter().map(text).collect(),
            single => vec![text(single)],
        })
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from([
            "dynamodb:DeleteItem".to_owned(),
            "dynamodb:GetItem".to_owned(),
            "dynamodb:PutItem".to_owned()
        ])
    );
}

/// The metric names each function's log line declares, by the function's logical id.
fn emitted_metrics() -> BTreeMap<&'static str, BTreeSet<String>> {
    use call_events::telemetry::{Outcome, RelayRun, RequestReport, relay_log_line_of};
    use call_events::usecases::relay::{BatchReport, SweepReport};
    let batch = RelayRun::Batch(BatchReport::default());
    let batch = relay_log_line_of(&batch, None, Default::default(), 0);
    let sweep = RelayRun::Sweep(SweepReport {
        oldest_pending_seconds: Some(0),
        oldest_imported_seconds: Some(0),
        ..SweepReport::default()
    });
    let sweep = relay_log_line_of(&sweep, None, Default::default(), 0);
    let relay = emf_metric_names(&batch)
        .union(&emf_metric_names(&sweep))
        .cloned()
        .collect();
    BTreeMap::from([
        (
            "WebhookFunction",
            emf_metric_names(&RequestReport::new(Outcome::Processed, 200).to_log_line(0)),
        ),
        ("RelayFunction", relay),
    ])
}

/// The metrics an alarm watches: its own (`Namespace`, `MetricName`, `Dimensions`), or
/// each `MetricStat` of its metric math, as (namespace, name, dimensions).
fn alarm_metrics(alarm: &Value) -> Vec<(String, String, BTreeMap<String, String>)> {
    if !alarm["MetricName"].is_null() {
        let dimensions = match alarm["Dimensions"].is_null() {
            true => BTreeMap::new(),
            false => pairs(&alarm["Dimensions"], "Name", "Value"),
        };
        return vec![(
            text(&alarm["Namespace"]),
            text(&alarm["MetricName"]),
            dimensions,
        )];
    }
    alarm["Metrics"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter(|m| !m["MetricStat"].is_null())
        .map(|m| {
            let metric = &m["MetricStat"]["Metric"];
            (
                text(&metric["Namespace"]),
                text(&metric["MetricName"]),
                pairs(&metric["Dimensions"], "Name", "Value"),
            )
        })
        .collect()
}

/// The dimension sets the log lines declare, each as a set of names.
fn emf_dimension_sets() -> Vec<BTreeSet<String>> {
    use call_events::telemetry::{Outcome, RequestReport};
    let line = RequestReport::new(Outcome::Processed, 200).to_log_line(0);
    let line: Json = serde_json::from_str(&line).unwrap();
    line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|set| {
            set.as_array()
                .unwrap()
                .iter()
                .map(|name| name.as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

/// The metric names an EMF log line declares.
fn emf_metric_names(line: &str) -> BTreeSet<String> {
    let line: Json = serde_json::from_str(line).unwrap();
    line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_alarm_on_the_functions_own_metrics_names_one_that_function_emits() {
    let emitted = emitted_metrics();
    let dimension_sets = emf_dimension_sets();
    let template = template();
    let mut checked = 0;
    for (name, alarm) in template["Resources"].as_mapping().unwrap() {
        for (namespace, metric, dimensions) in alarm_metrics(&alarm["Properties"]) {
            // A metric of a log metric filter (429s counted from API Gateway's access log)
            // has no dimensions.
            if namespace != call_events::telemetry::METRICS_NAMESPACE || dimensions.is_empty() {
                continue;
            }
            let function = &dimensions[call_events::telemetry::DIMENSION];
            // The alarm's dimensions are one of the sets the lines declare.
            let names: BTreeSet<String> = dimensions.keys().cloned().collect();
            assert!(
                dimension_sets.contains(&names),
                "{name:?}: dimensions {names:?} are not a set the lines declare: {dimension_sets:?}"
            );
            assert!(
                emitted[function.as_str()].contains(&metric),
                "{name:?}: {function} emits no {metric}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked}");
}

#[test]
fn every_alarm_has_a_runbook_entry() {
    let operating =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operating.md")).unwrap();
    let runbook = &operating[operating
        .find("## When the webhook's alarms fire")
        .expect("the runbook section")..];
    let template = template();
    let alarms: Vec<String> = template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| text(&r["Type"]) == "AWS::CloudWatch::Alarm")
        .map(|(name, _)| text(name))
        .collect();
    assert!(alarms.len() >= 20, "{alarms:?}");
    let missing: Vec<&String> = alarms
        .iter()
        .filter(|alarm| !runbook.contains(&format!("**`{alarm}`**")))
        .collect();
    assert!(
        missing.is_empty(),
        "alarms without a runbook entry: {missing:?}"
    );
}

#[test]
fn the_webhook_deploys_behind_an_alias_with_a_canary_its_new_versions_alarms_roll_back() {
    let template = template();
    let webhook = resource(&template, "WebhookFunction");
    assert_eq!(text(&webhook["AutoPublishAlias"]), "live");
    let preference = &webhook["DeploymentPreference"];
    assert_eq!(text(&preference["Type"]), "DeploymentStrategy");
    let default = text(&template["Parameters"]["DeploymentStrategy"]["Default"]);
    assert!(default.starts_with("Canary"), "{default}");
    let gates: Vec<String> = preference["Alarms"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(gates.len(), 4);
    for gate in &gates {
        let metrics = alarm_metrics(resource(&template, gate));
        assert!(
            metrics.iter().any(|(_, _, dimensions)| dimensions
                .get(call_events::telemetry::VERSION_DIMENSION)
                .map(String::as_str)
                == Some("WebhookFunction.Version.Version")),
            "{gate} watches the new version"
        );
    }
    for metric in [
        "Errors",
        "BackendErrors",
        "PermanentFailures",
        "Unauthorized",
    ] {
        assert!(
            gates.iter().any(|g| alarm_metrics(resource(&template, g))
                .iter()
                .any(|(_, name, _)| name == metric)),
            "{metric}"
        );
    }
    // 401s gate only as the new version's rate over the function's: callers cannot trip it.
    let unauthorized = resource(&template, "WebhookCanaryUnauthorizedAlarm");
    assert!(
        unauthorized["MetricName"].is_null(),
        "not a plain count of 401s"
    );
    let expression = unauthorized["Metrics"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["ReturnData"].as_bool() == Some(true))
        .map(|m| text(&m["Expression"]))
        .unwrap();
    assert!(
        expression.contains("newUnauthorized") && expression.contains("allRequests"),
        "{expression}"
    );
}

#[test]
fn the_relay_moves_its_alias_in_one_step_with_no_gate_and_every_trigger_invokes_the_alias() {
    let template = template();
    let relay = resource(&template, "RelayFunction");
    assert_eq!(text(&relay["AutoPublishAlias"]), "live");
    assert!(
        relay["DeploymentPreference"].is_null(),
        "an all-at-once gate sees nothing of the new version and only blocks hot fixes"
    );
    for source in ["RelayEventSource", "RelayRedriveSource"] {
        assert_eq!(
            text(&resource(&template, source)["FunctionName"]),
            "RelayFunction.Alias",
            "{source}"
        );
    }
}

#[test]
fn a_secret_the_user_brings_may_be_decrypted_with_their_key_through_secrets_manager_only() {
    let template = template();
    let statements = resource(&template, "WebhookFunction")["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap();
    let kms = statements
        .iter()
        .find_map(|s| match s {
            Value::Tagged(t) if t.tag == "If" && text(&t.value[0]) == "HasSecretKmsKey" => {
                Some(t.value[1].clone())
            }
            _ => None,
        })
        .expect("a conditional kms:Decrypt statement");
    assert_eq!(text(&kms["Action"][0]), "kms:Decrypt");
    assert_eq!(text(&kms["Resource"]), "WebhookSecretKmsKeyArn");
    assert!(!kms["Condition"]["StringEquals"]["kms:ViaService"].is_null());
}

#[test]
fn every_metric_the_dashboard_shows_is_one_the_code_emits_and_every_alarm_is_on_it() {
    let template = template();
    let dashboard = resource(&template, "Dashboard");
    // `!Sub` text: the substitutions are names of the template's resources.
    let body = text(&dashboard["DashboardBody"]);
    let body: Json = serde_json::from_str(&body).expect("the dashboard body is JSON");
    let emitted = emitted_metrics();
    let mut ours = 0;
    let mut alarms_shown = BTreeSet::new();
    for widget in body["widgets"].as_array().unwrap() {
        if widget["type"] == "alarm" {
            for arn in widget["properties"]["alarms"].as_array().unwrap() {
                let arn = arn.as_str().unwrap();
                alarms_shown.insert(
                    arn.trim_start_matches("${")
                        .trim_end_matches(".Arn}")
                        .to_owned(),
                );
            }
            continue;
        }
        let Some(metrics) = widget["properties"]["metrics"].as_array() else {
            continue;
        };
        for metric in metrics {
            let parts = metric.as_array().unwrap();
            let namespace = parts[0].as_str().unwrap();
            let name = parts[1].as_str().unwrap();
            if namespace == call_events::telemetry::METRICS_NAMESPACE {
                assert_eq!(parts[2], call_events::telemetry::DIMENSION);
                // `${WebhookFunction}` in the body's `!Sub` text.
                let function = parts[3].as_str().unwrap();
                let function = function.trim_start_matches("${").trim_end_matches('}');
                assert!(
                    emitted[function].contains(name),
                    "the dashboard shows {name} of {function}, which emits no such metric"
                );
                ours += 1;
            } else {
                // AWS's own metrics: a namespace, a name, and a dimension on a resource of
                // the stack.
                assert!(namespace.starts_with("AWS/"), "{namespace}");
                let value = parts[3].as_str().unwrap();
                let resource_name = value
                    .trim_start_matches("${")
                    .trim_end_matches('}')
                    .split('.')
                    .next()
                    .unwrap();
                assert!(
                    !resource(&template, resource_name).is_null(),
                    "{name}: {value} names no resource"
                );
            }
        }
    }
    assert!(ours >= 15, "{ours}");
    let alarms: BTreeSet<String> = template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| text(&r["Type"]) == "AWS::CloudWatch::Alarm")
        .map(|(name, _)| text(name))
        .collect();
    assert_eq!(
        alarms_shown, alarms,
        "every alarm's state is on the dashboard"
    );
}

#[test]
fn every_stack_output_the_docs_name_exists() {
    let outputs: BTreeSet<String> = template()["Outputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(text)
        .collect();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/");
    let mut named = BTreeSet::new();
    for doc in [
        "README.md",
        "docs/operating.md",
        "docs/deploy.md",
        "docs/downstream.md",
    ] {
        let text = std::fs::read_to_string(format!("{root}{doc}")).unwrap();
        for placeholder in text.split('<').skip(1).filter_map(|s| s.split('>').next()) {
            let output_like = placeholder.chars().next().is_some_and(char::is_uppercase)
                && placeholder.chars().all(char::is_alphanumeric)
                && ["Name", "Url", "Arn"]
                    .iter()
                    .any(|end| placeholder.ends_with(end));
            if output_like {
                named.insert(placeholder.to_owned());
            }
        }
    }
    let missing: Vec<&String> = named.difference(&outputs).collect();
    assert!(
        missing.is_empty(),
        "the docs name {missing:?} as stack outputs; the template has {outputs:?}"
    );
    assert!(named.contains("RelayLogGroupName"), "{named:?}");
}
