#!/usr/bin/env python3
"""Plays Lambda's DynamoDB stream event source locally (moto runs no event source mappings):
reads the lead table's stream on moto and invokes the relay running under
`cargo lambda watch`, one batch at a time, in order. Like Lambda, it moves past a batch
that succeeded, and on a partial batch failure resumes from the record the relay names. It
also plays the EventBridge schedule: a scheduled event every minute, the sweep of pending
DNC requests.

  relay_poller.py --port PORT --env-file .local/function.env [--log .local/relay-poller.log]

AWS_ENDPOINT_URL and the test credentials come from the environment (scripts/moto.sh).
"""
import argparse
import datetime
import json
import sys
import time
import urllib.error
import urllib.request

import local_env  # scripts/local_env.py

BATCH_SIZE = 10


def lambda_record(record, arn):
    """A GetRecords record in the shape Lambda hands a function."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime.datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record.get("eventID", ""),
        "eventName": record.get("eventName", ""),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", "us-east-1"),
        "dynamodb": change,
        "eventSourceARN": arn,
    }


# EventBridge's schedule in template.yaml: the sweep of pending DNC requests, every minute.
SWEEP_SECONDS = 60
SCHEDULED_EVENT = {"version": "0", "id": "local-sweep", "detail-type": "Scheduled Event", "source": "aws.events",
                   "account": "123456789012", "region": "us-east-1", "resources": [], "detail": {}}


def invoke(port, records):
    return invoke_event(port, {"Records": records})


def invoke_event(port, event):
    url = f"http://127.0.0.1:{port}/2015-03-31/functions/call-events-relay/invocations"
    data = json.dumps(event).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={"content-type": "application/json"})
    # The first invocation compiles the relay: give it time.
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read() or b"{}")


def main():
    import boto3  # installed with moto into .venv

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--env-file", required=True)
    args = parser.parse_args()
    env = local_env.read(args.env_file)
    arn = env["LEAD_TABLE_STREAM_ARN"]
    streams = boto3.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    position = {"ShardIteratorType": "TRIM_HORIZON"}
    print(f"relay poller: reading {arn}; sweeping every {SWEEP_SECONDS} s", flush=True)
    swept = time.monotonic()
    while True:
        if time.monotonic() - swept >= SWEEP_SECONDS:
            swept = time.monotonic()
            try:
                invoke_event(args.port, SCHEDULED_EVENT)
                print("relay poller: swept the pending DNC requests", flush=True)
            except (urllib.error.URLError, OSError, ValueError) as error:
                print(f"relay poller: the sweep failed ({error})", flush=True)
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **position)["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator, Limit=BATCH_SIZE).get("Records", [])
        if not records:
            time.sleep(0.1)
            continue
        try:
            response = invoke(args.port, [lambda_record(r, arn) for r in records])
        except (urllib.error.URLError, OSError, ValueError) as error:
            print(f"relay poller: invoking the relay failed ({error}); retrying", flush=True)
            time.sleep(1)
            continue
        failures = [f.get("itemIdentifier") for f in response.get("batchItemFailures", [])]
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        if failures and failures[0] in sequence_numbers:
            print(f"relay poller: relay asked to retry from {failures[0]}", flush=True)
            position = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": failures[0]}
            time.sleep(1)
            continue
        position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": sequence_numbers[-1]}
        print(f"relay poller: relayed {len(records)} record(s) up to {sequence_numbers[-1]}", flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
