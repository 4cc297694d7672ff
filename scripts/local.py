#!/usr/bin/env python3
"""The local run's client side: delivers the sample events in events/ to the webhook
(running under `cargo lambda watch`), then shows and checks what it did: each delivery's
answer, the lead items, and the messages the relay (fed by scripts/relay_poller.py) put
on each queue, with how long each took from the webhook's answer to SQS.

Samples whose stored signature was made with the local secret are signed again at send
time, so the deployed 300 s tolerance applies unchanged; the bad-signature sample is
signed again with a wrong secret, so it still fails for the right reason.

  local.py run --url URL --port PORT --env-file .local/function.env
  local.py sign events/01-call-initiated.json     # prints the event signed now
"""
import argparse
import base64
import os
import hashlib
import hmac
import json
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import local_env  # scripts/local_env.py
import moto_look  # scripts/moto_look.py

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
LOCAL_SECRET = "local-dev-secret-do-not-deploy"
WRONG_SECRET = "not-the-configured-secret"
CAMPAIGN = "spring-campaign"

# What the contract predicts for each sample, delivered in file order.
EXPECTED = {
    "01-call-initiated.json": (200, "processed", []),
    "02-call-received.json": (200, "processed", []),
    "03-call-key-pressed-1.json": (200, "processed", []),
    "04-call-transferred.json": (200, "processed", []),
    "05-call-ended-transfer.json": (200, "processed", []),
    "06-call-key-pressed-2.json": (200, "processed", []),
    "07-call-scheduled.json": (200, "processed", ["callback"]),
    "08-call-ended-reschedule.json": (200, "processed", []),
    "09-call-key-pressed-9.json": (200, "processed", ["dnc"]),
    "10-call-ended-dnc.json": (200, "processed", ["dnc"]),
    "11-call-ended-no-response.json": (200, "processed", []),
    "12-rest-v1-call-initiated.json": (200, "processed", []),
    "13-base64-call-received.json": (200, "processed", []),
    "20-bad-signature.json": (401, "unauthorized", None),
    "21-malformed-json.json": (200, "quarantined", None),
    "22-invalid-phone.json": (200, "quarantined", None),
    "23-unknown-event-type.json": (200, "ignored", None),
    "24-get-request.json": (405, "method_not_allowed", None),
    "25-call-key-pressed-9-unknown-call-type.json": (200, "quarantined", ["dnc"]),
    "30-dnc-created.json": (200, "processed", ["dnc"]),
    "31-legacy-dnc-created.json": (200, "processed", ["dnc"]),
    # Decided for the autumn lead, which is not DNC; the relay does not send it, because
    # the phone pressed 9 in the spring campaign: DNC is company-wide.
    "32-call-scheduled-other-campaign.json": (200, "processed", ["callback"]),
    "33-legacy-webchat-lead-created.json": (200, "ignored", None),
}
# Delivered again at the end: the sender's retries.
REDELIVERED = ["07-call-scheduled.json", "09-call-key-pressed-9.json"]
EXPECTED_STATUS = {
    ("+12025550101", CAMPAIGN): "transferred",
    ("+12025550102", CAMPAIGN): "reschedule_requested",
    ("+12025550103", CAMPAIGN): "dnc",
    ("+12025550103", "autumn-campaign"): "callback_scheduled",
    ("+12025550104", CAMPAIGN): "no_response",
    ("+12025550105", CAMPAIGN): "in_call",
    ("+12025550107", "autumn-campaign"): "dnc",
}
# One DNC request per phone (+...103 key 9, +...107 dnc.created, +...108 legacy v1, +...109
# key 9 in a quarantined body); the autumn callback for +...103 is not sent.
EXPECTED_MESSAGES = {"callback": 1, "dnc": 4, "quarantine": 3}
EXPECTED_REGISTER = {
    "+12025550103": ("keypress_9", 2),
    "+12025550109": ("keypress_9", 1),
    "+12025550107": ("dnc_created", 1),
    "+12025550108": ("dnc_created", 1),
}


def raw_body(event):
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()


