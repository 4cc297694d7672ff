#!/usr/bin/env python3
"""The smoke test of a running stack: one signed event of the reserved smoke-test campaign,
which decides nothing downstream (a `lead.call_received`: no callback, no DNC signal).
It checks the answer (`processed`, then `duplicate` for the same event again) and the lead
item, then removes the item it wrote. Then it invokes the relay's alias as the schedule
does and requires a clean sweep (its answer says it ran to its end): a deploy that broke
the relay (its permissions, its start) fails here. Exit 0 when all holds.

  smoke.py --stack call-events-receiver-prod [--region eu-west-1]   # a deployed stack
  smoke.py --env-file .local/function.env --url URL --relay-port P # the local stack

A deployed stack is read from its outputs (WebhookUrl, LeadTableName, WebhookSecretArn,
RelayFunctionName) and its secret from Secrets Manager, with your AWS credentials: it needs
cloudformation:DescribeStacks, secretsmanager:GetSecretValue, dynamodb:GetItem and
dynamodb:DeleteItem on the lead table, and lambda:InvokeFunction on the relay's alias.
Run it after the real secret is in place: it signs with the secret the stack holds.
"""
import argparse
import datetime
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request

import local_env  # scripts/local_env.py

# Reserved for this test: no real lead has this campaign, and the number is a fictional one.
CAMPAIGN = "smoke-test"
PHONE = "+15555550100"


def deployed(stack, region):
    import boto3

    session = boto3.session.Session(region_name=region)
    described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    secret = session.client("secretsmanager").get_secret_value(SecretId=outputs["WebhookSecretArn"])
    lambda_client = session.client("lambda")

    def sweep():
        answer = lambda_client.invoke(FunctionName=f"{outputs['RelayFunctionName']}:live",
                                      Payload=json.dumps(SCHEDULED_EVENT).encode())
        payload = json.loads(answer["Payload"].read() or b"null")
        return answer.get("FunctionError"), payload

    return outputs["WebhookUrl"], outputs["LeadTableName"], secret["SecretString"], session.client("dynamodb"), sweep


def local(env_file, url, relay_port):
    import boto3

    env = local_env.read(env_file)
    client = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])

    def sweep():
        invoke = f"http://127.0.0.1:{relay_port}/2015-03-31/functions/call-events-relay/invocations"
        request = urllib.request.Request(invoke, data=json.dumps(SCHEDULED_EVENT).encode(), method="POST",
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            payload = json.loads(response.read() or b"null")
        error = payload.get("errorType") if isinstance(payload, dict) else None
        return error, payload

    return url, env["TABLE_NAME"], env["WEBHOOK_SECRET"], client, sweep


# What EventBridge's schedule sends the relay (template.yaml, the relay's `Sweep` event).
SCHEDULED_EVENT = {"version": "0", "id": "smoke-sweep", "detail-type": "Scheduled Event", "source": "aws.events",
                   "account": "123456789012", "region": "us-east-1", "resources": [], "detail": {}}


def post(url, secret, body):
    t = int(time.time() * 1000)
    digest = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "content-type": "application/json", "aktify-signature": f"t={t},v2={digest}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", help="a deployed stack's name")
    parser.add_argument("--region", help="its region (default: your AWS configuration's)")
    parser.add_argument("--env-file", help="the local stack's environment (.local/function.env)")
    parser.add_argument("--url", help="the local stack's webhook URL")
    parser.add_argument("--relay-port", type=int, help="the local stack's cargo lambda watch port")
    args = parser.parse_args()
    try:
        if args.stack:
            url, table, secrets, dynamodb, sweep = deployed(args.stack, args.region)
        elif args.env_file and args.url and args.relay_port:
            url, table, secrets, dynamodb, sweep = local(args.env_file, args.url, args.relay_port)
        else:
            parser.error("give --stack, or --env-file, --url and --relay-port")
    except Exception as error:  # the stack or the emulator is not there: one line, not a traceback
        print(f"smoke: cannot reach the stack: {error}", file=sys.stderr)
        return 2
    secret = secrets.replace("\n", ",").split(",")[0].strip()
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = json.dumps({"metadata": {"apiVersion": "2026-02-09", "eventType": "lead.call_received",
                                    "campaignId": CAMPAIGN, "eventTime": now},
                       "data": {"phone": PHONE, "externalLeadId": None}}, separators=(",", ":"))
    problems = []
    key = {"phone": {"S": PHONE}, "campaignId": {"S": CAMPAIGN}}
    try:
        status, answer = post(url, secret, body)
        print(f"smoke: POST {url}: {status} {answer}")
        if (status, answer.get("status"), answer.get("effects")) != (200, "processed", []):
            problems.append(f"expected 200 processed with no effects, got {status} {answer}")
        status, again = post(url, secret, body)
        print(f"smoke: the same event again: {status} {again}")
        if (status, again.get("status")) != (200, "duplicate"):
            problems.append(f"expected 200 duplicate, got {status} {again}")
        item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        state = (item or {}).get("status", {}).get("S")
        print(f"smoke: lead item {PHONE} / {CAMPAIGN}: status={state}")
        if state != "in_call":
            problems.append(f"expected the lead item with status in_call, got {item}")
    except (urllib.error.URLError, OSError) as error:
        problems.append(f"the webhook did not answer: {error}")
    finally:
        try:
            dynamodb.delete_item(TableName=table, Key=key)
            print("smoke: removed the smoke-test item")
        except Exception as error:
            problems.append(f"could not remove the smoke-test item: {error}")
    try:
        error, answer = sweep()
        print(f"smoke: the relay's sweep, invoked as the schedule does: {error or 'ok'} {answer}")
        if error or not (isinstance(answer, dict) and answer.get("swept") is True):
            problems.append(f"expected a clean sweep from the relay, got {error} {answer}")
    except Exception as error:  # the relay cannot be reached or invoked
        problems.append(f"the relay could not be invoked: {error}")
    for problem in problems:
        print(f"smoke: FAILED: {problem}", file=sys.stderr)
    if not problems:
        print("smoke: passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
