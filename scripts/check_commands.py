#!/usr/bin/env python3
"""The commands a newcomer is told to paste, run as printed: CI runs this.

  check_commands.py local         # `bash scripts/local.sh --keep-running`, then every command
                                  # its banner prints and every docs block marked for the
                                  # local stack; one phone looked at six times (the same
                                  # messages each time), the dump; the docs' `aws` commands
                                  # as API requests to the stack; then Ctrl-C, as a person
                                  # stops it: everything it started must be gone, and the
                                  # local tools must say so in one line
  check_commands.py deploy-build  # the docs' deploy blocks up to their first `sam deploy`
                                  # (PATH, the arm64 target, `sam build`; the example
                                  # consumer's too), and each function's bootstrap checked:
                                  # the part of a deploy that needs no AWS account

A block of the README or of docs/*.md is run when the line before its opening fence is
`<!-- checked: local stack -->` or `<!-- checked: deploy build -->`; it runs as one bash
script from the repository's root, so its `export` and variables carry from line to line, as
in a pasted terminal session.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import local_env  # scripts/local_env.py

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# What a newcomer reads: the README and the docs it points to, in that order.
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
LOCAL_MARK = "<!-- checked: local stack -->"
DEPLOY_MARK = "<!-- checked: deploy build -->"
# The phone whose DNC request the run leaves on the queue; the banner's look names it.
LOOKED_AT = "+12025550103"
FIRST_BUILD = 45 * 60  # seconds: a fresh clone compiles ~270 crates before the banner
COMMAND_TIMEOUT = 15 * 60


def docs_text():
    """The README and the docs, one text: the marked blocks and commands are looked for in all."""
    return "\n".join(path.read_text() for path in DOCS)


def fenced_blocks(text, mark):
    """The ```sh blocks whose opening fence follows `mark` (blank lines between allowed);
    a block printed in two docs (the deploy commands: README and docs/deploy.md) once."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == mark:
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and lines[j].strip().startswith("```"):
                k = j + 1
                while k < len(lines) and not lines[k].strip().startswith("```"):
                    k += 1
                blocks.append("\n".join(line.strip() for line in lines[j + 1:k]))
                i = k
        i += 1
    return list(dict.fromkeys(blocks))


def run_shell(script, what):
    """Runs `script` with bash from the repository's root; prints a short account; returns
    (ok, what it printed: stdout, then stderr)."""
    print(f"\n$ {what}", flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"  timed out after {COMMAND_TIMEOUT} s")
        return False, ""
    took = time.monotonic() - started
    out = done.stdout + done.stderr
    tail = "\n".join("  | " + line for line in out.strip().splitlines()[-4:])
    print(f"  exit {done.returncode} in {took:.1f} s\n{tail}")
    return done.returncode == 0, out


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def messages_shown(out):
    """The messages listed in the `messages for PHONE on the queues` section of
    `trigger.py --show` (one line each, named by queue; not the decided-but-not-sent lines)."""
    lines = out.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("messages for ")), None)
    if start is None:
        return None
    return [line for line in lines[start:] if re.match(r"  (callback|dnc|quarantine): ", line)]


# What the docs' AWS commands leave for the reader to fill in, filled in from the local
# stack's session (a name) or with a plain value. A placeholder not here fails the check.
PLACEHOLDERS = {
    "<LeadTableName>": "TABLE_NAME",
    "<DncRegisterTableName>": "DNC_TABLE_NAME",
    "<QuarantineQueueUrl>": "QUARANTINE_QUEUE_URL",
    "<CallbackDeadLetterQueueUrl>": "CALLBACK_DLQ_URL",
    "<DncDeadLetterQueueUrl>": "DNC_DLQ_URL",
    "<first arrival>": "=2026-01-01T00:00:00.000Z",
    "<last arrival>": "=2026-01-02T00:00:00.000Z",
    "<its campaignId>": "=stream-gap#example",
    "<PHONE>": "=+12025550103",
    # Not sent to moto (it has no StartMessageMoveTask), named for the check all the same.
    "<CallbackDeadLetterQueueArn>": "=arn:aws:sqs:us-east-1:123456789012:callbacks-dlq.fifo",
    "<DncDeadLetterQueueArn>": "=arn:aws:sqs:us-east-1:123456789012:dnc-dlq.fifo",
}


