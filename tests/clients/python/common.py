"""Helpers shared by the python-socketio (5.x) client scripts of this folder.

Each script runs against an iogate socket.io endpoint (namespaces "/" and "/chat") whose backend behaves as
tests/common/sio_backend.rs describes: a "good" token is accepted (data {name}, room user:<name>, a `welcome`
emit [{name, namespace}]), any other is rejected with "Not authorized" and REJECT_DATA; events ping, shout, add,
echo, seq, binary, bytes, whoami answer as described there.

A script prints `RESULT {...}` on success and exits 0; on any failure, or after the overall timeout, it prints
`FAIL: ...` on stderr and exits 1; with a missing or bad argument it exits 2.

Usage: python3 <script> <url> [polling|upgrade|websocket]   e.g. http://127.0.0.1:8080/socket.io/ websocket
"""

import json
import os
import queue
import sys
import threading
import urllib.parse

try:
    import socketio
except ImportError as error:  # the Rust test checks this first; this is for a manual run
    print(f"FAIL: {error}: run `pip install -r tests/clients/python/requirements.txt`", file=sys.stderr)
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

    def transport(self):
        """The transport a session must end on."""
        return "polling" if self.mode == "polling" else "websocket"


def usage(problem):
    print(f"{problem}\nusage: python3 {sys.argv[0]} <url> [polling|upgrade|websocket]", file=sys.stderr)
    sys.exit(2)


class Client:
    """A python-socketio client that records what it receives and fails on an unexpected disconnect."""

    def __init__(self, target, namespaces=("/",)):
        self.target = target
        self.namespaces = list(namespaces)
        self.sio = socketio.Client(reconnection=False)
        self.closing = False
        self.events = {}
        self.connect_errors = queue.Queue()
        for namespace in self.namespaces:
            self.sio.on("connect_error", self._connect_error(namespace), namespace=namespace)
            self.sio.on("disconnect", self._disconnected(namespace), namespace=namespace)

    def _connect_error(self, namespace):
        return lambda data=None: self.connect_errors.put((namespace, data))

    def _disconnected(self, namespace):
        def handler(*reason):
            if not self.closing:
                fail(f"{namespace} disconnected unexpectedly {reason!r}")

        return handler

    def record(self, event, namespace="/"):
        """Keeps the args of every `event` on `namespace`, for `next`."""
        received = queue.Queue()
        self.events[(event, namespace)] = received
        self.sio.on(event, lambda *args: received.put(args), namespace=namespace)

    def next(self, event, namespace="/"):
        """The args (a tuple) of the next recorded `event`."""
        try:
            return self.events[(event, namespace)].get(timeout=WAIT_S)
        except queue.Empty:
            return fail(f"no {event!r} on {namespace} within {WAIT_S} s")

    def connect(self, auth):
        """Connects every namespace (raising socketio.exceptions.ConnectionError when one is refused)."""
        self.sio.connect(
            self.target.origin,
            socketio_path=self.target.path,
            transports=MODES[self.target.mode],
            auth=auth,
            namespaces=self.namespaces,
            wait_timeout=WAIT_S,
        )

    def call(self, event, data=None, namespace="/"):
        """Emits with an ack and returns the ack (one arg, or a tuple of them)."""
        try:
            return self.sio.call(event, data, namespace=namespace, timeout=WAIT_S)
        except socketio.exceptions.TimeoutError:
            return fail(f"no ack for {event!r} on {namespace} within {WAIT_S} s")

    def disconnect(self):
        """sio.disconnect(), with its DISCONNECT packets surely sent before the transport closes.

        python-engineio queues the packets for its writer thread and then closes a WebSocket at once, racing that
        writer: the gateway would often see the transport close first. Waiting for the send queue to drain keeps
        the order the client meant (namespaces disconnected, then the connection closed).
        """
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
        deadline = threading.Event()
        for _ in range(WAIT_S * 20):
            if self.sio.transport() == expected:
                break
            deadline.wait(0.05)
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
