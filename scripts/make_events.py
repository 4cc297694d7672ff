#!/usr/bin/env python3
"""Writes the sample API Gateway events in events/.

Every body is signed as the sender signs it (v2 = HMAC-SHA256 over "<t>.<body>") with the
local-only secret below, at a fixed time. Those signatures are stale by now: the tests and
the local run sign again at send time (scripts/local.py, tests/support). Run again after
changing a sample: python3 scripts/make_events.py
"""
import base64
import hashlib
import hmac
import json
import pathlib

LOCAL_SECRET = "local-dev-secret-do-not-deploy"  # never used outside this machine
SIGNED_AT_MS = 1706443200000  # 2024-01-28T12:00:00Z
EVENTS = pathlib.Path(__file__).resolve().parent.parent / "events"


def body(event_type, phone, time, campaign="spring-campaign", **data):
    return json.dumps(
        {
            "metadata": {
                "apiVersion": "2026-02-09",
                "eventType": event_type,
                "campaignId": campaign,
                "eventTime": time,
            },
            "data": {"phone": phone, **data},
        },
        separators=(",", ":"),
    )


def sign(raw, version="v2", secret=LOCAL_SECRET, t=SIGNED_AT_MS):
    message = f"{t}.{raw}" if version == "v2" else raw
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return f"t={t},{version}={digest}"


def http_api(raw, method="POST", signature=None, b64=False):
    headers = {
        "content-type": "application/json",
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "user-agent": "Aktify-Webhooks/1.0",
    }
    if signature is not False:
        headers["aktify-signature"] = signature or sign(raw)
    return {
        "version": "2.0",
        "routeKey": "POST /call-events",
        "rawPath": "/call-events",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": "/call-events",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "Aktify-Webhooks/1.0",
            },
            "requestId": "sample-request",
            "routeKey": "POST /call-events",
            "stage": "$default",
            "time": "28/Jan/2024:12:00:00 +0000",
            "timeEpoch": SIGNED_AT_MS,
        },
        "body": base64.b64encode(raw.encode()).decode() if b64 else raw,
        "isBase64Encoded": b64,
    }


def rest_api(raw):
    headers = {
        "Content-Type": "application/json",
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "aktify-signature": sign(raw),
    }
    return {
        "resource": "/call-events",
        "path": "/call-events",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "httpMethod": "POST",
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "Aktify-Webhooks/1.0"},
            "path": "/Prod/call-events",
            "protocol": "HTTP/1.1",
            "requestId": "sample-rest-request",
            "requestTimeEpoch": SIGNED_AT_MS,
            "resourceId": "abc123",
            "resourcePath": "/call-events",
            "stage": "Prod",
        },
        "body": raw,
        "isBase64Encoded": False,
    }


