'use strict';
// Helpers shared by the socket.io-client 0.9 scripts of this folder (the npm alias `socket.io-client-v09`: the
// Socket.IO 0.9 protocol, revision 1, as old IIS pages still ship it). Each script runs against an iogate
// socket.io endpoint whose backend behaves as tests/common/sio_backend.rs describes. Pages connect the way they
// always did: `io.connect('http://server/?token=...', {resource: 'myApp/server.js'})`; the handshake query is the
// auth of "/" (which the server connects) and of every endpoint the page joins with `socket.of('/chat')`.
// A refused "/" is refused at the handshake (the page's 'error' is 'handshake unauthorized'); a refused endpoint
// gets 'connect_failed' with the reason 'unauthorized'. 0.9 has no binary: bytes arrive as base64 strings.
// The generic parts (steps, failing, RESULT, callback acks) are in ../script.js.
//
// Usage: node <script> <origin + resource> [xhr-polling|websocket]
//   e.g. node events.js http://127.0.0.1:8080/myApp/server.js xhr-polling

const script = require('../script');

const { assertEqual, fail, next, parseTarget, show, step } = script;
let io;
try {
  io = require('socket.io-client-v09');
} catch (error) {
  console.error(`FAIL: ${error.message}: run \`npm ci --prefix tests/clients\` first`);
  process.exit(1);
}

const VERSION = io.version;
if (!String(VERSION).startsWith('0.9.')) {
  console.error(`FAIL: socket.io-client-v09 is ${VERSION}, expected 0.9.x`);
  process.exit(1);
}

/** The target from argv: `{origin, resource, mode}`. */
function target() {
  const { url, mode } = parseTarget(['xhr-polling', 'websocket']);
  return { origin: url.origin, resource: url.pathname.replace(/^\/+|\/+$/g, ''), mode };
}

/**
 * A new connection (`io.connect` as a page calls it) to `namespace` with `query` in the URL. Only `mode` is
 * offered: the 0.9 client merges a `transports` option into its defaults index by index, so the global list is
 * what narrows it.
 */
function connect(tgt, namespace, query) {
  io.transports = [tgt.mode];
  const search = query ? `?${new URLSearchParams(query)}` : '';
  const path = namespace === '/' ? '/' : namespace;
  const socket = io.connect(`${tgt.origin}${path}${search}`, {
    resource: tgt.resource,
    'force new connection': true,
    reconnect: false,
  });
  return watch(socket);
}

/** Records `welcome` and fails on an unexpected disconnect (set `socket.closing` before closing on purpose). */
function watch(socket) {
  socket.welcome = new Promise((resolve) => socket.once('welcome', (...args) => resolve(args)));
  socket.on('disconnect', (reason) => {
    if (!socket.closing) fail(`${socket.name || '/'} disconnected unexpectedly: ${reason}`);
  });
  return socket;
}

/** Resolves once `socket` (a namespace) is connected; fails on 'connect_failed' or 'error'. */
function connected(socket) {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_failed', (reason) => fail(`${socket.name || '/'} refused: ${show(reason)}`));
    socket.once('error', (error) => fail(`${socket.name || '/'} error: ${show(error)}`));
  });
}

/**
 * Resolves with the reason of a refusal: 'error' with the handshake's answer (a refused "/"), or 'connect_failed'
 * (a refused endpoint); fails if `socket` connects instead.
 */
function refused(socket) {
  return new Promise((resolve) => {
    socket.once('connect', () => fail(`${socket.name || '/'} connected, expected a refusal`));
    socket.once('connect_failed', resolve);
    socket.once('error', resolve);
  });
}

/** Emits with an ack callback and resolves with every argument of the ack. */
function callAll(socket, event, ...args) {
  return script.callbackAck(socket, socket.name || '/', event, ...args);
}

/** Emits with an ack callback and resolves with the ack's first argument. */
async function call(socket, event, ...args) {
  return (await callAll(socket, event, ...args))[0];
}

/** The session id of the connection `socket` belongs to (the socket id of "/" on the gateway). */
function sessionId(socket) {
  return socket.socket.sessionid;
}

/** Checks the transport of `socket`'s connection, then that an ack still comes back. Resolves with its name. */
async function checkTransport(socket, mode) {
  step(`checking the transport (${mode})`);
  const name = socket.socket.transport && socket.socket.transport.name;
  if (name !== mode) fail(`transport is ${name}, expected ${mode}`);
  assertEqual(await call(socket, 'add', 1, 2), 3, `ack over ${mode}`);
  return name;
}

/** Runs `body` (see ../script.js), then exits: the 0.9 client keeps timers of its own and never ends by itself. */
function run(body) {
  script.run(body, { exitNow: true });
}

module.exports = {
  VERSION,
  assertEqual,
  call,
  callAll,
  checkTransport,
  connect,
  connected,
  fail,
  next,
  refused,
  run,
  sessionId,
  show,
  step,
  target,
  watch,
};