# Operations moto does not implement: named in the output as not checked.
NOT_ON_MOTO = {"start-message-move-task": "moto 5.2 has no StartMessageMoveTask"}


def aws_commands(text):
    """Every `aws dynamodb …` and `aws sqs …` command of the docs, in fenced blocks and in
    inline code, with its line continuations joined; mentions without options left out."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = re.findall(r"^\s*(aws (?:dynamodb|sqs) [^\n]+)$", joined, re.M)
    found += re.findall(r"`(aws (?:dynamodb|sqs) [^`]+)`", joined)
    commands = [command.split("  #")[0].strip() for command in found if " --" in command]
    return list(dict.fromkeys(commands))  # each once, in the docs' order


def as_boto3_call(command, session):
    """The API request an `aws` CLI command makes, as (service, method, parameters): the
    CLI's own mapping (`--table-name` is `TableName`, a JSON value is parsed)."""
    import shlex

    for placeholder, source in PLACEHOLDERS.items():
        value = source[1:] if source.startswith("=") else session[source]
        command = command.replace(placeholder, value)
    if re.search(r"<[^>\s]+[^>]*>", command):
        raise ValueError(f"a placeholder check_commands.py does not know: {command}")
    words = shlex.split(command)
    service, operation, options = words[1], words[2], words[3:]
    parameters = {}
    for name, value in zip(options[::2], options[1::2]):
        key = "".join(part.capitalize() for part in name.lstrip("-").split("-"))
        parameters[key] = json.loads(value) if value[:1] in "{[" else int(value) if value.isdigit() else value
    return service, operation.replace("-", "_"), parameters


def check_aws_commands(session):
    """The README's AWS commands (its runbook's, mostly) as API requests to the local stack:
    each must be accepted, so a runbook query never fails in an incident on a wrong index,
    key or expression. Through boto3: the aws CLI is not one of the project's tools."""
    import boto3
    from botocore.exceptions import ClientError

    local_env.use_its_aws(session)
    problems = []
    commands = aws_commands(docs_text())
    print(f"\nthe docs' {len(commands)} AWS command(s), as requests to the local stack:")
    for command in commands:
        operation = command.split()[2]
        if operation in NOT_ON_MOTO:
            print(f"  not checked ({NOT_ON_MOTO[operation]}): {command}")
            continue
        try:
            service, method, parameters = as_boto3_call(command, session)
            try:
                getattr(boto3.client(service), method)(**parameters)
                print(f"  ok: {command}")
            except ClientError as error:
                # The request was read and its condition evaluated: a guarded runbook
                # update whose condition does not hold for the local data is accepted.
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                print(f"  ok (its condition does not hold here): {command}")
        except Exception as error:  # any refusal is the finding
            print(f"  FAILED: {command}\n    {type(error).__name__}: {error}")
            problems.append(f"the docs' command is refused by the local stack: {command}")
    if len(commands) < 6:
        problems.append(f"only {len(commands)} AWS commands found in the docs: the extraction broke")
    return problems


