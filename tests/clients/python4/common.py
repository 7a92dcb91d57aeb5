"""Helpers shared by the python-socketio 4.x (python-engineio 3.x) client scripts of this folder.

These clients speak Engine.IO v3 and Socket.IO protocol v4: the server connects "/" by itself, with the handshake
query as its auth (python-socketio 4 has no `auth`: the token goes in the URL's query). Over polling, python-engineio
3 sends every POST with the XHR2 binary framing (application/octet-stream), its pings included.

Each script runs against an iogate socket.io endpoint whose backend behaves as tests/common/sio_backend.rs
describes: a "good" token is accepted (data {name}, room user:<name>, a `welcome` emit [{name, namespace}]), any
other is rejected with REJECT_DATA; events ping, shout, add, echo, seq, binary, bytes, join, whoami answer as
described there.

The generic parts (steps, failing, argv, RESULT) are in ../script.py.

Usage: .venv/bin/python <script> <url> [polling|upgrade|websocket]   e.g. http://127.0.0.1:8080/socket.io/ polling
"""

import os
import queue
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from script import MODES, REJECT_DATA, TIMEOUT_S, WAIT_S, Target, check, fail, run, step  # noqa: E402,F401
import script  # noqa: E402

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
        return script.check_transport(self)
