#!/usr/bin/env python3
"""Triggers one event against the function running locally (`bash scripts/local.sh
--keep-running`), the way `stripe trigger` does: makes the event with fresh values, signs it
now with the local secret, posts it, and shows what happened: the answer, the lead item, the
DNC register entry and the messages the relay sent for the phone.

  trigger.py lead.call_key_pressed --key 9 --phone +12025550199 --campaign spring
  trigger.py lead.call_ended --result dnc
  trigger.py lead.call_scheduled --scheduled-time 2026-12-01T10:00:00Z
  trigger.py dnc.created                 # the v2 envelope
  trigger.py dnc.created --legacy        # the legacy v1 envelope, signed v1
  trigger.py --body .local/my-body.json  # any raw body, signed correctly as it is
  trigger.py --body .local/my-body.json --fresh  # the same, its eventTime now: a new event
  trigger.py --show +12025550199         # the lead items, register entry and messages of a phone
  trigger.py --ask +12025550199 +12025550100  # the register's API, as a dialer asks it
  trigger.py --opt-out +12025550188 --channel agent --reference call-42  # an opt-out a service heard

Events: lead.call_initiated, lead.call_received, lead.call_scheduled, lead.call_ended,
lead.call_transferred, lead.call_key_pressed, dnc.created. Defaults: a fresh phone, campaign
`local-campaign`, eventTime now. The function's address, secret and the local AWS endpoint
come from .local/session.env, which scripts/local.sh writes.
"""
import argparse
import datetime
import hashlib
import hmac
import json
import os
import pathlib
import random
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import local_env  # scripts/local_env.py
import moto_look  # scripts/moto_look.py

ROOT = pathlib.Path(__file__).resolve().parent.parent
SESSION = ROOT / ".local" / "session.env"
EVENTS = [
    "lead.call_initiated",
    "lead.call_received",
    "lead.call_scheduled",
    "lead.call_ended",
    "lead.call_transferred",
    "lead.call_key_pressed",
    "dnc.created",
]


def not_running(what):
    """One line and exit 2: the stack this tool talks to is not up."""
    print(f"trigger.py: {what}; start the stack with `bash scripts/local.sh --keep-running`", file=sys.stderr)
    sys.exit(2)


def load_session(need_webhook=True):
    if not SESSION.exists():
        not_running("no local stack (no .local/session.env)")
    env = local_env.read(SESSION)
    local_env.use_its_aws(env)
    parts = [(env["AWS_ENDPOINT_URL"], "the local AWS emulator"), (env["WEBHOOK_URL"], "the local webhook")]
    up = [moto_look.answering(url) for url, _ in parts]
    if not any(up):
        not_running(f"the local stack is not running (nothing answers at {parts[0][0]} or {parts[1][0]})")
    if not all(up):
        # Half up: a stack stopped uncleanly. Starting another beside it would not help.
        (live_url, live), (dead_url, dead) = (parts[0], parts[1]) if up[0] else (parts[1], parts[0])
        pid = env.get("LOCAL_SH_PID")
        stop = f"`kill {pid}` (local.sh) stops what is left" if pid else "stop what is left"
        print(f"trigger.py: the local stack is half up: {live} answers at {live_url}, {dead} does not at "
              f"{dead_url}; {stop}, then start it again with `bash scripts/local.sh --keep-running`",
              file=sys.stderr)
        sys.exit(2)
    return env


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_body(args):
    """The sender's JSON for the event, with the given or fresh values."""
    time_ = args.time or now_iso()
    if args.event == "dnc.created" and args.legacy:
        data = {"phoneNumber": args.phone, "dncTimestamp": time_.rstrip("Z")}
        if args.external_lead_id:
            data["externalLeadId"] = args.external_lead_id
        return {"apiVersion": "2021-08-23", "type": "dnc.created", "data": data}
    data = {"phone": args.phone}
    if args.external_lead_id:
        data["externalLeadId"] = args.external_lead_id
    if args.event == "lead.call_initiated":
        data["isScheduled"] = False
    elif args.event == "lead.call_scheduled":
        data["scheduledTime"] = args.scheduled_time or (
            datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        ).strftime("%Y-%m-%dT10:00:00.000Z")
    elif args.event == "lead.call_ended":
        data.update(callType=args.call_type or "inbound", callResult=args.result, isScheduled=False)
    elif args.event == "lead.call_transferred":
        data.update(transferredTo=args.transferred_to, callType=args.call_type or "outbound", isScheduled=False)
    elif args.event == "lead.call_key_pressed":
        data.update(callType=args.call_type or "inbound", keypressNumber=args.key, isScheduled=False)
    elif args.event == "dnc.created":
        data["dncTimestamp"] = time_
    metadata = {"apiVersion": "2026-02-09", "eventType": args.event, "campaignId": args.campaign, "eventTime": time_}
    return {"metadata": metadata, "data": data}


