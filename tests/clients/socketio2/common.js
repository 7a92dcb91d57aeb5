'use strict';
// Helpers shared by the socket.io-client 2.x scripts of this folder (the npm alias `socket.io-client-v2`: Engine.IO
// v3, Socket.IO protocol v4). Each script runs against an iogate socket.io endpoint (namespaces "/" and "/chat")
// whose backend behaves as tests/common/sio_backend.rs describes, reading a 2.x client's auth from its query:
//   connect: query token "good" -> accepted, data {name}, joins "user:<name>", emits `welcome` [{name, namespace}];
//            anything else -> rejected; a 2.x client gets an 'error' event with the backend's data (REJECT_DATA),
//            or with the message string when the backend gave no data.
//   events:  shout, add, echo, seq, binary, bytes, join, leave, broadcast, whoami (see the backend). Not `ping`:
//            socket.io-client 2.x keeps 'ping' and 'pong' for itself and never sends them; round trips use `add`.
// The server connects "/" by itself with the handshake query as auth; another namespace is connected with a
// CONNECT that carries the namespace's query (`40/chat?token=good&name=x,`). socket.id is the Engine.IO id on
// "/", `<nsp>#<engine id>` elsewhere.
// The generic parts (steps, failing, RESULT, callback acks) are in ../script.js.
//
// Usage: node <script> <url> [polling|upgrade|websocket]   e.g. http://127.0.0.1:8080/socket.io/ upgrade

const script = require('../script');

const { assertEqual, fail, next, parseTarget, run, show, step } = script;
let io;
try {
  io = require('socket.io-client-v2');
} catch (error) {
  console.error(`FAIL: ${error.message}: run \`npm ci --prefix tests/clients\` first`);
  process.exit(1);
}

const VERSION = require('socket.io-client-v2/package.json').version;
if (!VERSION.startsWith('2.')) {
  console.error(`FAIL: socket.io-client-v2 is ${VERSION}, expected 2.x`);
  process.exit(1);
}

/** engine.io `transports` per mode (undefined: the default, polling then an upgrade to WebSocket). */
const MODES = { polling: ['polling'], upgrade: undefined, websocket: ['websocket'] };

/** What the backend sends as CONNECT_ERROR data when it rejects a token. */
const REJECT_DATA = { code: 4001, reason: 'bad token', retry: false, tags: ['auth', 1.5, null] };

/** The target from argv: `{origin, path, mode}`. */
function target() {
  const { url, mode } = parseTarget(['upgrade', 'polling', 'websocket']);
  return { origin: url.origin, path: url.pathname, mode };
}

/** socket.io-client 2.x options for `tgt`, plus `extra`. No reconnection: a drop must fail the script. */
function options(tgt, extra = {}) {
  const opts = { path: tgt.path, reconnection: false, forceNew: true, ...extra };
  if (MODES[tgt.mode]) opts.transports = MODES[tgt.mode];
  return opts;
}

/**
 * A new socket on its own connection to `namespace` (which may carry a query, `/chat?token=x`), with `query` as
 * the handshake query when given.
 */
function connect(tgt, namespace, query) {
  const socket = io(tgt.origin + namespace, options(tgt, query ? { query } : {}));
  return watch(socket);
}

/** A Manager (one connection) for several namespaces; `query` is the handshake query. */
function manager(tgt, query) {
  return new io.Manager(tgt.origin, options(tgt, { query }));
}

/** Records `welcome` and fails on an unexpected disconnect (set `socket.closing` before closing on purpose). */
function watch(socket) {
  socket.welcome = new Promise((resolve) => socket.once('welcome', (...args) => resolve(args)));
  socket.on('disconnect', (reason) => {
    if (!socket.closing) fail(`${socket.nsp} disconnected unexpectedly: ${reason}`);
  });
  return socket;
}

/** Resolves once `socket` is connected; fails on 'error' (a refused namespace) or 'connect_error'. */
function connected(socket) {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(socket));
    socket.once('error', (data) => fail(`${socket.nsp} refused: ${show(data)}`));
    socket.once('connect_error', (error) => fail(`${socket.nsp} connect_error: ${show(error)}`));
  });
}

/** Resolves with the data of the next 'error' (the CONNECT_ERROR payload); fails if `socket` connects instead. */
function refused(socket) {
  return new Promise((resolve) => {
    socket.once('connect', () => fail(`${socket.nsp} connected, expected a refusal`));
    socket.once('connect_error', (error) => fail(`${socket.nsp} connect_error: ${show(error)}`));
    socket.once('error', resolve);
  });
}

/** Emits with an ack callback (the 2.x way) and resolves with every argument of the ack. */
function callAll(socket, event, ...args) {
  return script.callbackAck(socket, socket.nsp, event, ...args);
}

/** Emits with an ack callback and resolves with the ack's first argument. */
async function call(socket, event, ...args) {
  return (await callAll(socket, event, ...args))[0];
}

function transportOf(socket) {
  return socket.io.engine && socket.io.engine.transport && socket.io.engine.transport.name;
}

/**
 * Checks the transport `socket` runs on against its mode; in upgrade mode waits for the upgrade to WebSocket
 * first, then checks that an ack still comes back over it. Resolves with the transport name.
 */
async function checkTransport(socket, mode) {
  step(`checking the transport (${mode})`);
  if (mode === 'upgrade' && transportOf(socket) !== 'websocket') {
    await new Promise((resolve) => socket.io.engine.once('upgrade', resolve));
  }
  const expected = mode === 'polling' ? 'polling' : 'websocket';
  if (transportOf(socket) !== expected) fail(`transport is ${transportOf(socket)}, expected ${expected}`);
  assertEqual(await call(socket, 'add', 1, 2), 3, `ack over ${expected}`);
  return expected;
}

module.exports = {
  REJECT_DATA,
  VERSION,
  assertEqual,
  call,
  callAll,
  checkTransport,
  connect,
  connected,
  fail,
  manager,
  next,
  options,
  refused,
  run,
  show,
  step,
  target,
  transportOf,
  watch,
};