def hmac_hex(secret, message):
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_parts(event):
    header = (event.get("headers") or {}).get("aktify-signature", "")
    return dict(p.split("=", 1) for p in header.split(",") if "=" in p)


def signed_with(secret, event, body):
    parts = signature_parts(event)
    if "v1" in parts:  # a legacy webhook: the HMAC covers the body alone
        return parts["v1"] == hmac_hex(secret, body)
    return parts.get("v2") == hmac_hex(secret, parts.get("t", "").encode() + b"." + body)


def signed_with_local_secret(event, body):
    return signed_with(LOCAL_SECRET, event, body)


def resign(event):
    """The event signed now, as it was signed (v2, or v1 for a legacy sample), with the local
    secret; only a sample deliberately signed with the wrong secret (20-bad-signature) is
    signed with it again. An edited body gets a signature that matches it."""
    event = json.loads(json.dumps(event))
    headers = event.get("headers") or {}
    if "aktify-signature" not in headers:
        return event
    body = raw_body(event)
    secret = WRONG_SECRET if signed_with(WRONG_SECRET, event, body) else LOCAL_SECRET
    t = str(int(time.time() * 1000))
    if "v1" in signature_parts(event):
        header = f"t={t},v1={hmac_hex(secret, body)}"
    else:
        header = f"t={t},v2={hmac_hex(secret, t.encode() + b'.' + body)}"
    headers["aktify-signature"] = header
    if isinstance(event.get("multiValueHeaders"), dict):
        event["multiValueHeaders"]["aktify-signature"] = [header]
    return event


def post_over_http(url, event):
    method = event.get("requestContext", {}).get("http", {}).get("method") or event.get("httpMethod")
    request = urllib.request.Request(url, data=raw_body(event) or None, method=method)
    for name, value in (event.get("headers") or {}).items():
        if name.lower() not in ("host", "content-length"):
            request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def invoke_with_cargo_lambda(port, event):
    """REST (payload 1.0) samples go through `cargo lambda invoke`, as API Gateway sends them."""
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "event.json"
        path.write_text(json.dumps(event))
        out = subprocess.run(
            ["cargo", "lambda", "invoke", "call-events-receiver", "-A", "127.0.0.1", "-P", str(port), "--data-file", str(path), "-o", "json"],
            capture_output=True, text=True, check=True,
        )
    response = json.loads(out.stdout)
    return response["statusCode"], (response.get("body") or "").encode()


def deliver(url, port, name):
    event = resign(json.loads((EVENTS / name).read_text()))
    if "httpMethod" in event:
        status, body = invoke_with_cargo_lambda(port, event)
        via = "invoke v1"
    else:
        status, body = post_over_http(url, event)
        via = "HTTP v2"
    try:
        answer = json.loads(body)
    except ValueError:
        answer = {"error": f"not JSON: {body[:80]!r}"}
    return status, answer, via


def plain(value):
    """A DynamoDB attribute value as plain Python."""
    (kind, v), = value.items()
    if kind == "N":
        return int(v) if v.isdigit() else float(v)
    if kind == "M":
        return {k: plain(x) for k, x in v.items()}
    if kind == "L":
        return [plain(x) for x in v]
    return v


def drain(sqs, url, keep=False):
    """Every message on the queue; deleted, unless `keep` (then left there to look at: read
    from moto's own state, never received, so no look moves a message towards its DLQ)."""
    if keep:
        return moto_look.on_queue(os.environ["AWS_ENDPOINT_URL"], queue_of_url(url))
    messages = []
    while True:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                  AttributeNames=["SentTimestamp"], WaitTimeSeconds=0)
        batch = out.get("Messages", [])
        if not batch:
            return messages
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        messages.extend(batch)