def stack_env_reads_outputs(session):
    """`scripts/stack_env.py --stack`, as the docs print it, against a stack on the local
    emulator whose outputs are the local stack's names: the exports must be those names, and
    `call-events-dnc prove` must run on them as printed."""
    import boto3

    local_env.use_its_aws(session)
    outputs = {"LeadTableName": "TABLE_NAME", "DncRegisterTableName": "DNC_TABLE_NAME",
               "WebhookSecretArn": None, "CallbackQueueUrl": "CALLBACK_QUEUE_URL",
               "DncQueueUrl": "DNC_QUEUE_URL", "QuarantineQueueUrl": "QUARANTINE_QUEUE_URL"}
    values = {name: session[var] if var else "arn:aws:secretsmanager:us-east-1:123456789012:secret:none"
              for name, var in outputs.items()}
    template = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": {name: {"Value": value} for name, value in values.items()}}
    stack = f"stack-env-check-{os.getpid()}"
    boto3.client("cloudformation").create_stack(StackName=stack, TemplateBody=json.dumps(template))
    script = (f'eval "$(.venv/bin/python scripts/stack_env.py --stack {stack})"\n'
              '# the emulator holds no such secret: prove checks with the local one instead\n'
              'unset WEBHOOK_SECRET_ARN; export WEBHOOK_SECRET="$(grep ^WEBHOOK_SECRET= .local/session.env | cut -d= -f2-)"\n'
              'env | grep -E "^(TABLE_NAME|DNC_TABLE_NAME|DNC_QUEUE_URL|AWS_REGION)=" | sort\n'
              '.local/operator-cli/bin/call-events-dnc prove +12025550103')
    # The README's install of the operator's CLI, as printed, into .local/ rather than ~/.cargo.
    install = re.search(r"^cargo install --locked --path \. .*--bin call-events-dnc", docs_text(), re.M)
    if not install:
        return ["the README prints no `cargo install ... --bin call-events-dnc`"]
    ok, _ = run_shell(install.group(0) + " --root .local/operator-cli", "the README's install of call-events-dnc")
    if not ok:
        return ["the README's install of call-events-dnc failed"]
    ok, out = run_shell(script, f"stack_env.py --stack {stack} (a stack on the emulator), then the installed prove")
    expected = [f"{var}={session[var]}" for var in ("TABLE_NAME", "DNC_TABLE_NAME", "DNC_QUEUE_URL")]
    if not ok or any(line not in out for line in expected) or "PROVEN: " not in out:
        return ["stack_env.py did not export the stack's outputs, or prove did not run on them"]
    return []


def start_keep_running(log_path):
    log = open(log_path, "w")
    # Started as a shell starts a background job: in its own process group, SIGINT ignored
    # (bash cannot trap a signal ignored at its start: local.sh starts itself again with the
    # default actions, which is what this checks).
    process = subprocess.Popen(["bash", "scripts/local.sh", "--keep-running"], cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    deadline = time.monotonic() + FIRST_BUILD
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if "\nStill running" in text:
            return process, text
        if process.poll() is not None:
            break
        time.sleep(1)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)  # its own clean-up stops moto and the function
        process.wait(timeout=60)
    print(log_path.read_text(errors="replace")[-4000:])
    raise SystemExit(f"local.sh --keep-running did not reach its banner (exit {process.poll()}); log: {log_path}")


def left_running(group, ports):
    """What is still running of a stopped stack: its process group's processes, and the
    `cargo lambda watch` of its port (its own session) with its functions."""
    found = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True).stdout.split()
    for port in ports:
        found += subprocess.run(["pgrep", "-f", f"lambda watch .*-P {port} "], capture_output=True,
                                text=True).stdout.split()
    return found


