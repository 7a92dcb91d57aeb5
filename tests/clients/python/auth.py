"""Auth with python-socketio 5: a good token connects "/" and "/chat" (welcome on each, data stored, room
joined); a bad token gets connect_error with the backend's message and data, and connect() raises. Ends with
sio.disconnect() (see common.Client.disconnect).

Usage: python3 auth.py <url> [polling|upgrade|websocket]
RESULT {"sid": the id on "/", "chat": the id on "/chat", "rejected": true, "transport"}
"""

import common
from common import check, fail, step

import socketio


def main(target):
    step("connecting with a good token")
    alice = common.Client(target, namespaces=("/", "/chat"))
    alice.record("welcome", "/")
    alice.record("welcome", "/chat")
    alice.connect({"token": "good", "name": "alice"})
    sid, chat = alice.sio.get_sid("/"), alice.sio.get_sid("/chat")
    if not sid or not chat or sid == chat:
        fail(f"socket ids {sid!r} and {chat!r}")
    check(alice.next("welcome", "/"), ({"name": "alice", "namespace": "/"},), "welcome on /")
    check(alice.next("welcome", "/chat"), ({"name": "alice", "namespace": "/chat"},), "welcome on /chat")

    step("asking who am I")
    check(alice.call("whoami", namespace="/chat"), ({"name": "alice"}, [chat, "user:alice"]), "whoami on /chat")

    step("connecting with a bad token")
    mallory = common.Client(target)
    try:
        mallory.connect({"token": "bad", "name": "mallory"})
        fail("connected with a bad token")
    except socketio.exceptions.ConnectionError:
        pass
    namespace, data = mallory.connect_errors.get(timeout=common.WAIT_S)
    check(namespace, "/", "namespace of connect_error")
    check(data, {"message": "Not authorized", "data": common.REJECT_DATA}, "connect_error data")
    if mallory.sio.connected:
        fail("the refused client looks connected")

    transport = alice.check_transport()
    step("disconnecting")
    alice.disconnect()
    return {"sid": sid, "chat": chat, "rejected": True, "transport": transport}


common.run(main)
