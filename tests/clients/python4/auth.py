"""Auth with python-socketio 4: the token goes in the URL's query, which the server uses as the auth of "/". A
good token connects (welcome, data stored, room joined, sio.sid the socket id); a bad token gets connect_error
with the backend's data, one refused without data gets the message string. Ends with sio.disconnect().

Usage: .venv/bin/python auth.py <url> [polling|upgrade|websocket]
RESULT {"sid", "refused": [the two refused clients' ids], "transport"}
"""

import common
from common import check, fail, step


def refused(target, token, name, expected):
    """Connects with `token`, which the backend refuses: connect_error carries `expected`."""
    client = common.Client(target)
    client.connect({"token": token, "name": name})
    sid = client.sio.sid
    try:
        data = client.connect_errors.get(timeout=common.WAIT_S)
    except Exception:  # queue.Empty
        return fail(f"no connect_error for token {token!r}")
    check(data, (expected,), f"connect_error of token {token!r}")
    if client.connected.is_set():
        fail(f"connected with token {token!r}")
    client.closing = True
    client.sio.eio.disconnect(abort=True)
    return sid


def main(target):
    step("connecting with a good token")
    alice = common.Client(target)
    alice.record("welcome")
    alice.connect({"token": "good", "name": "alice"})
    alice.wait_connected()
    sid = alice.sio.sid
    check(alice.next("welcome"), ({"name": "alice", "namespace": "/"},), "welcome")

    step("asking who am I")
    check(alice.call("whoami"), ({"name": "alice"}, [sid, "user:alice"]), "whoami")

    step("connecting with a bad token")
    mallory = refused(target, "bad", "mallory", common.REJECT_DATA)
    step("connecting with a token refused without data")
    pat = refused(target, "plain", "pat", "Go away")

    transport = alice.check_transport()
    step("disconnecting")
    alice.disconnect()
    return {"sid": sid, "refused": [mallory, pat], "transport": transport}


common.run(main)