def sign(secret, body, legacy):
    t = str(int(time.time() * 1000))
    if legacy:
        return f"t={t},v1={hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}"
    return f"t={t},v2={hmac.new(secret.encode(), t.encode() + b'.' + body, hashlib.sha256).hexdigest()}"


def post(url, body, signature):
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "content-type": "application/json", "aktify-signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def plain(value):
    (kind, v), = value.items()
    if kind == "N":
        return int(v) if v.lstrip("-").isdigit() else float(v)
    if kind == "M":
        return {k: plain(x) for k, x in v.items()}
    if kind == "L":
        return [plain(x) for x in v]
    return v


HIDDEN = {"recentEvents", "eventOrder", "relayOutbox", "dncBodies", "outbox", "dncSignals", "evidence"}


def show_phone(env, phone, wait_for_messages=0.0, decided=()):
    import boto3

    dynamodb = boto3.client("dynamodb")
    items = dynamodb.query(TableName=env["TABLE_NAME"], KeyConditionExpression="phone = :p",
                           ExpressionAttributeValues={":p": {"S": phone}})["Items"]
    items = [{k: plain(v) for k, v in item.items()} for item in items]
    # docs/contract.md §4: a `#` sort key is not a lead (a DNC signal kept without a lead).
    leads = [item for item in items if not item["campaignId"].startswith("#")]
    for item in items:
        kind = "lead item" if item in leads else "DNC signal kept without a lead"
        print(f"\n{kind} {phone} / {item['campaignId']}:")
        print("  " + json.dumps({k: v for k, v in item.items() if k not in HIDDEN}, sort_keys=True))
        for version, entry in sorted((item.get("relayOutbox") or {}).items()):
            print(f"  write {version} decided, waiting for the relay: messages {sorted(entry.get('messages') or {}) or 'none'}; "
                  f"DNC signals {sorted(entry.get('dncSignals') or {}) or 'none'}")
    if not leads:
        print(f"\nno lead item for {phone}")
    entry = dynamodb.get_item(TableName=env["DNC_TABLE_NAME"], Key={"phone": {"S": phone}}).get("Item")
    if entry:
        entry = {k: plain(v) for k, v in entry.items()}
        print(f"\nDNC register {phone}: do not call")
        print("  " + json.dumps({k: entry.get(k) for k in ["dncAt", "reason", "campaignId", "externalLeadId", "signals", "source"]}, sort_keys=True))
        evidence = entry.get("evidence") or {}
        if evidence.get("kind") == "imported":
            print(f"  evidence: imported from {evidence.get('source')} (line {evidence.get('line')} of the file "
                  f"sha256 {str(evidence.get('fileSha256'))[:12]}...) at {evidence.get('importedAt')}; "
                  "no platform signature")
            signed = (entry.get("signedSignal") or {}).get("evidence") or {}
            if signed:
                print(f"  the platform's own signal beside it: received {signed.get('receivedAt')}")
        elif evidence.get("kind") == "api":
            print(f"  evidence: recorded by {evidence.get('principal')} ({evidence.get('channel')}, reference "
                  f"{evidence.get('reference')!r}) at {evidence.get('receivedAt')}; the company's own record")
        else:
            print(f"  evidence: received {evidence.get('receivedAt')}, header {str(evidence.get('signatureHeader'))[:40]}...")
        print(f"  DNC request: {entry.get('requestState')}")
    else:
        print(f"\nDNC register {phone}: not on it (may be called)")
    deadline = time.time() + wait_for_messages
    while True:
        found = []
        # Looked at in moto's own state: a receive would count towards the DLQ's limit.
        for message in moto_look.messages(env["AWS_ENDPOINT_URL"]):
            queue = moto_look.queue_of(message)
            body = json.loads(message["Body"]) if queue in ("callback", "dnc") else {}
            if body.get("phone") == phone:
                found.append((queue, body))
        if found or time.time() >= deadline:
            break
        time.sleep(0.2)
    print(f"\nmessages for {phone} on the queues: {len(found)}")
    for queue, body in found:
        shown = {k: v for k, v in body.items() if k != "evidence"}
        print(f"  {queue}: {json.dumps(shown)}")
    # Each message the event just sent decided, and any a lead's write still holds for the
    # relay (the relay's confirmation takes them off the item): sent, or why not.
    sent = {body.get("id") for _, body in found}
    waiting = {message_id for item in leads for entry in (item.get("relayOutbox") or {}).values()
               for message_id in entry.get("messages") or {}}
    for message_id in sorted(waiting | set(decided)):
        if message_id in sent:
            print(f"  {message_id}: decided, sent")
        elif message_id.startswith("callback-") and entry:
            print(f"  {message_id}: decided, not sent: DNC (the phone is on the register)")
        else:
            print(f"  {message_id}: decided, not on a queue yet (the relay has not sent it)")


