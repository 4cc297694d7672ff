"""Looks at the local queues without receiving: moto's own view of its state
(`/moto-api/data.json`). A receive counts towards a queue's maxReceiveCount even with
VisibilityTimeout=0, and after 5 the message moves to the dead-letter queue, as on AWS: so
the local tools never look by receiving. Used by scripts/trigger.py and scripts/local.py.
"""
import json
import socket
import urllib.parse
import urllib.request

# Which queue a message is on, by its body: the relay sends each type to one queue.
QUEUE_OF_TYPE = {"callback.scheduled": "callback", "dnc.requested": "dnc"}


def answering(url):
    """Whether something listens at the URL's host and port: asked before any boto3 call,
    which retries a refused connection for about 25 s before it gives up."""
    parsed = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 80), 1).close()
        return True
    except OSError:
        return False


def messages(endpoint):
    """Every message the emulator holds, shaped as a ReceiveMessage answer shows one (with
    its attributes and SentTimestamp), and left where it is."""
    with urllib.request.urlopen(f"{endpoint.rstrip('/')}/moto-api/data.json", timeout=10) as response:
        data = json.loads(response.read())
    # moto lists a message once more for each time it was received: one entry per id,
    # the latest (its receive count the highest), in the order they were first listed.
    shaped = {}
    for m in data.get("sqs", {}).get("Message", []):
        shaped[m.get("id")] = ({
            "MessageId": m.get("id"),
            "Body": m.get("body", ""),
            "MessageAttributes": m.get("message_attributes") or {},
            "Attributes": {"SentTimestamp": str(m.get("sent_timestamp") or 0),
                           "ApproximateReceiveCount": str(m.get("approximate_receive_count") or 0)},
        })
    return list(shaped.values())


def queue_of(message):
    """`callback`, `dnc` or `quarantine`, from the message body; None for anything else."""
    try:
        body = json.loads(message["Body"])
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if body.get("type") in QUEUE_OF_TYPE:
        return QUEUE_OF_TYPE[body["type"]]
    if "reason" in body and "receivedAt" in body:
        return "quarantine"
    return None


def on_queue(endpoint, queue):
    """The messages on one of the three queues (`callback`, `dnc`, `quarantine`)."""
    return [m for m in messages(endpoint) if queue_of(m) == queue]
