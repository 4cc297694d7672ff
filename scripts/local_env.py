"""The local stack's environment files (`.local/function.env`, `.local/session.env`, which
scripts/local.sh writes: `NAME=value` lines) and boto3 pointed at the emulator they name.
Shared by the local tools."""
import os
import pathlib

AWS_NAMES = ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]


def read(path):
    """The file's `NAME=value` lines as a dict (other lines, and `#` comments, skipped)."""
    env = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            env[name] = value
    return env


def use_its_aws(env):
    """Points boto3 in this process at the emulator `env` names."""
    os.environ.update({name: env[name] for name in AWS_NAMES})
    os.environ["AWS_DEFAULT_REGION"] = env["AWS_REGION"]  # the variable botocore reads