def run(args):
    import boto3  # installed with moto into .venv

    env = local_env.read(args.env_file)
    problems = []
    print("\n== Deliveries ==")
    print(f"{'sample':34} {'via':10} {'HTTP':>4}  outcome        effects / reason")
    deliveries = [(name, EXPECTED[name]) for name in sorted(EXPECTED)]
    deliveries += [(name, (200, "duplicate", None)) for name in REDELIVERED]
    answered_at = {}  # eventId -> when the webhook answered (the write was committed)
    for name, (want_status, want_outcome, want_effects) in deliveries:
        status, answer, via = deliver(args.url, args.port, name)
        answered_at.setdefault(answer.get("eventId"), time.time())
        outcome = answer.get("status") or answer.get("error")
        detail = answer.get("effects", answer.get("reason", ""))
        print(f"{name:34} {via:10} {status:>4}  {outcome:14} {detail}")
        if (status, outcome) != (want_status, want_outcome) or (want_effects is not None and answer.get("effects") != want_effects):
            problems.append(f"{name}: got {status} {answer}, expected {want_status} {want_outcome} {want_effects or ''}")

    dynamodb = boto3.client("dynamodb")
    everything = [{k: plain(v) for k, v in item.items()} for item in dynamodb.scan(TableName=env["TABLE_NAME"])["Items"]]
    # Lead items, as docs/contract.md §4 tells readers to find them; the rest is not a lead.
    items = [i for i in everything if i["phone"].startswith("+") and not i["campaignId"].startswith("#")]
    signals = [i for i in everything if i["phone"].startswith("+") and i["campaignId"].startswith("#dnc-signal#")]
    kept = [i for i in everything if i["phone"].startswith("quarantine#")]
    print(f"\n== Lead items in {env['TABLE_NAME']} ==")
    shown = ["status", "externalLeadId", "lastEventType", "lastEventTime", "lastCallType", "lastCallResult", "lastKeypress",
             "transferredTo", "scheduledCallbackTime", "dnc", "dncAt", "dncReason",
             "callsInitiated", "callsReceived", "callsEnded", "callsTransferred", "keypresses", "version"]
    for item in sorted(items, key=lambda i: i["phone"]):
        print(f"{item['phone']} / {item['campaignId']}")
        print("    " + ", ".join(f"{k}={item[k]}" for k in shown if k in item))
        for version, entry in sorted((item.get("relayOutbox") or {}).items()):
            decided = list(entry.get("messages") or {}) + list(entry.get("dncSignals") or {})
            print(f"    waiting for the relay, decided by write {version}: {decided}")
    print(f"\n== DNC signals kept without a lead (under their phone, for the register): {len(signals)} ==")
    for item in sorted(signals, key=lambda i: i["phone"]):
        print(f"    {item['phone']} / {item['campaignId']}")
    print(f"\n== Quarantine records kept in the table before the answer: {len(kept)} ==")
    for item in kept:
        print(f"    {item['quarantine']['reason']}")
    statuses = {(i["phone"], i["campaignId"]): i.get("status") for i in items}
    if statuses != EXPECTED_STATUS:
        problems.append(f"lead statuses {statuses}, expected {EXPECTED_STATUS}")

    sqs = boto3.client("sqs")
    queues = [("callback", "CALLBACK_QUEUE_URL"), ("dnc", "DNC_QUEUE_URL"), ("quarantine", "QUARANTINE_QUEUE_URL")]
    # The relay sends from the stream after the answers: wait for it (its first run compiles).
    received = {queue: [] for queue, _ in queues}
    deadline = time.time() + 300
    keep = args.keep_messages
    while time.time() < deadline:
        for queue, key in queues:
            received[queue] = drain(sqs, env[key], keep) if keep else received[queue] + drain(sqs, env[key])
        if all(len(received[q]) >= EXPECTED_MESSAGES[q] for q, _ in queues):
            time.sleep(1)  # anything more (a duplicate) would show up now
            for queue, key in queues:
                received[queue] = drain(sqs, env[key], keep) if keep else received[queue] + drain(sqs, env[key])
            break
        time.sleep(0.2)
    for queue, _ in queues:
        messages = received[queue]
        print(f"\n== {queue} queue: {len(messages)} message(s) ==")
        for m in messages:
            attributes = {k: v.get("StringValue") for k, v in m.get("MessageAttributes", {}).items()}
            body = json.loads(m["Body"])
            source = (body.get("source") or {}).get("eventId")
            sent = int(m.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
            delay = f"{(sent - answered_at[source]) * 1000:.0f} ms after the webhook answered" if source in answered_at else ""
            print(f"  attributes {attributes}  {delay}")
            print(f"  {m['Body'][:400]}")
        # The contract's count is of distinct messages (ids): SQS is at-least-once, and the
        # relay may send an id again after a retried batch (FIFO deduplication
        # absorbs it within 5 minutes on AWS; moto's check-then-append can let a near-
        # simultaneous repeat through). A repeat is shown; a missing or extra id fails.
        ids = [json.loads(m["Body"]).get("id") or m["MessageId"] for m in messages]  # quarantine: no id
        if len(ids) != len(set(ids)):
            print(f"  (a repeat of an id already on the queue: {len(ids)} messages, {len(set(ids))} ids)")
        if len(set(ids)) != EXPECTED_MESSAGES[queue]:
            problems.append(f"{queue} queue has {len(set(ids))} distinct message(s), expected {EXPECTED_MESSAGES[queue]}")

    sent_ids = {json.loads(m["Body"]).get("id") for q, _ in queues for m in received[q]}
    on_register = {item["phone"]["S"] for item in dynamodb.scan(TableName=env["DNC_TABLE_NAME"])["Items"]}
    for item in items:
        waiting = [m for entry in (item.get("relayOutbox") or {}).values() for m in entry.get("messages") or {}]
        for message_id in waiting:
            if message_id.startswith("callback-") and message_id not in sent_ids:
                why = "its phone is on the DNC register" if item["phone"] in on_register else "NOT EXPLAINED"
                print(f"\n{message_id} of {item['phone']} / {item['campaignId']}: decided, not sent: {why}")
                if item["phone"] not in on_register:
                    problems.append(f"{message_id} was not sent")
    register = [{k: plain(v) for k, v in item.items()} for item in dynamodb.scan(TableName=env["DNC_TABLE_NAME"])["Items"]]
    print(f"\n== DNC register {env['DNC_TABLE_NAME']}: may we call this number? (one GetItem on phone) ==")
    for entry in sorted(register, key=lambda e: e["phone"]):
        evidence = entry["evidence"]
        print(f"{entry['phone']}: dncAt={entry['dncAt']}, reason={entry['reason']}, campaignId={entry.get('campaignId')}, "
              f"externalLeadId={entry.get('externalLeadId')}, signals={entry['signals']}")
        print(f"    source {entry['source']}")
        verified = signed_with_local_secret({"headers": {"aktify-signature": evidence["signatureHeader"]}}, evidence["body"].encode())
        print(f"    evidence received {evidence['receivedAt']}, {len(evidence['body'])} bytes, signature "
              f"{'verifies' if verified else 'DOES NOT verify'} with the local secret")
        if not verified:
            problems.append(f"register evidence of {entry['phone']} does not verify")
    got = {e["phone"]: (e["reason"], e["signals"]) for e in register}
    if got != EXPECTED_REGISTER:
        problems.append(f"register {got}, expected {EXPECTED_REGISTER}")

    print()
    if problems:
        print("NOT as the contract predicts:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("All deliveries, items and messages are as the contract predicts.")
    return 0


# Each event type through scripts/trigger.py, on fresh phones: what its output must show.
TRIGGERS = [
    (["lead.call_initiated"], ["=> HTTP 200", '"status":"processed"', "lead item"]),
    (["lead.call_received"], ["=> HTTP 200", '"status":"processed"', "lead item"]),
    (["lead.call_scheduled"], ["=> HTTP 200", '"effects":["callback"]', "callback: {", "not on it",
                                "decided, sent"]),
    (["lead.call_ended", "--result", "dnc"], ["=> HTTP 200", '"effects":["dnc"]', "do not call", "dnc: {"]),
    (["lead.call_transferred"], ["=> HTTP 200", '"status": "transferred"']),
    (["lead.call_key_pressed", "--key", "9"], ["=> HTTP 200", '"effects":["dnc"]', "do not call", "dnc: {"]),
    (["dnc.created"], ["=> HTTP 200", '"eventType":"dnc.created"', "do not call", "dnc: {"]),
    (["dnc.created", "--legacy"], ["=> HTTP 200", "no lead item", "do not call", '"campaignId": null']),
]


def trigger_shows(argv, phone, expected):
    """Runs the trigger command for `phone`; the problems, if its output lacks any of
    `expected` or it fails."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "trigger.py"), *argv, "--phone", phone],
                         capture_output=True, text=True)
    missing = [e for e in expected if e not in out.stdout]
    verdict = "ok" if out.returncode == 0 and not missing else f"MISSING {missing}"
    print(f"trigger.py {' '.join(argv):40} {phone}  {verdict}")
    return [] if verdict == "ok" else [f"trigger.py {' '.join(argv)}: {verdict}\n{out.stdout}{out.stderr}"]


def triggers():
    """Runs every event type through the trigger command and checks what it prints."""
    problems = []
    print("\n== Every event type through scripts/trigger.py ==")
    for i, (argv, expected) in enumerate(TRIGGERS):
        problems += trigger_shows(argv, f"+120255507{i:02d}", expected)
    # On one phone: a key 9, then a callback in another campaign, suppressed, then the same
    # callback event again (a fixed eventTime), answered duplicate with the reason why.
    phone = "+12025550790"
    for argv, expected in [
        (["lead.call_key_pressed", "--key", "9", "--campaign", "spring-campaign"], ["do not call"]),
        (["lead.call_scheduled", "--campaign", "autumn-campaign", "--time", "2024-01-28T12:00:00Z",
          "--scheduled-time", "2024-01-30T10:00:00Z"],
         ["decided, not sent: DNC"]),
        (["lead.call_scheduled", "--campaign", "autumn-campaign", "--time", "2024-01-28T12:00:00Z",
          "--scheduled-time", "2024-01-30T10:00:00Z"],
         ['"status":"duplicate"', "duplicate: this event was recorded before"]),
    ]:
        problems += trigger_shows(argv, phone, expected)
    # The register's API, as another service calls it: an agent's opt-out recorded, then
    # a dialer's check of it and of a phone nobody opted out.
    recorded, fresh = "+12025550780", "+12025550781"
    for argv, expected in [
        (["--opt-out", recorded, "--channel", "agent"],
         ["=> HTTP 202", '"onRegister":true', "recorded by", "do not call"]),
        (["--ask", recorded, fresh],
         ["=> HTTP 200", '"kinds":["api"]', f'"onRegister":false,"phone":"{fresh}"']),
    ]:
        out = subprocess.run([sys.executable, str(ROOT / "scripts" / "trigger.py"), *argv],
                             capture_output=True, text=True)
        missing = [e for e in expected if e not in out.stdout]
        verdict = "ok" if out.returncode == 0 and not missing else f"MISSING {missing}"
        print(f"trigger.py {' '.join(argv):54} {verdict}")
        if verdict != "ok":
            problems.append(f"trigger.py {' '.join(argv)}: {verdict}\n{out.stdout}{out.stderr}")
    for p in problems:
        print(p)
    return 1 if problems else 0


def looks():
    """Looking never moves a message: one key 9 through the trigger command, then its phone
    looked at six times (each must show the same messages, the DNC request among them), then
    the dump. A look by receiving would have moved the message to its DLQ by the sixth."""
    phone = "+12025550188"
    trigger = [sys.executable, str(ROOT / "scripts" / "trigger.py")]
    out = subprocess.run([*trigger, "lead.call_key_pressed", "--key", "9", "--phone", phone],
                         capture_output=True, text=True)
    print("\n== Six looks at one phone, then the dump ==")
    problems = [] if out.returncode == 0 else [f"trigger.py failed:\n{out.stdout}{out.stderr}"]
    counts = []
    for _ in range(6):
        shown = subprocess.run([*trigger, "--show", phone], capture_output=True, text=True)
        line = next((l for l in shown.stdout.splitlines() if l.startswith(f"messages for {phone}")), "")
        counts.append(int(line.rsplit(":", 1)[-1]) if line else -1)
        if "dnc.requested" not in shown.stdout:
            problems.append(f"a look did not show the phone's dnc.requested:\n{shown.stdout}{shown.stderr}")
    print(f"trigger.py --show {phone}, six times: {counts} message(s)")
    if len(set(counts)) != 1 or counts[0] < 1:
        problems.append(f"the looks disagree or show nothing: {counts}")
    dumped = subprocess.run([sys.executable, str(ROOT / "scripts" / "local.py"), "dump"], capture_output=True, text=True)
    print(f"local.py dump: exit {dumped.returncode}, {len(dumped.stdout.splitlines())} line(s)")
    if dumped.returncode != 0 or phone not in dumped.stdout:
        problems.append(f"local.py dump failed or missed {phone}:\n{dumped.stderr}")
    for p in problems:
        print(p)
    return 1 if problems else 0


def queue_of_url(url):
    """`callback`, `dnc` or `quarantine`: which of the local stack's queues a URL names."""
    name = url.rsplit("/", 1)[-1]
    for suffix, queue in (("-callbacks.fifo", "callback"), ("-dnc.fifo", "dnc"), ("-quarantine", "quarantine")):
        if name.endswith(suffix):
            return queue
    raise ValueError(f"not one of the local stack's three queues: {url}")


def dump():
    """Every item of the two tables and every message on the queues, left where they are."""
    import boto3

    session = ROOT / ".local" / "session.env"
    if not session.exists():
        print("local.py dump: no local stack: start one with `bash scripts/local.sh --keep-running`", file=sys.stderr)
        return 2
    env = local_env.read(session)
    local_env.use_its_aws(env)
    if not moto_look.answering(env["AWS_ENDPOINT_URL"]):
        print(f"local.py dump: the local stack is not answering at {env['AWS_ENDPOINT_URL']}; start it with "
              "`bash scripts/local.sh --keep-running`", file=sys.stderr)
        return 2
    try:
        return show_everything(env, boto3.client("dynamodb"), boto3.client("sqs"))
    except Exception as error:  # the emulator is not running: one line, not a traceback
        if type(error).__name__ in ("EndpointConnectionError", "URLError", "ConnectionRefusedError"):
            print(f"local.py dump: the local stack is not answering ({error}); start it with "
                  "`bash scripts/local.sh --keep-running`", file=sys.stderr)
            return 2
        raise


def show_everything(env, dynamodb, sqs):
    for table in [env["TABLE_NAME"], env["DNC_TABLE_NAME"]]:
        print(f"== {table} ==")
        for item in dynamodb.scan(TableName=table)["Items"]:
            print(json.dumps({k: plain(v) for k, v in item.items()}, sort_keys=True))
    for key in ["CALLBACK_QUEUE_URL", "DNC_QUEUE_URL", "QUARANTINE_QUEUE_URL"]:
        messages = drain(sqs, env[key], keep=True)
        print(f"== {env[key].rsplit('/', 1)[-1]}: {len(messages)} message(s) ==")
        for m in messages:
            print(m["Body"])
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="deliver every sample, show and check the results")
    r.add_argument("--url", required=True)
    r.add_argument("--port", required=True, type=int)
    r.add_argument("--env-file", required=True)
    r.add_argument("--keep-messages", action="store_true", help="leave the queue messages readable")
    sub.add_parser("triggers", help="every event type through scripts/trigger.py, checked")
    sub.add_parser("looks", help="one phone looked at six times, then the dump: looking never moves a message")
    sub.add_parser("dump", help="every table item and queue message of the running stack")
    s = sub.add_parser("sign", help="print a sample event signed now")
    s.add_argument("file")
    args = parser.parse_args()
    if args.command == "triggers":
        return triggers()
    if args.command == "looks":
        return looks()
    if args.command == "dump":
        return dump()
    if args.command == "sign":
        print(json.dumps(resign(json.loads(pathlib.Path(args.file).read_text())), indent=2))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
