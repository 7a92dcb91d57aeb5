"""The python-socketio (5.x) long-lived room member, as ../member.js describes it for the JavaScript clients:
connects to "/" as <name> (auth token "good"), reconnects by itself after a drop, joins <room> through the backend
after every (re)connect, reports what it receives on stdout, emits what stdin asks for, and disconnects on purpose
and exits 0 once stdin closes.

Usage: python3 member.py <url> <polling|upgrade|websocket> <name> <room>
stdout: READY {"sid", "transport", "connects"} | EVENT {"event", "args"} | DISCONNECT {"reason"} |
        ACK {"event", "args"} | RESULT {"sid", "connects", "disconnects"}
stdin: one JSON object per line, {"emit": "<event>", "args": [...]}
"""

import base64
import json
import os
import sys
import threading

import common
from common import MODES, check, fail, step

# The events a member reports (the backend's `welcome`, broadcasts, pushes).
EVENTS = ("welcome", "shout", "news", "echo")

# How long a member may live at most, in seconds.
LIFETIME_S = 90

_print_lock = threading.Lock()


def report(word, value):
    """Prints `WORD {json}` as one line."""
    with _print_lock:
        print(f"{word} {json.dumps(value)}", flush=True)


def encoded(value):
    """`value` as JSON with bytes as {"$binary": base64}."""
    if isinstance(value, (bytes, bytearray)):
        return {"$binary": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [encoded(inner) for inner in value]
    if isinstance(value, dict):
        return {key: encoded(inner) for key, inner in value.items()}
    return value


def as_args(ack):
    """An ack as python-socketio returns it (None, one value, or a tuple) as a list of args."""
    if ack is None:
        return []
    return list(ack) if isinstance(ack, tuple) else [ack]


class Member(common.Client):
    """A reconnecting client that reports instead of failing on a disconnect."""

    def __init__(self, target, name, room):
        super().__init__(target)
        self.sio = common.socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
        self.name = name
        self.room = room
        self.connects = 0
        self.disconnects = 0
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        for event in EVENTS:
            self.sio.on(event, self._reporter(event))

    def _reporter(self, event):
        return lambda *args: report("EVENT", {"event": event, "args": encoded(list(args))})

    def _on_connect(self):
        self.connects += 1
        threading.Thread(target=self._join, args=(self.connects,), daemon=True).start()

    def _join(self, connects):
        step(f"joining {self.room} (connect #{connects})")
        sid = self.sio.get_sid("/")
        check(self.call("join", self.room), ("joined", self.room), "join ack")
        transport = self.check_transport()
        step("connected")
        report("READY", {"sid": sid, "transport": transport, "connects": connects})

    def _on_disconnect(self, *reason):
        self.disconnects += 1
        report("DISCONNECT", {"reason": str(reason[0]) if reason else "disconnect"})

    def start(self):
        """Connects (retrying the first connection too)."""
        self.sio.connect(
            self.target.origin,
            socketio_path=self.target.path,
            transports=MODES[self.target.mode],
            auth={"token": "good", "name": self.name},
            wait_timeout=common.WAIT_S,
            retry=True,
        )


def main():
    target = common.Target()
    if len(target.args) < 2:
        print(f"usage: python3 {sys.argv[0]} <url> <polling|upgrade|websocket> <name> <room>", file=sys.stderr)
        sys.exit(2)
    name, room = target.args[0], target.args[1]
    timer = threading.Timer(LIFETIME_S, lambda: fail(f"still running after {LIFETIME_S} s"))
    timer.daemon = True
    timer.start()
    step("connecting")
    member = Member(target, name, room)
    try:
        member.start()
    except common.socketio.exceptions.ConnectionError as error:
        fail(f"cannot connect: {error}")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            command = json.loads(line)
        except ValueError:
            fail(f"stdin line is not JSON: {line!r}")
        args = command.get("args", [])
        ack = member.call(command["emit"], args[0] if len(args) == 1 else tuple(args) if args else None)
        report("ACK", {"event": command["emit"], "args": encoded(as_args(ack))})
    step("disconnecting")
    sid = member.sio.get_sid("/")
    dropped = member.disconnects
    member.disconnect()
    report("RESULT", {"sid": sid, "connects": member.connects, "disconnects": dropped})
    os._exit(0)


main()
