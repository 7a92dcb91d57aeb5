'use strict';
// A long-lived member of a room, for tests that drive a deployment while their clients stay connected
// (tests/cluster.rs: nodes killed, Redis stopped, pushes from any node). Whichever JavaScript client generation
// drives it (each generation's member.js calls this with its own helpers `g`), it connects to "/" as <name>
// (token "good", so the backend of tests/common/sio_backend.rs accepts it and joins it to "user:<name>"), reconnects
// by itself after a drop (quickly: 200 ms to 1 s), and after every (re)connect joins <room> through the backend
// (an event with an ack) and checks the transport (an ack round trip over it). It runs until its stdin closes, then
// disconnects on purpose and exits 0; it fails (exit 1) after LIFETIME_MS or on a missing ack.
//
// Usage: node <generation>/member.js <url> <polling|upgrade|websocket> <name> <room>
// stdout, one line each, a word and JSON:
//   READY {"sid", "transport", "connects"}   after each (re)connect, once joined and checked
//   EVENT {"event", "args"}                  each event named in EVENTS (Buffers as {"$binary": base64})
//   DISCONNECT {"reason"}                    each disconnect, as the client library names its reason
//   ACK {"event", "args"}                    the ack of an emit asked for on stdin
//   RESULT {"sid", "connects", "disconnects"} once stdin closed and the socket disconnected on purpose (that last
//                                            disconnect is not counted)
// stdin: one JSON object per line, `{"emit": "<event>", "args": [...]}`: emitted with an ack, answered by ACK.

const readline = require('node:readline');
const { fail, step } = require('./script');

/** The events a member reports (the backend's `welcome`, broadcasts, pushes). */
const EVENTS = ['welcome', 'shout', 'news', 'echo'];

/** How long a member may live at most. */
const LIFETIME_MS = 90000;

/** How long the process waits after its DISCONNECT before it exits, so the packet surely left. */
const SETTLE_MS = 300;

/** `value` as JSON with every Buffer as {"$binary": base64}. */
function encoded(value) {
  if (Buffer.isBuffer(value)) return { $binary: value.toString('base64') };
  if (value instanceof ArrayBuffer) return { $binary: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(encoded);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encoded(inner)]));
  }
  return value;
}

/** Prints `WORD {json}`. */
function report(word, value) {
  console.log(`${word} ${JSON.stringify(value)}`);
}

/**
 * Runs the member with the generation's helpers `g`:
 *   target() -> {origin, path, mode, args}; open(tgt, name) -> a reconnecting socket to "/";
 *   callAll(socket, event, ...args) -> Promise of the ack's args; checkTransport(socket, mode) -> transport name.
 */
module.exports = function member(g) {
  const tgt = g.target();
  const name = process.argv[4];
  const room = process.argv[5];
  if (!name || !room) {
    console.error(`usage: node ${process.argv[1]} <url> <polling|upgrade|websocket> <name> <room>`);
    process.exit(2);
  }
  setTimeout(() => fail(`still running after ${LIFETIME_MS} ms`), LIFETIME_MS).unref();

  step('connecting');
  const socket = g.open(tgt, name);
  let connects = 0;
  let disconnects = 0;
  let closing = false;
  socket.on('connect', async () => {
    connects += 1;
    const sid = socket.id;
    step(`joining ${room} (connect #${connects})`);
    g.assertEqual(await g.callAll(socket, 'join', room), ['joined', room], 'join ack');
    const transport = await g.checkTransport(socket, tgt.mode);
    step('connected');
    report('READY', { sid, transport, connects });
  });
  socket.on('disconnect', (reason) => {
    disconnects += 1;
    report('DISCONNECT', { reason: String(reason) });
  });
  for (const event of EVENTS) {
    socket.on(event, (...args) => report('EVENT', { event, args: encoded(args) }));
  }

  const input = readline.createInterface({ input: process.stdin });
  input.on('line', async (line) => {
    if (!line.trim()) return;
    let command;
    try {
      command = JSON.parse(line);
    } catch (error) {
      fail(`stdin line is not JSON: ${line}`);
    }
    const args = await g.callAll(socket, command.emit, ...(command.args || []));
    report('ACK', { event: command.emit, args: encoded(args) });
  });
  input.on('close', () => {
    if (closing) return;
    closing = true;
    step('disconnecting');
    const sid = socket.id;
    const dropped = disconnects;
    socket.disconnect();
    report('RESULT', { sid, connects, disconnects: dropped });
    setTimeout(() => process.exit(0), SETTLE_MS);
  });
};