def stop(process, ports):
    """Ctrl-C, as a person stops it: the signal goes to local.sh's whole process group."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        # `cargo lambda watch` runs in its own session, which that kill does not reach.
        for port in ports:
            subprocess.run(["pkill", "-KILL", "-f", f"lambda watch .*-P {port} "], check=False)
        return ["local.sh did not stop within 60 s of SIGINT to its process group"]
    time.sleep(1)
    problems = [f"port {port} still answers after SIGINT" for port in ports if port_open(port)]
    left = left_running(process.pid, ports[:1])
    if left:
        problems.append(f"processes left after SIGINT to the process group: {left}")
    return problems


def half_up_is_told(ports):
    """With the emulator stopped and something on the webhook's port, `trigger.py` says the
    stack is half up (and how to stop it), in one line, not that none is running."""
    import socket

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", ports[0]))
        except OSError as error:
            return [f"the webhook's port {ports[0]} is still taken after the stop: {error}"]
        listener.listen()
        done = subprocess.run([sys.executable, "scripts/trigger.py", "lead.call_received"], cwd=ROOT,
                              capture_output=True, text=True)
    said = done.stderr.strip()
    print(f"half-up stack, trigger.py lead.call_received: exit {done.returncode}: {said}")
    if done.returncode != 2 or "half up" not in said or len(said.splitlines()) != 1:
        return ["trigger.py did not tell a half-up stack in one line with exit 2"]
    return []


def check_local():
    log_path = ROOT / ".local" / "keep-running.log"
    log_path.parent.mkdir(exist_ok=True)
    started = time.monotonic()
    print("starting `bash scripts/local.sh --keep-running` (log: .local/keep-running.log)", flush=True)
    process, text = start_keep_running(log_path)
    print(f"its banner after {time.monotonic() - started:.0f} s", flush=True)
    problems, ports = [], []
    try:
        if "local checks: all passed" not in text:
            problems.append("local.sh's own checks did not all pass (see .local/keep-running.log)")
        session = local_env.read(ROOT / ".local" / "session.env")
        ports = [int(session["LAMBDA_PORT"]), int(session["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])]
        # The banner's commands: every indented line from "Trigger an event" on (above it,
        # the addresses and logs).
        banner = text.split("\nStill running", 1)[1].split("\nTrigger an event", 1)[-1]
        banner_commands = [line.strip() for line in banner.splitlines() if line.startswith("  ") and line.strip()]
        readme_blocks = fenced_blocks(docs_text(), LOCAL_MARK)
        print(f"the banner prints {len(banner_commands)} command(s); the docs mark {len(readme_blocks)} block(s)")
        if len(banner_commands) < 5 or len(readme_blocks) < 3:
            problems.append("fewer commands than expected: the banner or the docs' markers changed")
        for command in banner_commands:
            ok, out = run_shell(command, f"(banner) {command}")
            if not ok:
                problems.append(f"the banner's command failed: {command}")
            # A body sent --fresh is a new event, not a repeat of the run's.
            if "--fresh" in command and '"processed"' not in out:
                problems.append(f"the banner's --fresh body was not processed as a new event: {command}")
        for block in readme_blocks:
            ok, out = run_shell(block, "(docs) " + block.replace("\n", "\n    "))
            if not ok:
                problems.append(f"a docs block failed:\n{block}")
            # Every command printed answers as its comment says: none is a repeat.
            if "my-body.json --fresh" in block and "duplicate: this event was recorded before" in out:
                problems.append("a docs command answered duplicate (the --fresh body?)")
            # The replay's per-record reasons, printed though its output is a pipe here.
            if "call-events-replay" in block and " left: " not in out:
                problems.append("the replay printed no record's reason into a pipe")
            # The local run's key 9 is proven, in the report and in the JSON.
            if "call-events-dnc -- prove +12025550103" in block and ("PROVEN: " not in out or '"verified": true' not in out):
                problems.append("prove did not prove the local run's key 9")
            # The list's earlier date goes first beside the signed key 9; the e-mailed
            # number joins, and its proof says that no platform signature stands behind it.
            if "crm-dnc.csv" in block and (
                    "1 added, 0 already there, 0 earlier date kept, 1 now first, 0 refused" not in out
                    or "IMPORTED, NOT SIGNED" not in out or "crm" not in out):
                problems.append("import did not take the local list as the docs say")
            # The local run's key 9 leaves the dial list; the other valid row stays.
            if "events/lists/dnc-list.csv" in block and (
                    "2 added, 0 already there" not in out
                    or "1 kept, 2 removed as on the register, 0 removed as not a phone" not in out
                    or "3,Sam,(202) 555-0177" not in out):
                problems.append("the README's import and scrub did not do what its comments say")
            if ".local/dial-list.csv" in block and (
                    "1 kept, 1 removed as on the register, 1 removed as not a phone" not in out
                    or "2,Sam,(202) 555-0177" not in out):
                problems.append("scrub did not take the local run's key 9 off the dial list")
        # Looking never moves a message: six looks, the same messages each time.
        looks = []
        for _ in range(6):
            ok, out = run_shell(f".venv/bin/python scripts/trigger.py --show {LOOKED_AT}", f"look at {LOOKED_AT}")
            looks.append(messages_shown(out) if ok else None)
        print(f"\nsix looks at {LOOKED_AT}: {[None if m is None else len(m) for m in looks]} message(s)")
        if any(m != looks[0] for m in looks) or not looks[0] or not any("dnc.requested" in m for m in looks[0]):
            problems.append(f"the six looks at {LOOKED_AT} differ, or show no dnc.requested: {looks}")
        ok, out = run_shell(".venv/bin/python scripts/local.py dump", "the dump")
        if not ok or LOOKED_AT not in out or "dnc.requested" not in out:
            problems.append("local.py dump failed, or showed neither the phone nor its DNC request")
        problems += check_aws_commands(session)
        problems += stack_env_reads_outputs(session)
    finally:
        problems += stop(process, ports)
    print(f"\nstopped with SIGINT to its process group: exit {process.returncode}")
    if ports:
        problems += half_up_is_told(ports)
    # Against the stopped stack, the local tools say so in one line, not a traceback.
    for command in [f"scripts/trigger.py --show {LOOKED_AT}", "scripts/trigger.py lead.call_received",
                    "scripts/local.py dump"]:
        done = subprocess.run([sys.executable, *command.split()], cwd=ROOT, capture_output=True, text=True)
        said = done.stderr.strip()
        print(f"stopped stack, {command}: exit {done.returncode}: {said}")
        if done.returncode != 2 or "Traceback" in said or len(said.splitlines()) != 1:
            problems.append(f"{command} against the stopped stack did not answer in one line with exit 2")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"check_commands.py local: {'FAILED' if problems else 'all passed'} "
          f"in {time.monotonic() - started:.0f} s")
    return 1 if problems else 0


def elf_machine(path):
    """The ELF header's machine: 'aarch64', 'x86_64' or what it is."""
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return "not an ELF file"
    return {0xB7: "aarch64", 0x3E: "x86_64"}.get(int.from_bytes(header[18:20], "little"), "other")


