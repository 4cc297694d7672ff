//! `call-events-dnc import` (docs/contract.md §4a, §8) on moto, as an operator runs it: the
//! binary, its environment, its exit status and what it says, and what the register holds
//! after. A list of 1,000 lines (bad phones, bad dates, national numbers, duplicates, a
//! phone already on the register with a later signal and one with an earlier) is taken by
//! the register's rules; a second import changes nothing; `--strict` and `--dry-run` write
//! nothing; `--request` owes one request per new phone, which the sweep sends; `prove` of
//! an imported entry shows its provenance and exits 4; `export` names each entry's kind.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use call_events::adapters::dynamodb::register::register_item;
use call_events::core::domain::{Phone, Timestamp};
use call_events::core::register::{Evidence, RequestState};
use call_events::usecases::relay::SWEEP_GRACE;
use serde_json::Value;
use sha2::Digest;
use support::aws::{Item, LOCAL_SECRET, TestAws, body_json, n, s};
use support::register::key9_entry;

const LATER_ON_REGISTER: &str = "+12025559001";
const EARLIER_ON_REGISTER: &str = "+12025559002";

fn dnc(aws: &TestAws, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_call-events-dnc"))
        .args(args)
        .env("TABLE_NAME", &aws.resources.table_name)
        .env("DNC_TABLE_NAME", &aws.resources.dnc_table_name)
        .env("WEBHOOK_SECRET", LOCAL_SECRET)
        .output()
        .unwrap()
}

fn import(aws: &TestAws, file: &Path, more: &[&str]) -> Output {
    let file = file.to_string_lossy();
    let mut args = vec!["import", file.as_ref(), "--source", "crm-2024"];
    args.extend(more);
    dnc(aws, &args)
}

fn said(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn summary(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find(|l| l.starts_with("import"))
        .unwrap_or_else(|| panic!("no summary:\n{}", said(output)))
        .to_owned()
}

/// A folder of the system's temporary folder, removed with everything in it when dropped.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("import-{name}-"))
        .tempdir()
        .unwrap()
}

/// A phone put on the register by the platform, at `at`, its request sent.
async fn on_register(aws: &TestAws, phone: &str, at: &str) {
    let evidence = Evidence::of_request(at.into(), "t=1,v2=00".into(), b"{}");
    let mut entry = key9_entry(
        phone,
        "camp",
        at,
        "evt_00000000000000000000000000000001",
        evidence,
    );
    entry.request = RequestState::Sent {
        at: "2025-06-02T09:00:00.000Z".into(),
    };
    let item = register_item(&Phone::parse(phone).unwrap(), &entry, 1).unwrap();
    aws.dynamodb
        .put_item()
        .table_name(&aws.resources.dnc_table_name)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

async fn register(aws: &TestAws) -> HashMap<String, Item> {
    let mut all = HashMap::new();
    let mut start = None;
    loop {
        let page = aws
            .dynamodb
            .scan()
            .table_name(&aws.resources.dnc_table_name)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items.unwrap_or_default() {
            all.insert(s(&item, "phone").unwrap(), item);
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return all;
        }
    }
}

fn map<'a>(item: &'a Item, name: &str) -> &'a HashMap<String, AttributeValue> {
    item.get(name)
        .and_then(|v| v.as_m().ok())
        .unwrap_or_else(|| panic!("no map {name}"))
}

/// What the list of 1,000 lines should do.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    added: usize,
    already: usize,
    bad: Vec<u64>,
}

