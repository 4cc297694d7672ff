//! `call-events-dnc scrub` (docs/contract.md §8) on moto, as an operator runs it: the
//! binary, its environment, its exit status, its two outputs. A dial list of 10,000 rows
//! (one in ten on the register, some not a phone, national numbers, quoted fields, a field
//! with a line break, CRLF and LF endings, bytes that are not UTF-8) keeps every other row
//! byte for byte and in order; behind the fault proxy it survives `UnprocessedKeys` and
//! throttling.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::aws::TestAws;
use support::fault_proxy::{Fault, FaultProxy};
use support::register::put_key9_entries;

fn scrub(aws: &TestAws, args: &[&str], endpoint: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_call-events-dnc"));
    command
        .arg("scrub")
        .args(args)
        .env("DNC_TABLE_NAME", &aws.resources.dnc_table_name);
    if let Some(endpoint) = endpoint {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    command.output().unwrap()
}

fn said(output: &Output) -> String {
    format!(
        "exit {:?}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn register(aws: &TestAws, phones: &[String]) {
    put_key9_entries(aws, phones, "scrub").await;
}

/// A dial list of `rows` rows after a header: which rows must stay (their exact bytes),
/// and the register's phones. Every tenth row's phone is on the register (in E.164 or
/// national form); every 97th is not a phone.
fn dial_list(rows: usize) -> (Vec<u8>, Vec<u8>, Vec<String>, usize) {
    let mut file = b"id,name,phone,notes\r\n".to_vec();
    let mut kept = file.clone();
    let mut listed = Vec::new();
    let mut invalid = 0;
    for i in 0..rows {
        let number = format!("202555{:04}", i % 10_000);
        let phone = match i % 3 {
            0 => format!("+1{number}"),
            1 => format!("({}) {}-{}", &number[..3], &number[3..6], &number[6..]),
            _ => number.clone(),
        };
        let (phone, on_register, bad) = match i {
            _ if i % 97 == 5 => ("call me maybe".to_owned(), false, true),
            _ if i % 10 == 0 => (phone, true, false),
            _ => (phone, false, false),
        };
        if on_register {
            listed.push(format!("+1{number}"));
        }
        invalid += usize::from(bad);
        let name: Vec<u8> = match i % 7 {
            0 => b"\"Smith, Jo\"".to_vec(),
            1 => b"\"two\nlines\"".to_vec(),
            2 => vec![b'M', 0xfc, b'l', b'l', b'e', b'r'],
            _ => format!("lead {i}").into_bytes(),
        };
        let ending: &[u8] = if i % 2 == 0 { b"\r\n" } else { b"\n" };
        let mut row = format!("{i},").into_bytes();
        row.extend(name);
        row.extend(format!(",\"{phone}\",n{i}").bytes());
        row.extend(ending);
        file.extend(&row);
        if !on_register && !bad {
            kept.extend(&row);
        }
    }
    (file, kept, listed, invalid)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// A folder of the system's temporary folder, removed with everything in it when dropped.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("scrub-{name}-"))
        .tempdir()
        .unwrap()
}

#[tokio::test]
async fn a_dial_list_of_10000_rows_keeps_every_other_row_byte_for_byte_and_in_order() {
    let aws = TestAws::new().await;
    let (file, kept, listed, invalid) = dial_list(10_000);
    register(&aws, &listed).await;
    let tmp = temp_dir("10k");
    let dir = tmp.path();
    let list = write(dir, "list.csv", &file);
    let removed = dir.join("removed.csv").display().to_string();
    let output = scrub(&aws, &[&list, "--removed", &removed], None);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    assert!(output.stdout == kept, "the rows that stay, byte for byte");

    let mut reader = csv::Reader::from_path(&removed).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let dnc: Vec<_> = rows.iter().filter(|r| &r[1] == "dnc").collect();
    assert_eq!(dnc.len(), listed.len());
    assert_eq!(
        (&dnc[0][2], &dnc[0][3]),
        ("2024-01-26T12:00:00.000Z", "keypress_9")
    );
    assert_eq!(
        rows.iter().filter(|r| &r[1] == "invalid phone").count(),
        invalid
    );
    assert_eq!(rows.len(), listed.len() + invalid);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("10000 rows"), "{stderr}");
    assert!(stderr.contains("separate obligation"), "{stderr}");

    // Reads only: the register is as it was.
    let count = aws
        .dynamodb
        .scan()
        .table_name(&aws.resources.dnc_table_name)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap()
        .count;
    assert_eq!(count as usize, listed.len());
}

#[tokio::test]
async fn one_phone_a_line_and_a_named_column_are_read_too() {
    let aws = TestAws::new().await;
    register(&aws, &["+12025550111".to_owned()]).await;
    let tmp = temp_dir("layouts");
    let dir = tmp.path();
    let lines = write(
        dir,
        "lines.txt",
        b"+12025550110\n(202) 555-0111\n\n202 555 0112",
    );
    let output = scrub(&aws, &[&lines], None);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    assert_eq!(output.stdout, b"+12025550110\n\n202 555 0112");

    let named = write(
        dir,
        "named.csv",
        b"who;mobile\r\nx,+12025550111\r\ny,+12025550113\r\n",
    );
    let output = scrub(&aws, &[&named, "--phone-column", "MOBILE"], None);
    assert_eq!(
        output.status.code(),
        Some(3),
        "no column MOBILE with , as separator"
    );
    let named = write(
        dir,
        "named2.csv",
        b"who,mobile\r\nx,+12025550111\r\ny,+12025550113\r\n",
    );
    let output = scrub(&aws, &[&named, "--phone-column", "MOBILE"], None);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    assert_eq!(output.stdout, b"who,mobile\r\ny,+12025550113\r\n");

    let output = scrub(&aws, &[&named, "--default-country", "XX"], None);
    assert_eq!(output.status.code(), Some(3));
    let missing = dir.join("nope.csv").display().to_string();
    let output = scrub(&aws, &[&missing], None);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&output.stderr).lines().count(), 1);
}

