"""Pushes from the backend through iogate's HTTP API, as python-socketio 5 sees them. The script connects as "pia"
(the backend joins it to "user:pia"), asks the backend to join it to "lobby" (an event whose webhook reply joins),
then prints `READY <sid>` and waits while the test drives the API:
  - `news` events (emitted to its socket id, then to a room): their args are recorded, every binary arg must
    arrive as bytes (a plain {"$binary": ...} dict fails the script);
  - one `quiz` event asking for an ack, args [{a, b}, text, bytes]: the handler returns (a + b, TEXT, reversed
    bytes), which python-socketio sends as the ack;
  - then a server-side disconnect, which must reach the disconnect handler with python-socketio's
    "server disconnect" reason.
Any other event, or a disconnect before 2 news and 1 quiz, fails the script.

Usage: python3 pushes.py <url> [polling|upgrade|websocket]
READY <sid>, then RESULT {"sid", "transport", "events": [{"event", "args"}...] (bytes as {"$binary": base64}),
  "reason"}
"""

import base64
import os
import threading
import time

import common
from common import check, fail, step

NEWS = 2


def encoded(value, where):
    """`value` as JSON with every bytes as {"$binary": base64}; fails on a `$binary` dict (binary left as JSON)."""
    if isinstance(value, (bytes, bytearray)):
        return {"$binary": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [encoded(inner, f"{where}[{i}]") for i, inner in enumerate(value)]
    if isinstance(value, dict):
        if "$binary" in value:
            fail(f"{where} arrived as plain JSON {value!r}, not as bytes")
        return {key: encoded(inner, f"{where}.{key}") for key, inner in value.items()}
    return value


def flush_before_close(eio):
    """Makes the engine.io close that follows a server disconnect wait for the packets queued before it.

    When the server disconnects the last namespace, python-socketio calls eio.disconnect(), which queues a CLOSE
    packet and marks the connection "disconnecting" at once. Over polling, a writer thread still busy POSTing an
    earlier packet (the quiz ack, say) then sees that state and quits without ever POSTing the CLOSE: the gateway
    keeps the session until its ping timeout. Waiting for the send queue to drain first (as common.Client.disconnect
    does) keeps the order the client meant.
    """
    close = eio.disconnect

    def close_after_flush(*args, **kwargs):
        eio.queue.join()
        close(*args, **kwargs)

    eio.disconnect = close_after_flush


def main(target):
    step("connecting")
    pia = common.Client(target)
    sio = pia.sio
    flush_before_close(sio.eio)
    events = []
    counts = {"news": 0, "quiz": 0}
    ready = threading.Event()
    disconnected = threading.Event()
    reasons = []

    def on_news(*args):
        if not ready.is_set():
            fail(f"news {args!r} before READY")
        counts["news"] += 1
        events.append({"event": "news", "args": encoded(args, "news args")})

    def on_quiz(*args):
        if not ready.is_set():
            fail(f"quiz {args!r} before READY")
        step("answering the quiz")
        counts["quiz"] += 1
        events.append({"event": "quiz", "args": encoded(args, "quiz args")})
        if len(args) != 3 or not isinstance(args[0], dict) or not isinstance(args[2], bytes):
            fail(f"quiz args {args!r}: expected [{{a, b}}, text, bytes]")
        numbers, text, data = args
        return numbers["a"] + numbers["b"], text.upper(), data[::-1]

    def on_other(event, *args):
        if event != "welcome" or ready.is_set():
            fail(f"unexpected event {event} {args!r}")

    def on_disconnect(*reason):
        if not ready.is_set():
            fail(f"disconnected before READY {reason!r}")
        if counts["news"] != NEWS or counts["quiz"] != 1:
            fail(f"disconnected {reason!r} after {counts['news']} news and {counts['quiz']} quiz, expected {NEWS} and 1")
        reasons.append(reason)
        disconnected.set()

    sio.on("news", on_news)
    sio.on("quiz", on_quiz)
    sio.on("*", on_other)
    sio.on("disconnect", on_disconnect)  # replaces common.Client's handler, which fails on any disconnect
    pia.connect({"token": "good", "name": "pia"})
    sid = sio.get_sid("/")

    step("joining lobby through an event")
    check(pia.call("join", "lobby"), ("joined", "lobby"), "join ack")
    transport = pia.check_transport()

    step(f"waiting for {NEWS} news, a quiz and a server disconnect")
    ready.set()
    print(f"READY {sid}", flush=True)
    if not disconnected.wait(common.TIMEOUT_S):
        fail("no disconnect")
    check(reasons, [(sio.reason.SERVER_DISCONNECT,)], "disconnect handler args")
    return {"sid": sid, "transport": transport, "events": events, "reason": reasons[0][0]}


common.run(main)
# The gateway already ended the socket; give python-engineio a moment to close its side before leaving.
time.sleep(0.3)
os._exit(0)
