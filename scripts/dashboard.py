"""The operator's dashboard: its panels, and the `DashboardBody` of template.yaml written
from them. The panels are laid out two to a row; the last row shows every alarm the
template defines. tests/template_agreement.rs runs `--check`, so the template and this
source cannot drift apart.

    .venv/bin/python scripts/dashboard.py           # rewrite the body in template.yaml
    .venv/bin/python scripts/dashboard.py --check   # exit 1 if it is not what this writes
"""

import json
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
HEADER = "      DashboardBody: !Sub |\n"
INDENT = " " * 8

WEBHOOK = ["FunctionName", "${WebhookFunction}"]
RELAY = ["FunctionName", "${RelayFunction}"]


def ours(name, function, stat="Sum", **options):
    """A metric the functions emit (namespace CallEventsReceiver, by function name)."""
    return ["CallEventsReceiver", name, *function, {"stat": stat, **options}]


def table(name, table_resource):
    return ["AWS/DynamoDB", name, "TableName", "${%s}" % table_resource, {"stat": "Sum"}]


def visible(queue):
    return ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName",
            "${%s.QueueName}" % queue, {"stat": "Maximum"}]


def panel(title, metrics, period=60, view="timeSeries", stacked=False):
    return {"title": title, "region": "${AWS::Region}", "metrics": metrics,
            "period": period, "view": view, "stacked": stacked}


INTRO = (
    "## Call-events receiver (${AWS::StackName})\nLeft to right, top to bottom: what the"
    " sender gets, how fast, what DynamoDB does, what the relay sends, what waits on the"
    " queues, the DNC promise, every alarm. Runbook: docs/operating.md in the repository."
)

PANELS = [
    panel("Deliveries per minute, by outcome", stacked=True, metrics=[
        *(ours(outcome, WEBHOOK)
          for outcome in ["Processed", "Duplicate", "Ignored", "Quarantined", "Unauthorized"]),
        ours("BackendErrors", WEBHOOK, label="503 backend_unavailable"),
    ]),
    panel("Answer latency (ms)", [
        ours("Duration", WEBHOOK, stat=p, label=p) for p in ["p50", "p99"]
    ]),
    panel("DynamoDB throttles", [
        table(throttles, t)
        for t in ["LeadTable", "DncRegisterTable"]
        for throttles in ["WriteThrottleEvents", "ReadThrottleEvents"]
    ]),
    panel("Relay iterator age (ms)", [
        ["AWS/Lambda", "IteratorAge", *RELAY, {"stat": "Maximum"}],
    ]),
    panel("Relay: messages sent, suppressed, parked", [
        ours(name, RELAY)
        for name in ["CallbacksSent", "DncRequestsSent", "CallbacksSuppressed", "Parked",
                     "SendFailures", "StreamGaps"]
    ]),
    panel("Relay: writes relayed by the sweep (their stream record had not come), failed"
          " confirmations, callbacks past due", [
              ours(name, RELAY)
              for name in ["Reconciled", "ConfirmFailures", "CallbacksPastDue"]
          ]),
    panel("Queues and DLQs (messages visible)", [
        visible(q)
        for q in ["CallbackQueue", "DncQueue", "QuarantineQueue", "CallbackDeadLetterQueue",
                  "DncDeadLetterQueue", "RelayFailureQueue", "RelayFailureDeadLetterQueue"]
    ]),
    panel("DNC requests per day", [ours("DncRequestsSent", RELAY)], period=86400, view="bar"),
    panel("DNC requests pending (found by the sweep, over a minute old) and the oldest one's"
          " age (s)", [
              ours("DncRequestsPending", RELAY, stat="Maximum"),
              ours("OldestPendingSeconds", RELAY, stat="Maximum", yAxis="right"),
          ]),
    panel("Imported DNC requests (import --request): pending (found by a sweep, at most 3,000),"
          " sent, and the oldest one's age (s; due in 10 business days)", [
              ours("ImportedRequestsPending", RELAY, stat="Maximum"),
              ours("ImportedRequestsSent", RELAY),
              ours("OldestImportedSeconds", RELAY, stat="Maximum", yAxis="right"),
          ]),
]


def alarms(template_text):
    """Every alarm's logical id, in the template's order (expanded as CloudFormation does)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from transform import expanded

    resources = expanded(template_text)["Resources"]
    return [name for name, r in resources.items() if r.get("Type") == "AWS::CloudWatch::Alarm"]


def widgets(alarm_ids):
    yield {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2,
           "properties": {"markdown": INTRO}}
    y = 2
    for i, properties in enumerate(PANELS):
        yield {"type": "metric", "x": 12 * (i % 2), "y": y, "width": 12, "height": 6,
               "properties": properties}
        y += 6 * (i % 2)
    y += 6 * (len(PANELS) % 2)
    yield {"type": "alarm", "x": 0, "y": y, "width": 24, "height": 6,
           "properties": {"title": "Every alarm",
                          "alarms": ["${%s.Arn}" % a for a in alarm_ids]}}


def body(alarm_ids):
    """The JSON, a line per widget and per metric, so a diff shows what changed."""
    dump = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
    lines = ['{"widgets": [']
    all_widgets = list(widgets(alarm_ids))
    for n, w in enumerate(all_widgets):
        end = "," if n + 1 < len(all_widgets) else ""
        metrics = w["properties"].get("metrics")
        if metrics is None:
            lines.append(f"  {dump(w)}{end}")
            continue
        head = {**w, "properties": {k: v for k, v in w["properties"].items() if k != "metrics"}}
        lines.append(f"  {dump(head)[:-2]}, \"metrics\": [")
        lines += [f"    {dump(m)}{',' if k + 1 < len(metrics) else ''}"
                  for k, m in enumerate(metrics)]
        lines.append(f"  ]}}}}{end}")
    lines.append("]}")
    return "".join(f"{INDENT}{line}\n" for line in lines)


def rewritten(template_text):
    start = template_text.index(HEADER) + len(HEADER)
    end = start
    lines = template_text[start:].splitlines(keepends=True)
    for line in lines:
        if line.strip() and not line.startswith(INDENT):
            break
        end += len(line)
    kept_blank = template_text[start:end][len(template_text[start:end].rstrip("\n")) + 1:]
    return template_text[:start] + body(alarms(template_text)) + kept_blank + template_text[end:]


def main():
    text = TEMPLATE.read_text(encoding="utf-8")
    new = rewritten(text)
    if "--check" in sys.argv[1:]:
        if new != text:
            print("template.yaml's DashboardBody is not what scripts/dashboard.py writes: "
                  "run .venv/bin/python scripts/dashboard.py", file=sys.stderr)
            sys.exit(1)
        return
    TEMPLATE.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