/// A CSV of 1,000 lines after its header: phone (E.164 or national), requestedAt, a note.
fn list() -> (String, Expected, Vec<String>) {
    let mut text = String::from("phone,requestedAt,note\n");
    let mut expected = Expected::default();
    let mut new_phones = Vec::new();
    text.push_str(&format!(
        "{LATER_ON_REGISTER},2024-01-28,later on the register\n"
    ));
    text.push_str(&format!(
        "{EARLIER_ON_REGISTER},2024-01-28,earlier on the register\n"
    ));
    let mut last = String::new();
    for i in 2..1000u64 {
        let line = i + 2; // the header is line 1
        let number = format!("202556{:04}", i);
        let row = match i {
            _ if i % 50 == 7 => {
                expected.bad.push(line);
                "n/a,2024-01-28,not a phone".to_owned()
            }
            _ if i % 100 == 13 => {
                expected.bad.push(line);
                format!("+1{number},yesterday,not a date")
            }
            _ if i % 25 == 0 => {
                expected.already += 1;
                format!("{last},duplicate")
            }
            _ => {
                expected.added += 1;
                new_phones.push(format!("+1{number}"));
                let (phone, date) = match i % 3 {
                    0 => (format!("+1{number}"), "2024-01-28"),
                    1 => (
                        format!("\"({}) {}-{}\"", &number[..3], &number[3..6], &number[6..]),
                        "2023-11-02T09:30:00Z",
                    ),
                    _ => (number.clone(), ""),
                };
                last = format!("{phone},{date}");
                format!("{last},line {i}")
            }
        };
        text.push_str(&row);
        text.push('\n');
    }
    (text, expected, new_phones)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_a_thousand_lines_joins_the_register_by_its_rules_once() {
    let aws = TestAws::new().await;
    on_register(&aws, LATER_ON_REGISTER, "2025-06-01T00:00:00Z").await;
    on_register(&aws, EARLIER_ON_REGISTER, "2023-01-01T00:00:00Z").await;
    let tmp = temp_dir("thousand");
    let dir = tmp.path();
    let file = dir.join("crm.csv");
    let (text, expected, new_phones) = list();
    std::fs::write(&file, &text).unwrap();
    let sha = hex::encode(sha2::Sha256::digest(text.as_bytes()));

    let first = import(&aws, &file, &[]);
    assert_eq!(
        first.status.code(),
        Some(1),
        "some lines refused\n{}",
        said(&first)
    );
    let stderr = String::from_utf8_lossy(&first.stderr);
    for line in &expected.bad {
        assert!(
            stderr.contains(&format!("line {line}: ")),
            "bad line {line} listed\n{stderr}"
        );
    }
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("line ")).count(),
        expected.bad.len(),
        "{stderr}"
    );
    let summary_line = summary(&first);
    assert!(
        summary_line.contains(&format!(
            "{} added, {} already there, 1 earlier date kept, 1 now first, {} refused",
            expected.added,
            expected.already,
            expected.bad.len()
        )),
        "{summary_line}"
    );

    let held = register(&aws).await;
    assert_eq!(held.len(), expected.added + 2);
    for phone in &new_phones {
        let item = &held[phone];
        assert_eq!(s(item, "reason").as_deref(), Some("imported"), "{phone}");
        assert_eq!(s(item, "requestState").as_deref(), Some("none"), "{phone}");
        assert!(!item.contains_key("pendingRequest"), "owes no request");
        let evidence = map(item, "evidence");
        let field = |name: &str| evidence.get(name).and_then(|v| v.as_s().ok()).cloned();
        assert_eq!(field("kind").as_deref(), Some("imported"));
        assert_eq!(field("source").as_deref(), Some("crm-2024"));
        assert_eq!(field("fileSha256").as_deref(), Some(sha.as_str()));
        let line: usize = evidence["line"].as_n().unwrap().parse().unwrap();
        let line_text = field("lineText").unwrap();
        assert_eq!(
            text.lines().nth(line - 1),
            Some(line_text.as_str()),
            "the line's exact text"
        );
    }
    // A national number, normalised; its requestedAt its dncAt.
    let national = &held["+12025560004"];
    assert_eq!(
        s(national, "dncAt").as_deref(),
        Some("2023-11-02T09:30:00.000Z")
    );
    // No requestedAt: the import's time.
    let undated = s(&held["+12025560005"], "dncAt").unwrap();
    assert!(undated.as_str() > "2026-12-01", "{undated}");

    // The platform's later signal: the import's earlier date goes first, the signed
    // signal stays beside it, the request already sent stays sent.
    let later = &held[LATER_ON_REGISTER];
    assert_eq!(
        s(later, "dncAt").as_deref(),
        Some("2024-01-28T00:00:00.000Z")
    );
    assert_eq!(s(later, "reason").as_deref(), Some("imported"));
    assert_eq!(s(later, "requestState").as_deref(), Some("sent"));
    assert_eq!(
        map(later, "signedSignal")["reason"].as_s().unwrap(),
        "keypress_9"
    );
    assert_eq!(n(later, "signals"), Some(2));
    // The platform's earlier signal stays first; the import is counted.
    let earlier = &held[EARLIER_ON_REGISTER];
    assert_eq!(
        s(earlier, "dncAt").as_deref(),
        Some("2023-01-01T00:00:00.000Z")
    );
    assert_eq!(s(earlier, "reason").as_deref(), Some("keypress_9"));
    assert!(!earlier.contains_key("signedSignal"));
    assert_eq!(n(earlier, "signals"), Some(2));

    // The same file again: nothing changes, not even a version.
    let again = import(&aws, &file, &[]);
    assert_eq!(again.status.code(), Some(1), "{}", said(&again));
    assert!(
        summary(&again).contains(&format!(
            "0 added, {} already there, 0 earlier date kept, 0 now first",
            expected.added + expected.already + 2
        )),
        "{}",
        summary(&again)
    );
    assert_eq!(
        register(&aws).await,
        held,
        "a second import changes nothing"
    );

    // prove: the provenance, and exit 4 (no platform signature behind it).
    let proof = dnc(&aws, &["prove", "+12025560003"]);
    assert_eq!(proof.status.code(), Some(4), "{}", said(&proof));
    let report = String::from_utf8_lossy(&proof.stdout);
    assert!(report.starts_with("IMPORTED, NOT SIGNED"), "{report}");
    assert!(
        report.contains("crm-2024") && report.contains(&sha),
        "{report}"
    );
    let json = dnc(&aws, &["prove", "+12025560003", "--json"]);
    assert_eq!(json.status.code(), Some(4));
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["kind"], "imported");
    assert_eq!(json["provenance"]["source"], "crm-2024");
    assert_eq!(json["provenance"]["line"], 5);
    assert_eq!(json["evidence"], Value::Null);
    // An imported first signal with the platform's signed one beside it is proven by
    // that one (here its stand-in signature does not verify: not proven, 2, not 4).
    let beside = dnc(&aws, &["prove", LATER_ON_REGISTER, "--json"]);
    assert_eq!(beside.status.code(), Some(2), "{}", said(&beside));
    let beside: Value = serde_json::from_slice(&beside.stdout).unwrap();
    assert_eq!(beside["kind"], "imported");
    assert_eq!(beside["signedAt"], "2025-06-01T00:00:00.000Z");

    // export: each row names its first signal's kind.
    let export = dnc(&aws, &["export"]);
    assert_eq!(export.status.code(), Some(0), "{}", said(&export));
    let kinds: HashMap<String, String> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|row| {
            (
                row["phone"].as_str().unwrap().to_owned(),
                row["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), expected.added + 2);
    assert_eq!(kinds[EARLIER_ON_REGISTER], "signed");
    assert_eq!(kinds["+12025560003"], "imported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_and_dry_run_write_nothing_and_request_owes_one_request_per_new_phone() {
    let aws = TestAws::new().await;
    let tmp = temp_dir("flags");
    let dir = tmp.path();
    let file = dir.join("dialer.txt");
    // One phone a line, no header; one bad line.
    std::fs::write(
        &file,
        "+12025557001\n202-555-7002\nnot a phone\n+12025557003\n",
    )
    .unwrap();

    let strict = import(&aws, &file, &["--strict"]);
    assert_eq!(strict.status.code(), Some(1), "{}", said(&strict));
    assert!(said(&strict).contains("line 3: invalid phone: not a phone"));
    assert!(said(&strict).contains("--strict: nothing written"));
    assert!(register(&aws).await.is_empty());

    let dry = import(&aws, &file, &["--dry-run", "--request"]);
    assert_eq!(dry.status.code(), Some(1), "{}", said(&dry));
    assert!(
        summary(&dry).starts_with("import (dry run)"),
        "{}",
        summary(&dry)
    );
    assert!(summary(&dry).contains("3 added"), "{}", summary(&dry));
    assert!(
        summary(&dry).ends_with("nothing written"),
        "{}",
        summary(&dry)
    );
    assert!(register(&aws).await.is_empty());

    // One phone already on the register, imported earlier without a request: its entry
    // keeps that earlier date and owes no request.
    std::fs::write(dir.join("one.txt"), "+12025557003\n").unwrap();
    let one = import(&aws, &dir.join("one.txt"), &[]);
    assert_eq!(one.status.code(), Some(0), "{}", said(&one));

    let asked = import(&aws, &file, &["--request"]);
    assert_eq!(asked.status.code(), Some(1), "{}", said(&asked));
    assert!(
        summary(&asked).contains("2 added, 0 already there, 1 earlier date kept, 0 now first, 1 refused; 2 DNC request(s) owed"),
        "{}",
        summary(&asked)
    );
    let held = register(&aws).await;
    assert_eq!(
        s(&held["+12025557001"], "requestState").as_deref(),
        Some("pending")
    );
    assert_eq!(
        s(&held["+12025557002"], "requestState").as_deref(),
        Some("pending")
    );
    assert_eq!(
        s(&held["+12025557003"], "requestState").as_deref(),
        Some("none")
    );

    // The sweep sends them like any other pending request (past its grace).
    let relay = aws.relay();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
    let later = Timestamp::now().to_unix_parts().0 + SWEEP_GRACE.as_secs() as i64 + 1;
    let later = Timestamp::from_unix_parts(later, 0).unwrap();
    support::finished(relay.relay().sweep(later, deadline).await);
    let sent = aws.drain_only(&aws.resources.queues.dnc).await;
    let mut phones: Vec<String> = sent
        .iter()
        .map(|m| body_json(m)["phone"].as_str().unwrap().to_owned())
        .collect();
    phones.sort();
    assert_eq!(phones, ["+12025557001", "+12025557002"]);
    for message in &sent {
        let body = body_json(message);
        assert_eq!(body["reason"], "imported");
        assert_eq!(body["source"]["eventType"], "import");
        assert_eq!(body["evidence"]["kind"], "imported");
        assert_eq!(body["evidence"]["source"], "crm-2024");
        let parsed = call_events_messages::Message::from_json(message.body().unwrap());
        assert!(parsed.is_ok(), "the message crate reads it: {parsed:?}");
    }
    let held = register(&aws).await;
    assert_eq!(
        s(&held["+12025557001"], "requestState").as_deref(),
        Some("sent")
    );
    assert_eq!(
        s(&held["+12025557003"], "requestState").as_deref(),
        Some("none")
    );
}

#[test]
fn a_bad_argument_is_exit_3_with_one_line_and_nothing_read() {
    let tmp = temp_dir("arguments");
    let dir = tmp.path();
    let file = dir.join("list.txt");
    std::fs::write(&file, "+12025557001\n").unwrap();
    let file = file.to_string_lossy().into_owned();
    let run = |args: &[&str], table: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_call-events-dnc"));
        command.args(args).env_remove("DNC_TABLE_NAME");
        if let Some(table) = table {
            command.env("DNC_TABLE_NAME", table);
        }
        command.output().unwrap()
    };
    for (args, table, says) in [
        (
            vec!["import", &file, "--source", " "],
            Some("t"),
            "--source",
        ),
        (
            vec!["import", &file, "--source", "crm"],
            None,
            "DNC_TABLE_NAME",
        ),
        (
            vec![
                "import",
                &file,
                "--source",
                "crm",
                "--default-country",
                "XX",
            ],
            Some("t"),
            "country code",
        ),
        (
            vec!["import", "/no/such/list.csv", "--source", "crm"],
            Some("t"),
            "cannot read",
        ),
    ] {
        let output = run(&args, table);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {}", said(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_line_is_the_physical_line_whatever_the_line_endings() {
    let aws = TestAws::new().await;
    let tmp = temp_dir("endings");
    let dir = tmp.path();
    let file = dir.join("excel.csv");
    // CRLF (as Excel and Windows write), a quoted note with two line breaks, a blank line,
    // an LF line, a bad line, and a last line without an ending.
    let text = "phone,note\r\n+12025557101,\"said\r\nstop\nplease\"\r\n\r\n+12025557102,lf\nn/a,bad\r\n+12025557103,last";
    std::fs::write(&file, text).unwrap();
    let output = import(&aws, &file, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert!(said(&output).contains("line 7: "), "{}", said(&output));
    let held = register(&aws).await;
    for (phone, line, line_text) in [
        ("+12025557101", 2, "+12025557101,\"said\r\nstop\nplease\""),
        ("+12025557102", 6, "+12025557102,lf"),
        ("+12025557103", 8, "+12025557103,last"),
    ] {
        let evidence = map(&held[phone], "evidence");
        assert_eq!(
            evidence["line"].as_n().unwrap(),
            &line.to_string(),
            "{phone}"
        );
        assert_eq!(evidence["lineText"].as_s().unwrap(), line_text, "{phone}");
    }
}

/// The import reads the list once (as it hashes it) and imports those bytes: a list that can
/// be read only once, a named pipe, is imported whole, with the hash of what came through it.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_is_read_once_and_the_hash_is_of_the_bytes_imported() {
    let aws = TestAws::new().await;
    let tmp = temp_dir("pipe");
    let dir = tmp.path();
    let pipe = dir.join("list.csv");
    let made = Command::new("mkfifo").arg(&pipe).status().unwrap();
    assert!(made.success());
    let text = "phone,requestedAt\n+12025557201,2025-01-15\n+12025557202,2025-01-16\n";
    let writer = std::thread::spawn({
        let pipe = pipe.clone();
        move || std::fs::write(pipe, text).unwrap()
    });
    let output = tokio::task::spawn_blocking({
        let (pipe, table) = (pipe.clone(), aws.resources.dnc_table_name.clone());
        move || {
            let mut child = Command::new(env!("CARGO_BIN_EXE_call-events-dnc"))
                .arg("import")
                .arg(&pipe)
                .args(["--source", "pipe"])
                .env("DNC_TABLE_NAME", table)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            // A second read of the pipe would wait for a writer that never comes.
            for _ in 0..300 {
                if child.try_wait().unwrap().is_some() {
                    return Some(child.wait_with_output().unwrap());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            None
        }
    })
    .await
    .unwrap();
    writer.join().unwrap();
    let output = output.expect("the import read the pipe more than once and waited");
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let sha = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    assert!(summary(&output).contains(&sha), "{}", summary(&output));
    let held = register(&aws).await;
    for phone in ["+12025557201", "+12025557202"] {
        let evidence = map(&held[phone], "evidence");
        assert_eq!(evidence["fileSha256"].as_s().unwrap(), &sha, "{phone}");
    }
}