# Lead A is transferred to an agent; lead B asks for a callback; lead C asks to be removed
# (key 9, then the call ends with callResult dnc: ONE DNC request); lead D never answers.
A, B, C, D, E = "+12025550101", "+12025550102", "+12025550103", "+12025550104", "+12025550105"
# The legacy (v1) envelope: no metadata, no campaign, a dncTimestamp without offset (UTC).
LEGACY_DNC = json.dumps({"apiVersion": "2021-08-23", "type": "dnc.created", "data": {"phoneNumber": "+12025550108", "dncTimestamp": "2024-01-28T12:06:00.123456", "externalLeadId": "lead-12345"}}, separators=(",", ":"))
LEGACY_WEBCHAT = json.dumps({"apiVersion": "2021-08-23", "type": "webchat.lead.created", "data": {"phoneNumber": "+12025550109"}}, separators=(",", ":"))
T = "2024-01-28T12:{:02d}:00.000Z".format
SAMPLES = {
    "01-call-initiated.json": http_api(body("lead.call_initiated", A, T(0), externalLeadId="crm-1001", isScheduled=False)),
    "02-call-received.json": http_api(body("lead.call_received", E, T(0), externalLeadId=None)),
    "03-call-key-pressed-1.json": http_api(body("lead.call_key_pressed", A, T(1), externalLeadId="crm-1001", callType="unscheduled", isScheduled=False, keypressNumber="1")),
    "04-call-transferred.json": http_api(body("lead.call_transferred", A, T(2), externalLeadId="crm-1001", transferredTo="+12025550199", callType="outbound", isScheduled=False)),
    "05-call-ended-transfer.json": http_api(body("lead.call_ended", A, T(3), externalLeadId="crm-1001", callType="unscheduled", callResult="transfer", isScheduled=False)),
    "06-call-key-pressed-2.json": http_api(body("lead.call_key_pressed", B, T(1), externalLeadId="crm-1002", callType="unscheduled", isScheduled=False, keypressNumber="2")),
    "07-call-scheduled.json": http_api(body("lead.call_scheduled", B, T(2), externalLeadId="crm-1002", scheduledTime="2024-01-29T15:30:00.000Z")),
    "08-call-ended-reschedule.json": http_api(body("lead.call_ended", B, T(3), externalLeadId="crm-1002", callType="unscheduled", callResult="reschedule", isScheduled=False)),
    "09-call-key-pressed-9.json": http_api(body("lead.call_key_pressed", C, T(1), callType="inbound", isScheduled=False, keypressNumber="9")),
    "10-call-ended-dnc.json": http_api(body("lead.call_ended", C, T(2), callType="inbound", callResult="dnc", isScheduled=False)),
    "11-call-ended-no-response.json": http_api(body("lead.call_ended", D, T(4), callType="scheduled", callResult="no_response", isScheduled=True)),
    "12-rest-v1-call-initiated.json": rest_api(body("lead.call_initiated", D, T(0), isScheduled=True)),
    "13-base64-call-received.json": http_api(body("lead.call_received", D, T(1)), b64=True),
    "20-bad-signature.json": http_api(body("lead.call_received", A, T(9)), signature=sign(body("lead.call_received", A, T(9)), secret="not-the-configured-secret")),
    "21-malformed-json.json": http_api('{"metadata": {"eventType": "lead.call_ended",'),
    "22-invalid-phone.json": http_api(body("lead.call_received", "12025550106", T(5))),
    "23-unknown-event-type.json": http_api(body("lead.sms_received", A, T(6), message="hello")),
    "24-get-request.json": http_api("", method="GET", signature=False),
    # An opt-out in a body that breaks another rule (a callType the contract does not know):
    # quarantined, and its DNC signal kept all the same (docs/contract.md §3, "read leniently").
    "25-call-key-pressed-9-unknown-call-type.json": http_api(body("lead.call_key_pressed", "+12025550109", T(6), callType="robocall", isScheduled=False, keypressNumber="9")),
    # DNC is company-wide. Lead C pressed 9 in the spring campaign (09); the autumn campaign
    # then schedules a callback for the same phone: decided, but never sent (32). A v2
    # dnc.created marks its campaign's lead (30); a legacy v1 one names no campaign (31).
    "30-dnc-created.json": http_api(body("dnc.created", "+12025550107", T(5), campaign="autumn-campaign", externalLeadId="crm-2007", dncTimestamp="2024-01-28T12:04:30.000Z")),
    "31-legacy-dnc-created.json": http_api(LEGACY_DNC, signature=sign(LEGACY_DNC, version="v1")),
    "32-call-scheduled-other-campaign.json": http_api(body("lead.call_scheduled", C, T(7), campaign="autumn-campaign", scheduledTime="2024-01-30T10:00:00.000Z")),
    "33-legacy-webchat-lead-created.json": http_api(LEGACY_WEBCHAT, signature=sign(LEGACY_WEBCHAT, version="v1")),
}

if __name__ == "__main__":
    EVENTS.mkdir(exist_ok=True)
    for name, event in SAMPLES.items():
        (EVENTS / name).write_text(json.dumps(event, indent=2) + "\n")
    print(f"wrote {len(SAMPLES)} events to {EVENTS}")
