"""The python-socketio 4 member of a room shared by clients of every protocol (see ../socketio2/mixed_room.js):
connects as <name>, joins "mixed", emits `ready`, waits for the push API's `news` and the backend's `shout`.

Usage: .venv/bin/python mixed_room.py <url> <polling|upgrade|websocket> <name>
RESULT {"sid", "news": the args of `news`, "shout": the args of `shout`, "binary": whether news[1] is bytes}
"""

import base64
import os
import time

import common
from common import check, step


def main(target):
    name = target.args[0] if target.args else "py4"
    step("connecting")
    client = common.Client(target)
    client.record("news")
    client.record("shout")
    client.connect({"token": "good", "name": name})
    client.wait_connected()
    sid = client.sio.sid
    client.check_transport()
    step("joining the room")
    check(client.call("join", "mixed"), ("joined", "mixed"), "join ack")
    client.sio.emit("ready", name)
    step("waiting for news")
    news = list(client.next("news", wait=12))
    binary = isinstance(news[1], bytes)
    if binary:
        news[1] = base64.b64encode(news[1]).decode()
    step("waiting for the shout")
    shout = list(client.next("shout", wait=12))
    return {"sid": sid, "news": news, "shout": shout, "binary": binary}


common.run(main)
time.sleep(0.3)
os._exit(0)
