//! `call-events-dnc prove PHONE --html FILE` (docs/contract.md §8) on moto, through the
//! binary: the page is self-contained, renders in headless Chromium with its verdict,
//! timeline, request and verification (a screenshot is left in `.local/` for a person to
//! look at), and the verification it prints, run as printed with the secret, gives the
//! header's own signature.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::aws::{LOCAL_SECRET, TestAws, deliver, signed};
use support::body;

const PHONE: &str = "+12025550861";

/// Headless Chromium, or one clear line saying how to get it.
fn chromium() -> PathBuf {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let found = Command::new("which").arg(name).output().ok()?;
            let path = String::from_utf8(found.stdout).ok()?;
            (found.status.success() && !path.trim().is_empty()).then(|| PathBuf::from(path.trim()))
        })
        .unwrap_or_else(|| {
            panic!(
                "headless Chromium renders the proof page in this test: `apt-get install -y \
                 chromium` (.ci/run and scripts/test.sh install it when run as root)"
            )
        })
}

fn render(page: &Path, args: &[&str]) -> std::process::Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

/// Text of the page's `<pre>` blocks, unescaped.
fn pre_blocks(html: &str) -> Vec<String> {
    html.split("<pre")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find('>')? + 1;
            let end = rest.find("</pre>")?;
            Some(
                rest[start..end]
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_proof_page_renders_and_its_verification_gives_the_headers_signature() {
    let aws = TestAws::new().await;
    let (event, _) = press_9(&aws, PHONE).await;
    let proved = prove_page(&aws, PHONE, "proof-page");
    assert_eq!(proved.code, Some(0), "{}", proved.stderr);
    assert!(proved.stdout.starts_with("PROVEN"));
    let html = proved.html;
    for external in ["src=", "href=", "url(", "<script", "@import"] {
        assert!(!html.contains(external), "self-contained: {external}");
    }

    // Rendered as a browser renders it.
    let dom = proved.dom;
    let header = event["headers"]["aktify-signature"]
        .as_str()
        .or_else(|| event["headers"]["Aktify-Signature"].as_str())
        .map(str::to_owned)
        .unwrap_or_default();
    for text in [
        "PROVEN",
        PHONE,
        "Timeline",
        "10th business day",
        "request sent",
        "The request as received",
        "keypressNumber",
        "openssl dgst -sha256 -hmac",
    ] {
        assert!(dom.contains(text), "the rendered page shows {text:?}");
    }
    let v2 = header.split("v2=").nth(1).unwrap_or_default();
    assert!(
        !v2.is_empty() && dom.contains(v2),
        "the header's own signature"
    );

    // The verification, run as printed: the digest is the header's v2 value.
    let verify = pre_blocks(&html)
        .into_iter()
        .find(|block| block.contains("openssl dgst"))
        .expect("the verification block");
    let kept = tempfile::tempdir().unwrap();
    let work = kept.path();
    let ran = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &verify])
        .current_dir(work)
        .env("WEBHOOK_SECRET", LOCAL_SECRET)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&ran.stdout);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(printed.trim().ends_with(v2), "{printed} vs {v2}");
}

/// A key 9 on `phone`, pressed a minute before the platform sent it (as it happens),
/// delivered to the webhook and relayed: the signed event sent, and its date.
async fn press_9(aws: &TestAws, phone: &str) -> (serde_json::Value, String) {
    let webhook = aws.handler().await;
    let pressed = chrono::Utc::now() - chrono::Duration::minutes(1);
    let event = signed(&body(
        "lead.call_key_pressed",
        "page",
        &pressed.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        phone,
        r#""callType":"inbound","keypressNumber":"9""#,
    ));
    assert_eq!(deliver(&webhook, &event).await.0, 200);
    aws.pump().await;
    (event, pressed.format("%Y-%m-%d").to_string())
}

/// What `prove PHONE --html` did, and the page as Chromium rendered it.
struct Proved {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    html: String,
    dom: String,
}

