#!/usr/bin/env python3
"""Cold start and footprint of the release binary, with no network involved.

Plays the Lambda Runtime API on 127.0.0.1 and starts the function's `bootstrap` binary
against it (AWS clients pointed at moto, from the environment):

- init: from process start to the runtime's first `GET .../invocation/next`, that is,
  configuration, AWS clients and runtime ready for the first event. Median of --runs
  fresh processes.
- first answer: from handing a fresh process its first delivery to its answer (the
  connection to DynamoDB opened at init or not), p90 over the --runs fresh processes,
  beside the warm answers' p50 (the same process's later deliveries).
- peak RSS: VmHWM of one process after it has served --events signed deliveries
  (mixed event types over many leads), read from /proc before it is stopped.

  bench_init.py --binary target/lambda/call-events-receiver/bootstrap --env-file F
"""
import argparse
import hashlib
import hmac
import http.server
import json
import os
import pathlib
import queue
import statistics
import subprocess
import threading
import time
import uuid

import local_env  # scripts/local_env.py

SECRET = "bench-secret-0123456789abcdef"


class RuntimeApi(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.events = queue.Queue()
        self.first_next = threading.Event()
        self.first_next_at = None
        self.responses = queue.Queue()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        if self.path.endswith("/invocation/next"):
            if not server.first_next.is_set():
                server.first_next_at = time.perf_counter()
                server.first_next.set()
            event = server.events.get()
            if event is None:  # stop: leave the request hanging until the process dies
                time.sleep(3600)
                return
            body = json.dumps(event).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if "/invocation/" in self.path:
            kind = "error" if self.path.endswith("/error") else "response"
            self.server.responses.put((kind, payload))
        elif self.path.endswith("/init/error"):
            self.server.responses.put(("init-error", payload))


def start(binary, env, api):
    env = dict(env)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "WEBHOOK_SECRET": SECRET,
    })
    env.pop("WEBHOOK_SECRET_ARN", None)
    started = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return process, started


def signed_event(body):
    t = str(int(time.time() * 1000))
    signature = hmac.new(SECRET.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "version": "2.0", "routeKey": "POST /call-events", "rawPath": "/call-events", "rawQueryString": "",
        "headers": {"content-type": "application/json", "aktify-signature": f"t={t},v2={signature}"},
        "requestContext": {"accountId": "123456789012", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench",
                           "http": {"method": "POST", "path": "/call-events", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
                           "requestId": str(uuid.uuid4()), "routeKey": "POST /call-events", "stage": "$default",
                           "time": "28/Jan/2024:12:00:00 +0000", "timeEpoch": 0},
        "body": body, "isBase64Encoded": False,
    }


def bodies(n):
    kinds = [
        ("lead.call_initiated", {"isScheduled": False}),
        ("lead.call_key_pressed", {"callType": "unscheduled", "keypressNumber": "2"}),
        ("lead.call_scheduled", {"scheduledTime": "2024-01-29T14:00:00.000Z"}),
        ("lead.call_key_pressed", {"callType": "unscheduled", "keypressNumber": "9"}),
        ("lead.call_ended", {"callType": "unscheduled", "callResult": "dnc"}),
    ]
    for i in range(n):
        event_type, data = kinds[i % len(kinds)]
        phone = f"+1303555{(i // len(kinds)) % 10000:04d}"
        yield json.dumps({
            "metadata": {"apiVersion": "2026-02-09", "eventType": event_type, "campaignId": "bench",
                         "eventTime": f"2024-01-28T12:{i % len(kinds):02d}:00.000Z"},
            "data": {"phone": phone, "externalLeadId": f"crm-{phone}", **data},
        }, separators=(",", ":"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--env-file", required=True)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    env = {**os.environ, **local_env.read(args.env_file)}

    inits, firsts = [], []
    for run in range(args.runs):
        api = RuntimeApi()
        threading.Thread(target=api.serve_forever, daemon=True).start()
        process, started = start(args.binary, env, api)
        if not api.first_next.wait(10):
            process.kill()
            raise SystemExit(f"the function did not become ready: {process.stderr.read().decode()[:2000]}")
        inits.append((api.first_next_at - started) * 1000)
        body = next(bodies(1)).replace("+13035550000", f"+1404555{run:04d}")
        handed = time.perf_counter()
        api.events.put(signed_event(body))
        api.responses.get(timeout=30)
        firsts.append((time.perf_counter() - handed) * 1000)
        api.events.put(None)
        process.kill()
        process.wait()
        api.shutdown()
    print(f"init (process start to ready for the first event), {args.runs} runs: "
          f"median {statistics.median(inits):.1f} ms, min {min(inits):.1f} ms, max {max(inits):.1f} ms")

    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    process, _ = start(args.binary, env, api)
    statuses = {}
    answers = []
    started = time.perf_counter()
    for body in bodies(args.events):
        handed = time.perf_counter()
        api.events.put(signed_event(body))
        kind, payload = api.responses.get(timeout=30)
        answers.append((time.perf_counter() - handed) * 1000)
        status = json.loads(payload).get("statusCode") if kind == "response" else kind
        statuses[status] = statuses.get(status, 0) + 1
    elapsed = time.perf_counter() - started
    status_file = pathlib.Path(f"/proc/{process.pid}/status").read_text()
    peak = next(line.split()[1] for line in status_file.splitlines() if line.startswith("VmHWM"))
    api.events.put(None)
    process.kill()
    process.wait()
    api.shutdown()
    print(f"served {args.events} deliveries in {elapsed:.2f} s through the Runtime API: answers {statuses}")
    print(f"peak RSS (VmHWM) after {args.events} deliveries: {int(peak) / 1024:.1f} MiB")
    p90 = statistics.quantiles(firsts, n=10)[-1] if len(firsts) > 1 else firsts[0]
    print(f"first answer of a fresh process, {args.runs} runs: p90 {p90:.1f} ms "
          f"(median {statistics.median(firsts):.1f} ms); warm answers (after the first 10): "
          f"p50 {statistics.median(answers[10:] or answers):.1f} ms")


if __name__ == "__main__":
    main()
