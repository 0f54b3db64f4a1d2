"""`python -m local_stack.moto_server -H HOST -p PORT`: moto's own server, with its SQS clock made cheap.

moto 5.2.5's SQS asks `moto.core.utils.unix_time_millis()` several times per
queued message on every ReceiveMessage (`Message.visible`/`delayed`, and
`Queue.attributes` counts every message), and that function builds naive
UTC datetimes to subtract them. With a few hundred notifications queued,
one receive took ~250 ms and the backlog fed on itself (measured: 40
messages/s drained from a 300-message queue). Reading the same clock with
time.time() gives the same value (seconds since the epoch, in ms) and drained
~180 messages/s. Behaviour is unchanged; only this process is patched.
"""

from __future__ import annotations

import datetime
import time

import moto.sqs.models
from moto.core import utils
from moto.server import main

_moto_unix_time_millis = utils.unix_time_millis


def _unix_time_millis(dt: datetime.datetime | None = None) -> float:
    if dt is None:
        return time.time() * 1000.0
    return _moto_unix_time_millis(dt)


moto.sqs.models.unix_time_millis = _unix_time_millis

if __name__ == "__main__":
    main()