/// `prove PHONE --html .local/<name>.html`, rendered in headless Chromium: its DOM, and a
/// screenshot left at `.local/<name>.png` for a person to look at.
fn prove_page(aws: &TestAws, phone: &str, name: &str) -> Proved {
    let dir = std::env::current_dir().unwrap().join(".local");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join(format!("{name}.html"));
    let output = Command::new(env!("CARGO_BIN_EXE_call-events-dnc"))
        .args(["prove", phone, "--html"])
        .arg(&page)
        .env("TABLE_NAME", &aws.resources.table_name)
        .env("DNC_TABLE_NAME", &aws.resources.dnc_table_name)
        .env("WEBHOOK_SECRET", LOCAL_SECRET)
        .env_remove("WEBHOOK_SECRET_ARN")
        .output()
        .unwrap();
    let html = std::fs::read_to_string(&page).unwrap_or_default();
    // Written beside its target and renamed: no temporary file left.
    let partial = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            file.starts_with(&format!(".{name}.html.")) && file.ends_with(".partial")
        });
    assert!(!partial, "a temporary file of {name}.html left in .local/");
    let dom = render(&page, &["--dump-dom"]);
    let screenshot = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&screenshot);
    let shot = render(
        &page,
        &[
            "--window-size=1100,1500",
            &format!("--screenshot={}", screenshot.display()),
        ],
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    Proved {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        html,
        dom: String::from_utf8_lossy(&dom.stdout).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_first_and_imported_only_pages_tell_the_lists_date_the_request_and_the_send_apart()
{
    const FIRST: &str = "+12025550871";
    const ONLY: &str = "+12025550872";
    let aws = TestAws::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("crm.csv");
    std::fs::write(
        &list,
        format!("phone,requestedAt\n{FIRST},2025-01-15\n{ONLY},2025-01-20\n"),
    )
    .unwrap();
    let imported = Command::new(env!("CARGO_BIN_EXE_call-events-dnc"))
        .arg("import")
        .arg(&list)
        .args(["--source", "crm"])
        .env("DNC_TABLE_NAME", &aws.resources.dnc_table_name)
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    // The platform then reports FIRST: its signed signal stands beside the list's date.
    let (_, today) = press_9(&aws, FIRST).await;

    let Proved {
        code,
        stdout: report,
        dom,
        ..
    } = prove_page(&aws, FIRST, "proof-page-imported-first");
    assert_eq!(code, Some(0), "{report}");
    let headline = report.lines().next().unwrap_or_default();
    assert!(
        headline.contains(&format!("the platform's signed signal of {today} verifies"))
            && headline.contains("the earlier date 2025-01-15 is the company's own record"),
        "{headline}"
    );
    assert!(report.contains("list's date"), "{report}");
    for said in [
        &format!("the platform's signed signal of {today} verifies") as &str,
        "Opt-out, by the company's list",
        "imported (a line of the company's own list)",
        "The company's list <code>crm</code> dates the opt-out 2025-01-15",
        "The platform's request reached the webhook",
        "from the platform's request's receipt to the DNC request's send",
    ] {
        assert!(dom.contains(said), "the page says {said:?}");
    }
    assert!(
        !dom.contains("long before"),
        "the list's date is not the request's"
    );

    let Proved {
        code,
        stdout: report,
        dom,
        ..
    } = prove_page(&aws, ONLY, "proof-page-imported-only");
    assert_eq!(code, Some(4), "{report}");
    assert!(report.contains("none: no DNC request is owed"), "{report}");
    for said in [
        "IMPORTED, NOT SIGNED",
        "No business days are counted: no DNC request is owed",
        "2025-01-20",
    ] {
        assert!(dom.contains(said), "the page says {said:?}");
    }
    assert!(
        !dom.contains("pending, refused"),
        "the reason matches the state"
    );
}

/// An opt-out a company service recorded through the register's API: the page names who
/// recorded it, the channel, the reference and the request as received, and says it rests
/// on the company's own record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_opt_out_s_page_names_who_recorded_it_and_what_it_rests_on() {
    use call_events::adapters::DynamoDncRegister;
    use call_events::entrypoints::api::{ApiEvent, ApiHandler};
    use call_events::usecases::ask::DEADLINE;
    const RECORDED: &str = "+12025550873";
    let aws = TestAws::new().await;
    let register = DynamoDncRegister::new(aws.dynamodb.clone(), &aws.resources.dnc_table_name);
    let api = ApiHandler::new(register.clone(), register, DEADLINE);
    let principal = "arn:aws:sts::123456789012:assumed-role/agent-desk/maria";
    let body = r#"{"phone":"+12025550873","channel":"agent","occurredAt":"2026-12-01T15:04:05Z","reference":"call-8812","note":"asked never to be called again"}"#;
    let event = ApiEvent::read(serde_json::json!({
        "rawPath": "/v1/opt-outs",
        "body": body,
        "requestContext": {
            "requestId": "Gx1aXjT2oAMEV9Q=",
            "http": { "method": "POST", "path": "/v1/opt-outs", "sourceIp": "10.20.30.40" },
            "authorizer": { "iam": { "userArn": principal } }
        }
    }));
    let (answer, _) = api.respond(&event).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let proved = prove_page(&aws, RECORDED, "proof-page-recorded");
    assert_eq!(proved.code, Some(4), "{}{}", proved.stdout, proved.stderr);
    for shown in [
        "RECORDED, NOT SIGNED",
        principal,
        "Channel",
        "call-8812",
        "10.20.30.40",
        "asked never to be called again",
        "api (recorded by a company service",
    ] {
        assert!(proved.dom.contains(shown), "{shown} not on the page");
    }
}
