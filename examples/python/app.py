"""An iogate backend in Flask: verifies webhook signatures, accepts connects, answers `chat` events with an ack
and an emit, and broadcasts through iogate's push API on POST /announce.
Run: IOGATE_WEBHOOK_SECRET=... IOGATE_API_TOKEN=... python app.py  (see README.md, "Your own backend")."""
import hashlib, hmac, json, os, time, urllib.request
from flask import Flask, abort, jsonify, request

SECRET = os.environ["IOGATE_WEBHOOK_SECRET"].encode()
API = os.environ.get("IOGATE_API", "http://127.0.0.1:8081")
app = Flask(__name__)

def signed(header, body):
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    t = next((v for k, v in parts if k == "t"), "0")
    expected = hmac.new(SECRET, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = t.isdigit() and abs(time.time() - int(t)) < 300
    return fresh and any(hmac.compare_digest(v, expected) for k, v in parts if k == "v1")

@app.post("/iogate")
def hook():
    if not signed(request.headers.get("X-Iogate-Signature", ""), request.get_data()):
        abort(401)
    hook = request.get_json()
    if hook["type"] == "connect":
        name = hook["auth"].get("name", "guest")
        return jsonify(data={"name": name}, join=["lobby"], emit=[{"event": "welcome", "args": [f"hello {name}"]}])
    if hook["type"] == "event" and hook["event"] == "chat":
        return jsonify(ack=["received"], emit=[{"event": "chat", "args": [hook["data"]["name"], *hook["args"]]}])
    return jsonify({})

@app.post("/announce")
def announce():
    body = json.dumps({"to": {"rooms": ["lobby"]}, "event": "announcement", "args": [request.get_json()["text"]]})
    push = urllib.request.Request(f"{API}/v1/emit", body.encode(), {"Content-Type": "application/json",
                                  "Authorization": f"Bearer {os.environ['IOGATE_API_TOKEN']}"})
    with urllib.request.urlopen(push) as answer:
        return jsonify(json.load(answer))

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