def serverless_functions(template):
    """The logical ids of a template's `AWS::Serverless::Function` resources."""
    return re.findall(r"^  (\w+):\n    Type: AWS::Serverless::Function", template.read_text(), re.M)


# What a deploy that got as far as AWS says when AWS is not there; and what it says when the
# command itself is wrong (no bucket, no capability, no template), whatever the network.
CONNECTION_FAILED = re.compile(r"Could not connect to the endpoint URL|Connection refused|EndpointConnectionError")
NOT_AS_PRINTED = re.compile(r"S3 Bucket not specified|Requires capabilities|InsufficientCapabilities|"
                            r"Template file not found|Error: Missing option|No such option|Error: Invalid value")


def check_deploy_commands(blocks):
    """Every `sam deploy` of the deploy blocks, as printed, with fake credentials and every
    AWS endpoint at a closed local port: each must get as far as calling AWS, and fail only
    on the connection (no bucket, capability or option error). `--guided` is interactive:
    it is checked as the same command without it."""
    commands = []
    for block in blocks:
        joined = re.sub(r"\\\n\s*", " ", block).splitlines()
        # The block's `export`s hold for its later lines, as in the terminal it is pasted in.
        exports = "\n".join(line for line in joined if line.startswith("export "))
        commands += [(line.split("  #")[0].strip(), exports) for line in joined if "sam deploy" in line]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake",
           "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "SAM_CLI_TELEMETRY": "0",
           # One attempt: a refused connection is the answer; retrying it was 8 s a command.
           "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}
    env.pop("AWS_PROFILE", None)
    problems = []
    print(f"\nthe docs' {len(commands)} `sam deploy` command(s), against no AWS (fake credentials, a closed port):")
    for command, exports in dict.fromkeys(commands):
        run = exports + "\n" + command.replace(" --guided", "")
        try:
            done = subprocess.run(["bash", "-c", run], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            problems.append(f"`{command}` did not end within 600 s against a closed port")
            continue
        out = done.stdout + done.stderr
        if done.returncode != 0 and CONNECTION_FAILED.search(out) and not NOT_AS_PRINTED.search(out):
            note = " (checked without --guided)" if "--guided" in command else ""
            print(f"  ok, fails only on the connection{note}: {command}")
            continue
        tail = "\n    ".join(out.strip().splitlines()[-6:])
        print(f"  FAILED: {command}\n    exit {done.returncode}\n    {tail}")
        problems.append(f"`{command}` fails before it reaches AWS, or not on the connection")
    # dev, prod and the example consumer's: fewer means the extraction broke.
    if len(commands) < 3:
        problems.append(f"only {len(commands)} `sam deploy` commands found in the deploy blocks")
    return problems


def check_deploy_build():
    """Every docs block marked for the deploy build, as printed up to its first `sam
    deploy`; then each function's bootstrap in the block's build directory, arm64."""
    started = time.time()
    blocks = fenced_blocks(docs_text(), DEPLOY_MARK)
    builds = []
    for block in blocks:
        lines = block.splitlines()
        cut = next((i for i, line in enumerate(lines) if "sam deploy" in line), len(lines))
        script = "\n".join(lines[:cut])
        if "sam build" not in script:
            print(f"a block marked for the deploy build has no `sam build` before `sam deploy`:\n{block}")
            return 1
        template = re.search(r"sam build.*?-t (\S+)", script.replace("\\\n", " "))
        build_dir = re.search(r"--build-dir (\S+)", script)
        builds.append((script, ROOT / (template.group(1) if template else "template.yaml"),
                       ROOT / (build_dir.group(1) if build_dir else ".aws-sam/build")))
    # The receiver first, as a newcomer deploys it (its block installs the arm64 target).
    builds.sort(key=lambda build: build[1] != ROOT / "template.yaml")
    if len(builds) < 2:
        print(f"the docs mark {len(builds)} deploy-build block(s); the receiver's and the example consumer's expected")
        return 1
    problems = []
    for script, template, build_dir in builds:
        shutil.rmtree(build_dir, ignore_errors=True)  # what is there after the build, it built
        ok, _ = run_shell(script, "(docs) " + script.replace("\n", "\n    "))
        if ok:
            for function in serverless_functions(template):
                bootstrap = build_dir / function / "bootstrap"
                if not bootstrap.is_file():
                    problems.append(f"no {bootstrap.relative_to(ROOT)} after sam build")
                    continue
                machine = elf_machine(bootstrap)
                print(f"{bootstrap.relative_to(ROOT)}: {bootstrap.stat().st_size} bytes, {machine}")
                if machine != "aarch64":
                    problems.append(f"{function}'s bootstrap is {machine}, not the arm64 the template deploys")
            continue
        installed = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True, text=True)
        if "aarch64-unknown-linux-gnu" in installed.stdout.split():
            problems.append(f"a deploy-build block failed:\n{script}")
            continue
        # A machine that cannot download the target (no network beyond the package
        # registries) still checks that the functions build for release, for x86_64, and says so.
        print("\nthe aarch64-unknown-linux-gnu target could not be installed here, so `sam build` "
              "could not run: building the receiver's functions for x86_64 with cargo lambda instead")
        if subprocess.run(["bash", "scripts/build_functions.sh"], cwd=ROOT).returncode != 0:
            problems.append("scripts/build_functions.sh failed")
        break
    problems += check_deploy_commands(blocks)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"check_commands.py deploy-build: {'FAILED' if problems else 'all passed'} in {time.time() - started:.0f} s")
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["local", "deploy-build"])
    args = parser.parse_args()
    return check_local() if args.what == "local" else check_deploy_build()


if __name__ == "__main__":
    sys.exit(main())
