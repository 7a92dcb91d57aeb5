"""What every python-socketio client script (python/ and python4/) does the same way, whichever python-socketio
generation it drives: its target from argv, named steps, failing with a message, strict comparisons, the transport
check, and the overall run with its RESULT line.

A script prints `RESULT {...}` on success and exits 0; on any failure, or after the overall timeout, it prints
`FAIL: ...` on stderr and exits 1; with a missing or bad argument it exits 2.
"""

import json
import os
import sys
import threading
import urllib.parse

TIMEOUT_S = float(os.environ.get("IOGATE_CLIENT_TIMEOUT_MS", "15000")) / 1000
WAIT_S = 5

# engine.io `transports` per mode (None: the default, polling then an upgrade to WebSocket).
MODES = {"polling": ["polling"], "upgrade": None, "websocket": ["websocket"]}

# What the backend sends as CONNECT_ERROR data when it rejects a token.
REJECT_DATA = {"code": 4001, "reason": "bad token", "retry": False, "tags": ["auth", 1.5, None]}

_stage = ["starting"]


def fail(message):
    """Reports a failure and ends the process at once (other threads included)."""
    print(f"FAIL: {message} (while {_stage[0]})", file=sys.stderr, flush=True)
    os._exit(1)


def step(name):
    """Names what the script is doing, for failure messages."""
    _stage[0] = name


def check(actual, expected, what):
    """Fails unless actual == expected (bytes equal only bytes)."""
    if actual != expected or type(actual) is not type(expected):
        fail(f"{what}: expected {expected!r}, got {actual!r}")


class Target:
    """The gateway to talk to, from argv: origin, socket.io path, mode, and any further arguments."""

    def __init__(self):
        if len(sys.argv) < 2:
            usage("no URL given")
        url = urllib.parse.urlsplit(sys.argv[1])
        if not url.scheme or not url.netloc:
            usage(f"not a URL: {sys.argv[1]}")
        self.origin = f"{url.scheme}://{url.netloc}"
        self.path = url.path or "/socket.io/"
        self.mode = sys.argv[2] if len(sys.argv) > 2 else "websocket"
        if self.mode not in MODES:
            usage(f"unknown mode: {self.mode}")
        self.args = sys.argv[3:]

    def transport(self):
        """The transport a session must end on."""
        return "polling" if self.mode == "polling" else "websocket"


def usage(problem):
    print(f"{problem}\nusage: python3 {sys.argv[0]} <url> [polling|upgrade|websocket]", file=sys.stderr)
    sys.exit(2)


def check_transport(client):
    """Checks `client`'s transport against the mode (waiting for an upgrade in upgrade mode), then a round trip.

    `client` has the `sio`, `target` and `call` of the scripts' Client classes.
    """
    step(f"checking the transport ({client.target.mode})")
    expected = client.target.transport()
    pause = threading.Event()
    for _ in range(WAIT_S * 20):
        if client.sio.transport() == expected:
            break
        pause.wait(0.05)
    check(client.sio.transport(), expected, "transport")
    check(client.call("ping"), "pong", f"ack over {expected}")
    return expected


def run(body):
    """Runs `body` under the overall timeout and prints its result as the RESULT line."""
    timer = threading.Timer(TIMEOUT_S, lambda: fail(f"timed out after {TIMEOUT_S} s"))
    timer.daemon = True
    timer.start()
    try:
        result = body(Target())
    except Exception as error:  # any surprise is a failure with its message
        fail(f"unexpected {type(error).__name__}: {error}")
    timer.cancel()
    print(f"RESULT {json.dumps(result)}", flush=True)
