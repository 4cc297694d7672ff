//! `call-events-dnc prove` and `export` (docs/contract.md §8) on moto, as an operator runs
//! them: the binary, its environment, its exit status and its output. The entries come
//! through the webhook and the relay, or are written with the register's own codec.

mod support;

use std::collections::HashMap;
use std::process::{Command, Output};

use aws_sdk_dynamodb::types::AttributeValue;
use call_events::adapters::dynamodb::register::register_item;
use call_events::core::domain::Phone;
use call_events::core::register::{Evidence, RegisterEntry};
use call_events::core::signature::{Secret, sign_v2};
use serde_json::Value;
use support::aws::{LOCAL_SECRET, TestAws, deliver, resign, sample, signed, signed_bytes};
use support::body;
use support::register::key9_entry;

const PHONE: &str = "+12025550801";

fn dnc(aws: &TestAws, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_call-events-dnc"));
    command
        .args(args)
        .env("TABLE_NAME", &aws.resources.table_name)
        .env("DNC_TABLE_NAME", &aws.resources.dnc_table_name)
        .env("WEBHOOK_SECRET", LOCAL_SECRET)
        .env_remove("WEBHOOK_SECRET_ARN")
        .env_remove("ACCEPT_LEGACY_V1_SIGNATURES");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn said(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn prove_json(aws: &TestAws, phone: &str, env: &[(&str, &str)]) -> (i32, Value) {
    let output = dnc(aws, &["prove", phone, "--json"], env);
    let json =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", said(&output)));
    (output.status.code().unwrap(), json)
}

/// A key 9 through the webhook and the relay, as in production.
async fn key_9_through_the_stack(aws: &TestAws, phone: &str) {
    let webhook = aws.handler().await;
    let event = signed(&body(
        "lead.call_key_pressed",
        "prove",
        "2024-01-28T12:00:00Z",
        phone,
        r#""callType":"inbound","keypressNumber":"9""#,
    ));
    let (status, answer) = deliver(&webhook, &event).await;
    assert_eq!(status, 200, "{answer}");
    aws.pump().await;
}

#[tokio::test]
async fn a_key_9_through_the_webhook_and_relay_is_proven() {
    let aws = TestAws::new().await;
    key_9_through_the_stack(&aws, PHONE).await;

    let (code, proof) = prove_json(&aws, PHONE, &[]);
    assert_eq!(code, 0, "{proof:#}");
    assert_eq!(proof["verdict"], "proven");
    assert_eq!(proof["onRegister"], true);
    assert_eq!(proof["evidence"]["verified"], true);
    assert_eq!(proof["evidence"]["scheme"], "v2");
    assert_eq!(proof["reason"], "keypress_9");
    assert_eq!(proof["campaignId"], "prove");
    assert_eq!(proof["requestState"], "sent");
    assert!(proof["requestSentAt"].is_string());
    assert_eq!(proof["businessDaysToRequest"], 0);
    assert_eq!(proof["signals"], 1);
    let leads = proof["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 1, "lead items only: {leads:?}");
    assert_eq!(leads[0]["campaignId"], "prove");
    assert_eq!(leads[0]["dnc"], true);

    // The report a person reads: the verdict first.
    let report = dnc(&aws, &["prove", PHONE], &[]);
    let text = String::from_utf8_lossy(&report.stdout);
    assert_eq!(report.status.code(), Some(0), "{}", said(&report));
    assert!(text.starts_with("PROVEN: +12025550801"), "{text}");
    assert!(text.contains("0 business day(s)"), "{text}");

    // The phone read as import and scrub read it: a national number of --default-country.
    for national in [
        "(202) 555-0801",
        "202.555.0801",
        "+1 202 555 0801",
        "12025550801",
    ] {
        let report = dnc(&aws, &["prove", national, "--json"], &[]);
        assert_eq!(
            report.status.code(),
            Some(0),
            "{national}: {}",
            said(&report)
        );
        let proof: Value = serde_json::from_slice(&report.stdout).unwrap();
        assert_eq!(proof["phone"], PHONE, "{national}");
    }
    let elsewhere = dnc(
        &aws,
        &[
            "prove",
            "020 7946 0018",
            "--default-country",
            "GB",
            "--json",
        ],
        &[],
    );
    assert_eq!(elsewhere.status.code(), Some(1), "{}", said(&elsewhere));
    let proof: Value = serde_json::from_slice(&elsewhere.stdout).unwrap();
    assert_eq!(proof["phone"], "+442079460018");

    // A secret that did not sign it proves nothing.
    let (code, proof) = prove_json(
        &aws,
        PHONE,
        &[("WEBHOOK_SECRET", "another-secret-of-sixteen")],
    );
    assert_eq!(code, 2);
    assert_eq!(proof["evidence"]["verified"], false);
}

#[tokio::test]
async fn one_byte_of_the_kept_body_changed_is_not_proven() {
    let aws = TestAws::new().await;
    key_9_through_the_stack(&aws, PHONE).await;
    let mut item = aws.register_item(PHONE).await.unwrap();
    let AttributeValue::M(evidence) = item.get_mut("evidence").unwrap() else {
        panic!("evidence is a map");
    };
    let AttributeValue::S(body) = evidence.get_mut("body").unwrap() else {
        panic!("the body is text");
    };
    *body = body.replacen("\"9\"", "\"8\"", 1);
    aws.dynamodb
        .put_item()
        .table_name(&aws.resources.dnc_table_name)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();

    let (code, proof) = prove_json(&aws, PHONE, &[]);
    assert_eq!(code, 2, "{proof:#}");
    assert_eq!(proof["verdict"], "notProven");
    assert_eq!(proof["evidence"]["verified"], false);
    let report = dnc(&aws, &["prove", PHONE], &[]);
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(
        text.starts_with("NOT PROVEN: +12025550801: the kept signature does not match"),
        "{text}"
    );
}

#[tokio::test]
async fn a_phone_never_registered_exits_1_and_an_invalid_one_exits_3() {
    let aws = TestAws::new().await;
    let (code, proof) = prove_json(&aws, "+12025550899", &[]);
    assert_eq!(code, 1);
    assert_eq!(proof["onRegister"], false);
    let report = dnc(&aws, &["prove", "+12025550899"], &[]);
    assert!(String::from_utf8_lossy(&report.stdout).starts_with("NOT ON THE REGISTER"));

    for bad in ["555-0100", "+0123", "call me", "not-a-phone"] {
        let output = dnc(&aws, &["prove", bad], &[]);
        assert_eq!(output.status.code(), Some(3), "{bad}: {}", said(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("E.164"), "{stderr}");
    }
    // Bad arguments and a missing configuration are 3 as well, in one line.
    assert_eq!(dnc(&aws, &["prove"], &[]).status.code(), Some(3));
    assert_eq!(
        dnc(&aws, &["export", "--format", "xml"], &[]).status.code(),
        Some(3)
    );
    let output = dnc(&aws, &["prove", PHONE], &[("DNC_TABLE_NAME", "")]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("DNC_TABLE_NAME"));
    // AWS unreachable: said before the SDK's retries (the default ones here), in one line.
    let output = dnc(
        &aws,
        &["prove", PHONE],
        &[("AWS_ENDPOINT_URL", support::aws::CLOSED_ENDPOINT)],
    );
    assert_eq!(output.status.code(), Some(3), "{}", said(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot reach DynamoDB at 127.0.0.1:9"),
        "{stderr}"
    );
    assert!(dnc(&aws, &["prove", "--help"], &[]).status.success());
}

#[tokio::test]
async fn a_legacy_v1_signal_is_proven_only_where_v1_is_accepted() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let event = resign(sample("31-legacy-dnc-created.json"), LOCAL_SECRET);
    let (status, answer) = deliver(&webhook, &event).await;
    assert_eq!(status, 200, "{answer}");
    aws.pump().await;
    let phone = "+12025550108";

    let (code, proof) = prove_json(&aws, phone, &[]);
    assert_eq!(code, 0, "{proof:#}");
    assert_eq!(proof["evidence"]["scheme"], "v1");
    assert_eq!(proof["reason"], "dnc_created");
    let (code, _) = prove_json(&aws, phone, &[("ACCEPT_LEGACY_V1_SIGNATURES", "true")]);
    assert_eq!(code, 0);

    let (code, proof) = prove_json(&aws, phone, &[("ACCEPT_LEGACY_V1_SIGNATURES", "false")]);
    assert_eq!(code, 2);
    assert_eq!(proof["evidence"]["verified"], false);
    assert!(
        proof["problem"]
            .as_str()
            .unwrap()
            .contains("ACCEPT_LEGACY_V1_SIGNATURES is false")
    );
}

#[tokio::test]
async fn a_signal_whose_body_is_not_utf8_is_proven_over_its_exact_bytes() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let mut bytes = br#"{"metadata":{"apiVersion":"2026-02-09","eventType":"lead.call_key_pressed","campaignId":"exact","eventTime":"2024-01-28T12:00:00Z","note":"caf"#.to_vec();
    bytes.push(0xe9);
    bytes.extend_from_slice(
        format!(r#""}},"data":{{"phone":"{PHONE}","callType":"inbound","keypressNumber":"9"}}}}"#)
            .as_bytes(),
    );
    let (status, answer) = deliver(&webhook, &signed_bytes(&bytes)).await;
    assert_eq!(status, 200, "{answer}");
    aws.pump().await;

    let (code, proof) = prove_json(&aws, PHONE, &[]);
    assert_eq!(code, 0, "{proof:#}");
    assert!(
        proof["evidence"]["bodyBase64"].is_string(),
        "kept in base64"
    );
    assert_eq!(proof["evidence"]["verified"], true);
}

/// An entry as the relay writes it, signed with the local secret.
fn entry(phone: &str, i: u32) -> RegisterEntry {
    let body = format!(r#"{{"n":{i},"phone":"{phone}"}}"#);
    let header = sign_v2(
        &Secret::new(LOCAL_SECRET).unwrap(),
        1_706_443_200_000,
        body.as_bytes(),
    );
    let evidence = Evidence::of_request("2024-01-26T12:00:01.000Z".into(), header, body.as_bytes());
    key9_entry(
        phone,
        "export",
        "2024-01-26T12:00:00.000Z",
        &format!("evt_{i}"),
        evidence,
    )
}

async fn put_all(aws: &TestAws, items: Vec<HashMap<String, AttributeValue>>) {
    support::register::put_register_items(aws, &items).await;
}

const ENTRIES: u32 = 300;
const TAMPERED: &str = "+12025551007";
const UNREADABLE: &str = "+12025551011";

/// A register of 300 entries: one with its evidence body changed, one this code cannot
/// read (its `version` is not a number).
async fn register_of_300(aws: &TestAws) {
    let mut items = Vec::new();
    for i in 0..ENTRIES {
        let phone = format!("+1202555{:04}", 1000 + i);
        let mut item = register_item(&Phone::parse(&phone).unwrap(), &entry(&phone, i), 1).unwrap();
        if phone == TAMPERED {
            let AttributeValue::M(evidence) = item.get_mut("evidence").unwrap() else {
                panic!("evidence is a map");
            };
            evidence.insert(
                "body".into(),
                AttributeValue::S(format!(r#"{{"n":8,"phone":"{phone}"}}"#)),
            );
        }
        if phone == UNREADABLE {
            item.insert("version".into(), AttributeValue::S("seven".into()));
        }
        items.push(item);
    }
    put_all(aws, items).await;
}

#[tokio::test]
async fn export_writes_every_entry_with_its_verdict_as_json_lines_and_csv() {
    let aws = TestAws::new().await;
    register_of_300(&aws).await;

    let output = dnc(&aws, &["export"], &[]);
    assert!(output.status.success(), "{}", said(&output));
    let rows: Vec<Value> = String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rows.len(), ENTRIES as usize);
    let by_phone: HashMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["phone"].as_str().unwrap(), r))
        .collect();
    assert_eq!(by_phone.len(), ENTRIES as usize, "each entry once");
    for (phone, row) in &by_phone {
        let expected = *phone != TAMPERED && *phone != UNREADABLE;
        assert_eq!(row["verified"], expected, "{phone}: {row}");
        if expected {
            assert_eq!(row["requestState"], "sent");
            assert_eq!(row["reason"], "keypress_9");
            assert_eq!(row["signals"], 1);
            assert!(row["problem"].is_null());
        }
        for field in ["dncAt", "campaignId", "requestSentAt"] {
            assert!(row.get(field).is_some(), "{field}");
        }
    }
    assert!(
        by_phone[TAMPERED]["problem"]
            .as_str()
            .unwrap()
            .contains("does not match")
    );
    assert!(
        by_phone[UNREADABLE]["problem"]
            .as_str()
            .unwrap()
            .contains("cannot be read")
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("300 entries, 298 verified"));

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("export.csv");
    let output = dnc(
        &aws,
        &[
            "export",
            "--format",
            "csv",
            "--out",
            out.to_str().unwrap(),
            "--segments",
            "3",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", said(&output));
    assert!(output.stdout.is_empty(), "the rows go to the file");
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "phone",
            "dncAt",
            "reason",
            "campaignId",
            "requestState",
            "requestSentAt",
            "signals",
            "verified",
            "problem",
            "earlierRequest",
            "kind",
            "channel"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), ENTRIES as usize);
    for record in &records {
        let expected = &record[0] != TAMPERED && &record[0] != UNREADABLE;
        let kind = if &record[0] == UNREADABLE {
            ""
        } else {
            "signed"
        };
        assert_eq!(&record[10], kind, "{record:?}");
        assert_eq!(
            &record[7],
            if expected { "true" } else { "false" },
            "{record:?}"
        );
    }
}

#[tokio::test]
async fn an_exported_csv_runs_no_formula_in_a_spreadsheet_and_replaces_its_file_whole() {
    let aws = TestAws::new().await;
    let phone = "+12025551500";
    let body = r#"{"n":1}"#;
    let header = sign_v2(
        &Secret::new(LOCAL_SECRET).unwrap(),
        1_706_443_200_000,
        body.as_bytes(),
    );
    let evidence = Evidence::of_request("2024-01-26T12:00:01.000Z".into(), header, body.as_bytes());
    let hostile = "=HYPERLINK(\"http://x\",\"y\")";
    let entry = key9_entry(
        phone,
        hostile,
        "2024-01-26T12:00:00.000Z",
        "evt_f",
        evidence,
    );
    put_all(
        &aws,
        vec![register_item(&Phone::parse(phone).unwrap(), &entry, 1).unwrap()],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("export.csv");
    std::fs::write(&out, "an earlier export\n").unwrap();
    let out_arg = out.to_str().unwrap();
    let args = ["export", "--format", "csv", "--out", out_arg];
    // DynamoDB unreachable: the earlier file stays whole.
    let failed = dnc(
        &aws,
        &args,
        &[("AWS_ENDPOINT_URL", support::aws::CLOSED_ENDPOINT)],
    );
    assert_eq!(failed.status.code(), Some(3), "{}", said(&failed));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "an earlier export\n"
    );
    let output = dnc(&aws, &args, &[]);
    assert!(output.status.success(), "{}", said(&output));
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let record = reader.records().next().unwrap().unwrap();
    assert_eq!(&record[0], phone, "a phone stays exact");
    assert_eq!(&record[3], format!("'{hostile}"), "text, not a formula");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[tokio::test]
async fn an_export_that_cannot_reach_the_register_says_so_in_one_line() {
    let aws = TestAws::new().await;
    let output = dnc(
        &aws,
        &["export"],
        &[
            ("AWS_ENDPOINT_URL", support::aws::CLOSED_ENDPOINT),
            ("AWS_MAX_ATTEMPTS", "1"),
        ],
    );
    assert_eq!(output.status.code(), Some(3), "{}", said(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot reach DynamoDB"), "{stderr}");
}

/// DynamoDB throttles a scan or a read where moto never does: behind a proxy that answers
/// throttling and a 500 to the first calls, `export` and `prove` retry and finish whole.
/// (Multi-threaded: the proxy serves while the test waits for the binary.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_prove_read_through_throttling() {
    use support::fault_proxy::{Fault, FaultProxy};
    let aws = TestAws::new().await;
    register_of_300(&aws).await;
    let moto = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let proxy = FaultProxy::start(&moto).await;
    // DescribeTable passes; four of the eight segments' first scans are refused.
    proxy.inject(&[
        Fault::Pass,
        Fault::Throttle,
        Fault::Error("ProvisionedThroughputExceededException"),
        Fault::Throttle,
        Fault::Http500,
    ]);
    let through = [("AWS_ENDPOINT_URL", proxy.endpoint.as_str())];
    let output = dnc(&aws, &["export"], &through);
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 300);
    assert!(String::from_utf8_lossy(&output.stderr).contains("300 entries, 298 verified"));
    assert!(proxy.calls() >= 1 + 8 + 4, "{} calls", proxy.calls());

    proxy.inject(&[Fault::Throttle, Fault::Throttle]);
    let output = dnc(&aws, &["prove", "+12025551000", "--json"], &through);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
}

/// The secrets from Secrets Manager, as deployed (`WEBHOOK_SECRET_ARN`), after a rotation:
/// evidence signed with the old secret is proven while the old one is still in the value,
/// and not proven, with the way out named, once only the new one is.
#[tokio::test]
async fn prove_reads_the_secret_from_secrets_manager_and_names_a_rotated_out_secret() {
    let aws = TestAws::new().await;
    key_9_through_the_stack(&aws, PHONE).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws.sdk);
    let arn = secrets
        .create_secret()
        .name(format!("{}-webhook", aws.resources.table_name))
        .secret_string(format!("rotation-new-secret-0123,{LOCAL_SECRET}"))
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let from_arn = [("WEBHOOK_SECRET", ""), ("WEBHOOK_SECRET_ARN", arn.as_str())];
    let (code, proof) = prove_json(&aws, PHONE, &from_arn);
    assert_eq!(code, 0, "{proof:#}");

    secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string("rotation-new-secret-0123")
        .send()
        .await
        .unwrap();
    let (code, proof) = prove_json(&aws, PHONE, &from_arn);
    assert_eq!(code, 2, "{proof:#}");
    assert!(
        proof["problem"]
            .as_str()
            .unwrap()
            .contains("add it to WEBHOOK_SECRET"),
        "{proof:#}"
    );
}
