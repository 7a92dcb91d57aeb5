// An iogate backend in Express: verifies webhook signatures, accepts connects, answers `chat` events with an ack
// and an emit, and broadcasts through iogate's push API on POST /announce.
// Run: IOGATE_WEBHOOK_SECRET=... IOGATE_API_TOKEN=... node app.js  (see README.md, "Your own backend").
const crypto = require("node:crypto");
const express = require("express");

const SECRET = process.env.IOGATE_WEBHOOK_SECRET;
const API = process.env.IOGATE_API || "http://127.0.0.1:8081";
const app = express();

function signed(header = "", body) {
  const parts = header.split(",").map((part) => part.split("="));
  const t = (parts.find(([key]) => key === "t") || [])[1] || "0";
  const expected = crypto.createHmac("sha256", SECRET).update(`${t}.`).update(body).digest();
  const fresh = Math.abs(Date.now() / 1000 - Number(t)) < 300;
  return fresh && parts.some(([key, value = ""]) => {
    const given = Buffer.from(value, "hex");
    return key === "v1" && given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

app.post("/iogate", express.raw({ type: () => true }), (req, res) => {
  if (!signed(req.get("x-iogate-signature"), req.body)) return res.sendStatus(401);
  const hook = JSON.parse(req.body);
  if (hook.type === "connect") {
    const name = hook.auth.name || "guest";
    return res.json({ data: { name }, join: ["lobby"], emit: [{ event: "welcome", args: [`hello ${name}`] }] });
  }
  if (hook.type === "event" && hook.event === "chat") {
    return res.json({ ack: ["received"], emit: [{ event: "chat", args: [hook.data.name, ...hook.args] }] });
  }
  res.json({});
});

app.post("/announce", express.json(), async (req, res) => {
  const answer = await fetch(`${API}/v1/emit`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${process.env.IOGATE_API_TOKEN}` },
    body: JSON.stringify({ to: { rooms: ["lobby"] }, event: "announcement", args: [req.body.text] }),
  });
  res.status(answer.status).json(await answer.json());
});

app.listen(Number(process.env.PORT || 5000), "127.0.0.1");
