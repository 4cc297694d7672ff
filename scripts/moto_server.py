"""moto's server, with DynamoDB's item writes atomic, as they are on AWS.

DynamoDB evaluates a write's condition and applies the write as one step: two conditional
writes of one item on the same version never both succeed. moto's threaded server checks
an UpdateItem's condition and then applies it in several Python steps, so two concurrent
writes can both pass (a lost update no AWS table would make). Every write of the DynamoDB
backend here holds one lock, which plays what AWS documents; nothing else changes.
Started by scripts/moto.sh with moto_server's own arguments.
"""
import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_WRITES = threading.RLock()


def _atomic(write):
    @functools.wraps(write)
    def atomic(*args, **kwargs):
        with _WRITES:
            return write(*args, **kwargs)

    return atomic


for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item"):
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    sys.exit(main())
