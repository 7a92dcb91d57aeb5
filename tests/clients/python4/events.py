"""Events and acks with python-socketio 4 (python-engineio 3): the first call goes out right after connect()
returns, before the server's CONNECT of "/" has arrived (as python-socketio 4 allows); acks via sio.call with args
the backend derived, several acks in flight at once, an event without ack answered by an emit, events in order,
bytes both ways (top level and nested; the backend acks with every bytes reversed and emits the args back), and a
pause spanning several client pings. Then the process exits at once without closing anything.

Usage: .venv/bin/python events.py <url> [polling|upgrade|websocket]
RESULT {"sid", "transport", "seq": how many `seq` events were sent, in order 0..seq-1}
"""

import os
import queue
import time

import common
from common import check, fail, step

SEQ = 20


def reversed_bytes(value):
    """`value` with every bytes in it reversed (what the backend does to `binary` args for the ack)."""
    if isinstance(value, bytes):
        return value[::-1]
    if isinstance(value, list):
        return [reversed_bytes(item) for item in value]
    if isinstance(value, tuple):
        return tuple(reversed_bytes(item) for item in value)
    if isinstance(value, dict):
        return {key: reversed_bytes(inner) for key, inner in value.items()}
    return value


def main(target):
    step("connecting")
    erin = common.Client(target)
    erin.record("welcome")
    erin.record("echo")
    erin.record("binary-back")
    erin.connect({"token": "good", "name": "erin"})
    sid = erin.sio.sid

    step("a call right after connect()")
    text = "héllo € 😀 world"
    check(erin.call("shout", text), (text.upper(), len(text)), "shout ack")
    erin.wait_connected()
    check(erin.next("welcome"), ({"name": "erin", "namespace": "/"},), "welcome")
    check(erin.call("add", 2, 40), 42, "add ack")

    step("acks in flight at once")
    sums = queue.Queue()
    for i in range(10):
        erin.sio.emit("add", (i, 1000), callback=lambda total, i=i: sums.put((i, total)))
    got = sorted(sums.get(timeout=common.WAIT_S) for _ in range(10))
    check(got, [(i, i + 1000) for i in range(10)], "concurrent acks")

    step("an event without ack, answered by an emit")
    erin.sio.emit("echo", ("one", {"n": 1, "nested": [True, None, "x"]}, [2.5]))
    check(erin.next("echo"), ("one", {"n": 1, "nested": [True, None, "x"]}, [2.5]), "echo args")

    step("events in order")
    for i in range(SEQ):
        erin.sio.emit("seq", i)
    check(erin.call("ping"), "pong", "ping after seq")

    step("bytes both ways")
    args = (
        bytes([0, 1, 2, 127, 128, 253, 254, 255]),
        {"name": "file.bin", "content": "buffer héllo".encode(), "parts": [b"a", "text", bytes([9, 8])]},
    )
    check(erin.call("binary", *args), reversed_bytes(args), "binary ack (every bytes reversed)")
    check(erin.next("binary-back"), args, "binary-back emit (args unchanged)")
    check(erin.call("bytes", 5), bytes(range(5)), "bytes ack")

    step("idling through client pings")
    time.sleep(1.5)
    if not erin.sio.connected or erin.sio.eio.state != "connected":
        fail("the connection dropped while idle")
    check(erin.call("ping"), "pong", "ping after idling")

    transport = erin.check_transport()
    return {"sid": sid, "transport": transport, "seq": SEQ}


common.run(main)
# Over polling, give the next long-poll GET time to be pending: the gateway sees the client go through it.
time.sleep(0.3)
os._exit(0)
