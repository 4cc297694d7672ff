"""The environment the operator's commands read (call-events-dnc, call-events-replay),
from a deployed stack's outputs or from the local stack, as `export` lines to eval:

  eval "$(.venv/bin/python scripts/stack_env.py --stack call-events-receiver-dev)"   # AWS
  eval "$(.venv/bin/python scripts/stack_env.py --local)"                             # scripts/local.sh's

For a stack it names the region too (AWS_REGION: the one given with --region, else your
AWS configuration's), so every command after it talks to the stack's region. Exit 0, or 2
with one line when the stack or the local stack cannot be read.
"""

import argparse
import pathlib
import shlex
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Each variable, from which stack output.
FROM_OUTPUTS = {
    "TABLE_NAME": "LeadTableName",
    "DNC_TABLE_NAME": "DncRegisterTableName",
    "WEBHOOK_SECRET_ARN": "WebhookSecretArn",
    "CALLBACK_QUEUE_URL": "CallbackQueueUrl",
    "DNC_QUEUE_URL": "DncQueueUrl",
    "QUARANTINE_QUEUE_URL": "QuarantineQueueUrl",
}
# What the local stack's session file holds that the commands read.
FROM_LOCAL = ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", *FROM_OUTPUTS,
              "WEBHOOK_SECRET"]


def from_stack(stack, region):
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(region_name=region)
    if not session.region_name:
        raise SystemExit("stack_env.py: no AWS region: pass --region, or set AWS_REGION")
    try:
        described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except (BotoCoreError, ClientError) as error:
        raise SystemExit(f"stack_env.py: cannot read stack {stack}: {error}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = [output for output in FROM_OUTPUTS.values() if output not in outputs]
    if missing:
        raise SystemExit(f"stack_env.py: stack {stack} has no output {', '.join(missing)}")
    values = {"AWS_REGION": session.region_name}
    values.update({name: outputs[output] for name, output in FROM_OUTPUTS.items()})
    return values


def from_local():
    sys.path.insert(0, str(ROOT / "scripts"))
    import local_env

    path = ROOT / ".local" / "session.env"
    if not path.exists():
        raise SystemExit("stack_env.py: no local stack: start one with `bash scripts/local.sh --keep-running`")
    env = local_env.read(path)
    return {name: env[name] for name in FROM_LOCAL if name in env}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="a deployed stack's name (call-events-receiver-dev)")
    where.add_argument("--local", action="store_true", help="the local stack (scripts/local.sh)")
    parser.add_argument("--region", help="the stack's region (default: your AWS configuration's)")
    args = parser.parse_args()
    try:
        values = from_local() if args.local else from_stack(args.stack, args.region)
    except SystemExit as stop:
        print(stop, file=sys.stderr)
        return 2
    for name, value in values.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