// The proxy serves on the test's runtime while the binary runs: a second worker thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprocessed_keys_and_throttling_are_asked_again_until_every_row_is_decided() {
    let aws = TestAws::new().await;
    let (file, kept, listed, _) = dial_list(1_000);
    register(&aws, &listed).await;
    let tmp = temp_dir("faults");
    let dir = tmp.path();
    let list = write(dir, "list.csv", &file);
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    proxy.inject(&[
        Fault::Unprocessed,
        Fault::Throttle,
        Fault::Unprocessed,
        Fault::Throttle,
        Fault::Unprocessed,
        Fault::Unprocessed,
    ]);
    let output = scrub(&aws, &[&list], Some(&proxy.endpoint));
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    assert!(
        output.stdout == kept,
        "the same rows, whatever DynamoDB answered first"
    );
    let operations = proxy.operations();
    assert!(
        operations.iter().all(|op| op.ends_with(".BatchGetItem")),
        "reads only: {operations:?}"
    );
    // 1,000 rows hold at most 1,000 distinct phones: 10 batches, plus the faults' repeats.
    assert!(operations.len() >= 10 + 6, "{}", operations.len());

    // DynamoDB never answering: the scrub stops with one line, exit 3, not a hang.
    proxy.break_with(Fault::Unprocessed);
    let started = std::time::Instant::now();
    let output = scrub(&aws, &[&list], Some(&proxy.endpoint));
    assert_eq!(output.status.code(), Some(3), "{}", said(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("incomplete"));
    assert!(started.elapsed() < std::time::Duration::from_secs(120));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_may_name_the_list_or_the_other_output_and_nothing_is_destroyed() {
    let aws = TestAws::new().await;
    register(&aws, &["+12025550111".to_owned()]).await;
    let tmp = temp_dir("outputs");
    let dir = tmp.path();
    let original = b"phone,name\r\n+12025550110,a\r\n+12025550111,b\r\n";
    let list = write(dir, "list.csv", original);
    let roundabout = dir.join(".").join("list.csv").display().to_string();
    let fresh = dir.join("out.csv").display().to_string();
    for args in [
        vec![list.as_str(), "--out", list.as_str()],
        vec![list.as_str(), "--removed", list.as_str()],
        vec![list.as_str(), "--out", roundabout.as_str()],
        vec![
            list.as_str(),
            "--out",
            fresh.as_str(),
            "--removed",
            fresh.as_str(),
        ],
    ] {
        let output = scrub(&aws, &args, None);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {}", said(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("refused"), "{stderr}");
        assert_eq!(std::fs::read(&list).unwrap(), original, "{args:?}");
        assert!(!Path::new(&fresh).exists(), "nothing opened for writing");
    }

    // Standard output sent into the list (here opened to append, so nothing is lost yet;
    // a shell's `>` would have emptied it already) is refused the same way.
    let into_list = std::fs::OpenOptions::new()
        .append(true)
        .open(&list)
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_call-events-dnc"))
        .args(["scrub", &list])
        .env("DNC_TABLE_NAME", &aws.resources.dnc_table_name)
        .stdout(into_list)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", said(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("standard output"));
    assert_eq!(std::fs::read(&list).unwrap(), original);

    // A run that fails leaves an earlier output whole, and no temporary file beside it.
    std::fs::write(&fresh, b"yesterday's list\n").unwrap();
    let removed = dir.join("removed.csv").display().to_string();
    std::fs::write(&removed, b"yesterday's removed\n").unwrap();
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    proxy.break_with(Fault::Unprocessed);
    let output = tokio::task::spawn_blocking({
        let (list, fresh, removed, endpoint) = (
            list.clone(),
            fresh.clone(),
            removed.clone(),
            proxy.endpoint.clone(),
        );
        let table = aws.resources.dnc_table_name.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_call-events-dnc"))
                .args(["scrub", &list, "--out", &fresh, "--removed", &removed])
                .env("DNC_TABLE_NAME", table)
                .env("AWS_ENDPOINT_URL", endpoint)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", said(&output));
    assert_eq!(std::fs::read(&fresh).unwrap(), b"yesterday's list\n");
    assert_eq!(std::fs::read(&removed).unwrap(), b"yesterday's removed\n");
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "no temporary file left: {names:?}");

    // A run that completes replaces them.
    let output = scrub(&aws, &[&list, "--out", &fresh, "--removed", &removed], None);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    assert_eq!(
        std::fs::read(&fresh).unwrap(),
        b"phone,name\r\n+12025550110,a\r\n"
    );
    assert!(
        std::fs::read_to_string(&removed)
            .unwrap()
            .contains("+12025550111,b")
    );
}

#[tokio::test]
async fn an_empty_file_is_exit_0_and_a_header_without_a_phone_column_exit_3() {
    let aws = TestAws::new().await;
    let tmp = temp_dir("empty");
    let dir = tmp.path();
    let empty = write(dir, "empty.csv", b"");
    let output = scrub(&aws, &[&empty], None);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is empty"));
    for (name, bytes) in [
        ("blank.csv", &b"\r\n\n"[..]),
        ("no-phone.csv", b"id,mobile\n1,+12025550110\n"),
        ("one-word.csv", b"mobile\n+12025550110\n"),
    ] {
        let file = write(dir, name, bytes);
        let output = scrub(&aws, &[&file], None);
        assert_eq!(output.status.code(), Some(3), "{name}: {}", said(&output));
        assert_eq!(String::from_utf8_lossy(&output.stderr).lines().count(), 1);
    }
}

#[tokio::test]
async fn removed_rows_give_their_physical_line_reason_and_kind_apart_and_no_formula() {
    let aws = TestAws::new().await;
    register(
        &aws,
        &["+12025550111".to_owned(), "+12025550112".to_owned()],
    )
    .await;
    let tmp = temp_dir("lines");
    let dir = tmp.path();
    // CRLF, a quoted field with two line breaks, LF, a blank line, a last line without
    // an ending; a name a spreadsheet would run.
    let list = write(
        dir,
        "list.csv",
        b"phone,note\r\n+12025550110,\"a\r\nb\nc\"\r\n+12025550111,x\n\r\n+12025550112,=1+2",
    );
    let removed = dir.join("removed.csv").display().to_string();
    let output = scrub(&aws, &[&list, "--removed", &removed], None);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let mut reader = csv::Reader::from_path(&removed).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["line", "why", "dncAt", "reason", "kind", "channel", "row"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        rows,
        [
            [
                "5",
                "dnc",
                "2024-01-26T12:00:00.000Z",
                "keypress_9",
                "signed",
                "",
                "'+12025550111,x" // a row is text: not a phone alone, marked as text
            ],
            [
                "7",
                "dnc",
                "2024-01-26T12:00:00.000Z",
                "keypress_9",
                "signed",
                "",
                "'+12025550112,=1+2"
            ],
        ]
    );
}
