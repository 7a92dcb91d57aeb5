"""Helpers shared by the python-socketio (5.x) client scripts of this folder.

Each script runs against an iogate socket.io endpoint (namespaces "/" and "/chat") whose backend behaves as
tests/common/sio_backend.rs describes: a "good" token is accepted (data {name}, room user:<name>, a `welcome`
emit [{name, namespace}]), any other is rejected with "Not authorized" and REJECT_DATA; events ping, shout, add,
echo, seq, binary, bytes, whoami answer as described there.

The generic parts (steps, failing, argv, RESULT) are in ../script.py.

Usage: python3 <script> <url> [polling|upgrade|websocket]   e.g. http://127.0.0.1:8080/socket.io/ websocket
"""

import os
import queue
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from script import MODES, REJECT_DATA, TIMEOUT_S, WAIT_S, Target, check, fail, run, step  # noqa: E402,F401
import script  # noqa: E402

try:
    import socketio
except ImportError as error:  # the Rust test checks this first; this is for a manual run
    print(f"FAIL: {error}: run `pip install -r tests/clients/python/requirements.txt`", file=sys.stderr)
    sys.exit(1)


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
        return script.check_transport(self)