def freshened(body):
    """The body with its event time set to now (metadata.eventTime, and data.dncTimestamp of
    a dnc.created; a legacy v1 body's data.dncTimestamp), so its event id is new; None when
    the body is not JSON with one of those."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        return None
    now = now_iso()
    changed = False
    if isinstance(event.get("metadata"), dict) and "eventTime" in event["metadata"]:
        event["metadata"]["eventTime"] = now
        changed = True
    if "dncTimestamp" in event["data"]:
        event["data"]["dncTimestamp"] = now if "metadata" in event else now.rstrip("Z")
        changed = True
    return json.dumps(event, separators=(",", ":")).encode() if changed else None


def raw_body(data):
    """The body to send: the file's bytes, or, for an API Gateway event (a sample from
    events/), the body it carries."""
    try:
        event = json.loads(data)
    except ValueError:
        return data
    if isinstance(event, dict) and "body" in event and ("requestContext" in event or "headers" in event):
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            import base64
            return base64.b64decode(body)
        return body.encode()
    return data


def ask(env, phones):
    """The register's API as a dialer calls it (docs/downstream.md): locally the function runs
    under `cargo lambda watch`, without API Gateway's IAM check in front of it."""
    base = f"http://127.0.0.1:{env['LAMBDA_PORT']}/lambda-url/call-events-api/v1/opt-outs"
    if len(phones) == 1:
        url = f"{base}/{urllib.parse.quote(phones[0], safe='')}"
        request = urllib.request.Request(url, method="GET")
        print(f"GET {url}")
    else:
        body = json.dumps({"phones": phones}).encode()
        request = urllib.request.Request(f"{base}/check", data=body, method="POST",
                                         headers={"content-type": "application/json"})
        print(f"POST {base}/check\n{body.decode()}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    print(f"\n=> HTTP {status} {text.decode(errors='replace')}")
    return 0 if status == 200 else 1


def record_opt_out(env, args):
    """POST /v1/opt-outs as API Gateway hands it to the function after its AWS_IAM check:
    `cargo lambda invoke` with the caller's identity in requestContext.authorizer.iam (a
    function URL under `cargo lambda watch` carries none, and the function refuses an
    opt-out that names no principal)."""
    body = json.dumps({"phone": args.opt_out, "channel": args.channel,
                       "reference": args.reference or f"trigger-{random.randint(0, 10**9)}"})
    event = {
        "version": "2.0", "routeKey": "POST /v1/opt-outs", "rawPath": "/v1/opt-outs", "body": body,
        "isBase64Encoded": False, "headers": {"content-type": "application/json"},
        "requestContext": {
            "requestId": f"trigger-{int(time.time() * 1000)}",
            "http": {"method": "POST", "path": "/v1/opt-outs", "sourceIp": "127.0.0.1"},
            "authorizer": {"iam": {"userArn": args.principal}},
        },
    }
    print(f"POST /v1/opt-outs (as {args.principal})\n{body}")
    path = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    out = subprocess.run(
        ["cargo", "lambda", "invoke", "call-events-api", "-A", "127.0.0.1", "-P", env["LAMBDA_PORT"],
         "--data-ascii", json.dumps(event), "-o", "json"],
        capture_output=True, text=True, check=False, env={**os.environ, "PATH": path},
    )
    if out.returncode != 0:
        print(f"trigger.py: cargo lambda invoke failed: {out.stderr.strip()}", file=sys.stderr)
        return 1
    response = json.loads(out.stdout)
    status = response.get("statusCode")
    print(f"\n=> HTTP {status} {response.get('body', '')}")
    if status == 202:
        show_phone(env, args.opt_out, wait_for_messages=0.0)
    return 0 if status == 202 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event", nargs="?", choices=EVENTS, help="the event to make")
    parser.add_argument("--phone", default=f"+1202555{random.randint(0, 9999):04d}")
    parser.add_argument("--campaign", default="local-campaign")
    parser.add_argument("--external-lead-id")
    parser.add_argument("--time", help="eventTime (default: now)")
    parser.add_argument("--key", default="9", help="lead.call_key_pressed: the key (default 9)")
    parser.add_argument("--result", default="no_response", help="lead.call_ended: callResult")
    parser.add_argument("--call-type")
    parser.add_argument("--scheduled-time", help="lead.call_scheduled: scheduledTime (default tomorrow 10:00Z)")
    parser.add_argument("--transferred-to", default="+12025550100")
    parser.add_argument("--legacy", action="store_true", help="dnc.created in the legacy v1 envelope, signed v1")
    parser.add_argument("--body", metavar="FILE", help="send this body, signed now: a file holding the raw body, or "
                        "one of the API Gateway events in events/ (its body is sent)")
    parser.add_argument("--fresh", action="store_true", help="with --body: its eventTime (and dncTimestamp) set to "
                        "now first, so it is a new event, not a repeat of one already sent")
    parser.add_argument("--show", metavar="PHONE", help="only show the phone's items, register entry and messages")
    parser.add_argument("--ask", metavar="PHONE", nargs="+", help="ask the register's API about these phones, as a "
                        "dialer does: GET /v1/opt-outs/{phone} for one, POST /v1/opt-outs/check for several")
    parser.add_argument("--opt-out", metavar="PHONE", help="record an opt-out of PHONE through the register's API, "
                        "as a company service does (POST /v1/opt-outs, signed by AWS IAM in production)")
    parser.add_argument("--channel", default="agent", help="--opt-out: where the person said it (default agent)")
    parser.add_argument("--reference", help="--opt-out: the caller's own id of it (default: a fresh one)")
    parser.add_argument("--principal", default="arn:aws:sts::000000000000:assumed-role/local-agent-desk/trigger",
                        help="--opt-out: the IAM principal API Gateway would hand the function")
    args = parser.parse_args()
    env = load_session(need_webhook=not args.show)
    if args.opt_out:
        return record_opt_out(env, args)
    if args.show:
        show_phone(env, args.show)
        return 0
    if args.ask:
        return ask(env, args.ask)
    secret = env["WEBHOOK_SECRET"].split(",")[0].strip()
    if args.body:
        try:
            body = raw_body(pathlib.Path(args.body).read_bytes())
        except OSError as error:
            parser.error(f"--body: cannot read {args.body}: {error.strerror}")
        if args.fresh:
            body = freshened(body)
            if body is None:
                parser.error("--fresh: the body is not JSON with a metadata.eventTime or a data.dncTimestamp to set")
        try:
            parsed = json.loads(body)
            legacy = "metadata" not in parsed and "type" in parsed
            data = parsed.get("data", {})
            phone = data.get("phone") or data.get("phoneNumber")
        except (ValueError, AttributeError):
            legacy, phone = False, None
    elif args.event:
        body = json.dumps(make_body(args), separators=(",", ":")).encode()
        legacy, phone = args.legacy, args.phone
    else:
        parser.error("name an event, or give --body FILE or --show PHONE")
    if args.fresh and not args.body:
        parser.error("--fresh goes with --body (a named event is always fresh)")
    signature = sign(secret, body, legacy)
    print(f"POST {env['WEBHOOK_URL']}\naktify-signature: {signature}\n{body.decode(errors='replace')}")
    status, answer = post(env["WEBHOOK_URL"], body, signature)
    print(f"\n=> HTTP {status} {answer.decode(errors='replace')}")
    if b'"duplicate"' in answer:
        print("   duplicate: this event was recorded before. Its id comes from what it says (type, campaign,\n"
              "   eventTime, phone, its fields), not from when it is sent, so a resend is a repeat. For a\n"
              "   fresh event, change one of them: --time, or the eventTime in the body you send (--body FILE --fresh).")
    if phone:
        said = json.loads(answer) if status == 200 else {}
        effects = said.get("effects", [])
        # The callback this event decided: its id is the event id's (call-events-messages).
        event_hex = str(said.get("eventId", "")).removeprefix("evt_")
        decided = [f"callback-{event_hex}"] if "callback" in effects and event_hex else []
        show_phone(env, phone, wait_for_messages=5.0 if effects else 0.0, decided=decided)
    return 0 if status < 500 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (urllib.error.URLError, ConnectionError) as error:
        print(f"trigger.py: the local stack is not answering ({error}); start it with "
              "`bash scripts/local.sh --keep-running`", file=sys.stderr)
        sys.exit(2)
    except Exception as error:  # botocore's EndpointConnectionError and the like
        if type(error).__name__ in ("EndpointConnectionError", "ConnectionClosedError"):
            print(f"trigger.py: the local AWS emulator is not answering ({error}); start the stack with "
                  "`bash scripts/local.sh --keep-running`", file=sys.stderr)
            sys.exit(2)
        raise
