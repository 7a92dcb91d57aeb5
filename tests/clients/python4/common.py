"""Helpers shared by the python-socketio 4.x (python-engineio 3.x) client scripts of this folder.

These clients speak Engine.IO v3 and Socket.IO protocol v4: the server connects "/" by itself, with the handshake
query as its auth (python-socketio 4 has no `auth`: the token goes in the URL's query). Over polling, python-engineio
3 sends every POST with the XHR2 binary framing (application/octet-stream), its pings included.

Each script runs against an iogate socket.io endpoint whose backend behaves as tests/common/sio_backend.rs
describes: a "good" token is accepted (data {name}, room user:<name>, a `welcome` emit [{name, namespace}]), any
other is rejected with REJECT_DATA; events ping, shout, add, echo, seq, binary, bytes, join, whoami answer as
described there.

A script prints `RESULT {...}` on success and exits 0; on any failure, or after the overall timeout, it prints
`FAIL: ...` on stderr and exits 1; with a missing or bad argument it exits 2.

Usage: .venv/bin/python <script> <url> [polling|upgrade|websocket]   e.g. http://127.0.0.1:8080/socket.io/ polling
"""

import json
import os
import queue
import sys
import threading
import urllib.parse

INSTALL = "python3 -m venv tests/clients/python4/.venv && " \
    "tests/clients/python4/.venv/bin/pip install -r tests/clients/python4/requirements.txt"

try:
    import engineio
    import socketio
    from importlib.metadata import version
except ImportError as error:  # the Rust test checks this first; this is for a manual run
    print(f"FAIL: {error}: run `{INSTALL}`", file=sys.stderr)
    sys.exit(1)

VERSIONS = {"python-socketio": version("python-socketio"), "python-engineio": version("python-engineio")}
if not VERSIONS["python-socketio"].startswith("4.") or not VERSIONS["python-engineio"].startswith("3."):
    print(f"FAIL: need python-socketio 4.x and python-engineio 3.x, have {VERSIONS}: run `{INSTALL}`", file=sys.stderr)
    sys.exit(1)

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
    """The gateway to talk to, from argv: origin, socket.io path and mode."""

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


class Client:
    """A python-socketio 4 client that records what it receives and fails on an unexpected disconnect."""

    def __init__(self, target):
        self.target = target
        self.sio = socketio.Client(reconnection=False)
        self.closing = False
        self.events = {}
        self.connected = threading.Event()
        self.connect_errors = queue.Queue()
        self.sio.on("connect", self.connected.set)
        self.sio.on("connect_error", lambda *data: self.connect_errors.put(data))
        self.sio.on("disconnect", self._disconnected)

    def _disconnected(self):
        if not self.closing:
            fail("disconnected unexpectedly")

    def record(self, event):
        """Keeps the args of every `event`, for `next`."""
        received = queue.Queue()
        self.events[event] = received
        self.sio.on(event, lambda *args: received.put(args))

    def next(self, event, wait=WAIT_S):
        """The args (a tuple) of the next recorded `event`, waiting at most `wait` seconds."""
        try:
            return self.events[event].get(timeout=wait)
        except queue.Empty:
            return fail(f"no {event!r} within {wait} s")

    def connect(self, query):
        """Opens the connection with `query` (a dict) in the URL: the server connects "/" with it as auth.

        Returns once the Engine.IO session is open, as python-socketio 4 does: "/" may still be connecting.
        """
        url = f"{self.target.origin}?{urllib.parse.urlencode(query)}"
        self.sio.connect(url, socketio_path=self.target.path, transports=MODES[self.target.mode])

    def wait_connected(self):
        """Waits for the server's CONNECT of "/"."""
        if not self.connected.wait(WAIT_S):
            fail(f'"/" not connected within {WAIT_S} s')

    def call(self, event, *args):
        """Emits with an ack (sio.call) and returns the ack (one arg, or a tuple of them)."""
        data = args[0] if len(args) == 1 else tuple(args) if args else None
        try:
            return self.sio.call(event, data, timeout=WAIT_S)
        except socketio.exceptions.TimeoutError:
            return fail(f"no ack for {event!r} within {WAIT_S} s")

    def disconnect(self):
        """sio.disconnect(), with its DISCONNECT packet surely sent before the transport closes."""
        self.closing = True
        eio = self.sio.eio
        close = eio.disconnect

        def close_after_flush(*args, **kwargs):
            eio.queue.join()
            close(*args, **kwargs)

        eio.disconnect = close_after_flush
        self.sio.disconnect()

    def check_transport(self):
        """Checks the transport against the mode (waiting for an upgrade in upgrade mode), then a round trip."""
        step(f"checking the transport ({self.target.mode})")
        expected = self.target.transport()
        pause = threading.Event()
        for _ in range(WAIT_S * 20):
            if self.sio.transport() == expected:
                break
            pause.wait(0.05)
        check(self.sio.transport(), expected, "transport")
        check(self.call("ping"), "pong", f"ack over {expected}")
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
