'use strict';
// What every real-client script of the Socket.IO generations (socketio/, socketio2/, socketio09/) does the same
// way, whichever client library it drives: its target from argv, named steps, failing with a message, strict
// comparisons, waiting for events and callback acks, and the overall run with its RESULT line.
// A script prints `RESULT {...}` on success and exits 0; on any failure, or after the overall timeout, it prints
// `FAIL: ...` on stderr and exits 1; with a missing or bad argument it exits 2.

const util = require('node:util');

const TIMEOUT_MS = Number(process.env.IOGATE_CLIENT_TIMEOUT_MS || 15000);
const ACK_TIMEOUT_MS = 5000;

/** How long a process that exits on purpose waits first, so that its long-poll GET is surely pending then. */
const SETTLE_MS = 300;

let stage = 'starting';

function fail(message) {
  console.error(`FAIL: ${message} (while ${stage})`);
  process.exit(1);
}

/** Names what the script is doing, for failure messages. */
function step(name) {
  stage = name;
}

/**
 * The target from argv (or IOGATE_URL) and the mode (`modes[0]` when absent): `{url, mode}`. A missing or bad
 * argument exits 2 with the usage line.
 */
function parseTarget(modes) {
  const usage = (problem) => {
    console.error(`${problem}\nusage: node ${process.argv[1]} <url> [${modes.join('|')}]`);
    process.exit(2);
  };
  const raw = process.argv[2] || process.env.IOGATE_URL;
  if (!raw) usage('no URL given');
  let url;
  try {
    url = new URL(raw);
  } catch (error) {
    usage(`not a URL: ${raw}`);
  }
  const mode = process.argv[3] || modes[0];
  if (!modes.includes(mode)) usage(`unknown mode: ${mode}`);
  return { url, mode };
}

/** Resolves with the args of the next `event` on `socket`. */
function next(socket, event) {
  return new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
}

/**
 * Emits with an ack callback (the 0.9 and 2.x way) and resolves with every argument of the ack; fails after
 * ACK_TIMEOUT_MS. `label` names the socket in messages.
 */
function callbackAck(socket, label, event, ...args) {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => fail(`no ack for ${JSON.stringify(event)} on ${label} within ${ACK_TIMEOUT_MS} ms`),
      ACK_TIMEOUT_MS,
    );
    socket.emit(event, ...args, (...ackArgs) => {
      clearTimeout(timer);
      resolve(ackArgs);
    });
  });
}

/** Renders a value with Buffers shown as hex, for messages. */
function show(value) {
  return util.inspect(value, { depth: 8, breakLength: Infinity });
}

/** Fails unless `actual` deep-equals `expected` (strictly: a Buffer only equals a Buffer with the same bytes). */
function assertEqual(actual, expected, what) {
  if (!util.isDeepStrictEqual(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/**
 * Runs `body` under the overall timeout; prints its result as the RESULT line, then runs `beforeExit`. With
 * `exitNow` the process then exits after SETTLE_MS, its connections dropped without a close (over polling the
 * gateway notices through the pending GET; a client gone between two polls would only time out); otherwise it
 * must end by itself within 3 s.
 */
function run(body, { exitNow = false, beforeExit = () => {} } = {}) {
  const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);
  (async () => {
    const result = await body();
    clearTimeout(timer);
    console.log(`RESULT ${JSON.stringify(result)}`);
    beforeExit();
    if (exitNow) {
      setTimeout(() => process.exit(0), SETTLE_MS);
      return;
    }
    setTimeout(() => fail('still running 3 s after closing (a connection stayed open)'), 3000).unref();
  })().catch((error) => fail(`unexpected error: ${(error && error.stack) || error}`));
}

module.exports = {
  ACK_TIMEOUT_MS,
  assertEqual,
  callbackAck,
  fail,
  next,
  parseTarget,
  run,
  show,
  step,
};
