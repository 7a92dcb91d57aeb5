'use strict';
// Helpers shared by the socket.io-client scripts of this folder. Each script runs against an iogate socket.io
// endpoint (namespaces "/" and "/chat") whose backend behaves as tests/common/sio_backend.rs describes:
//   connect: auth.token "good" -> accepted, data {name}, joins "user:<name>", emits `welcome` [{name, namespace}];
//            anything else -> rejected with "Not authorized" and REJECT_DATA.
//   events:  shout, add, echo, binary, join, leave, broadcast, whoami, kick, ping (see the backend for replies).
// The generic parts (steps, failing, RESULT, callback acks) are in ../script.js.
//
// Usage: node <script> <url> [polling|upgrade|websocket]   e.g. http://127.0.0.1:8080/socket.io/ upgrade

const util = require('node:util');
const { io, Manager } = require('socket.io-client');
const { ACK_TIMEOUT_MS, assertEqual, fail, next, parseTarget, run, show, step } = require('../script');

/** engine.io `transports` per mode (undefined: the default, polling then an upgrade to WebSocket). */
const MODES = { polling: ['polling'], upgrade: undefined, websocket: ['websocket'] };

/** What the backend sends as CONNECT_ERROR data when it rejects a token. */
const REJECT_DATA = { code: 4001, reason: 'bad token', retry: false, tags: ['auth', 1.5, null] };

/** The target from argv: `{origin, path, mode}`. */
function target() {
  const { url, mode } = parseTarget(['upgrade', 'polling', 'websocket']);
  return { origin: url.origin, path: url.pathname, mode };
}

/** socket.io-client options for `tgt`, plus `extra`. No reconnection: a drop must fail the script. */
function options(tgt, extra = {}) {
  const opts = { path: tgt.path, reconnection: false, forceNew: true, ...extra };
  if (MODES[tgt.mode]) opts.transports = MODES[tgt.mode];
  return opts;
}

/** A new socket (own connection) to `namespace` with `auth`; its `welcome` args are kept in `socket.welcome`. */
function connect(tgt, namespace, auth) {
  const socket = io(tgt.origin + namespace, options(tgt, { auth }));
  watch(socket);
  return socket;
}

/** Records `welcome` and fails on an unexpected disconnect (set `socket.closing` before closing on purpose). */
function watch(socket) {
  socket.welcome = new Promise((resolve) => socket.once('welcome', (...args) => resolve(args)));
  socket.on('disconnect', (reason, details) => {
    if (!socket.closing) fail(`${socket.nsp} disconnected unexpectedly: ${reason} ${details ? util.inspect(details) : ''}`);
  });
  return socket;
}

/** Resolves once `socket` is connected; fails on connect_error. */
function connected(socket) {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => fail(`${socket.nsp} connect_error: ${error.message} ${util.inspect(error.data)}`));
  });
}

/** Resolves with the error of the next connect_error; fails if `socket` connects instead. */
function connectError(socket) {
  return new Promise((resolve) => {
    socket.once('connect', () => fail(`${socket.nsp} connected, expected a connect_error`));
    socket.once('connect_error', resolve);
  });
}

/** Emits with an ack and resolves with the ack's first argument; fails after ACK_TIMEOUT_MS. */
async function call(socket, event, ...args) {
  try {
    return await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, ...args);
  } catch (error) {
    return fail(`no ack for ${JSON.stringify(event)} on ${socket.nsp}: ${error.message}`);
  }
}

/** Emits with an ack and resolves with every argument of the ack. */
function callAll(socket, event, ...args) {
  return new Promise((resolve) => {
    socket.timeout(ACK_TIMEOUT_MS).emit(event, ...args, (error, ...ackArgs) => {
      if (error) fail(`no ack for ${JSON.stringify(event)} on ${socket.nsp}: ${error.message}`);
      resolve(ackArgs);
    });
  });
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
  assertEqual(await call(socket, 'ping'), 'pong', `ack over ${expected}`);
  return expected;
}

module.exports = {
  Manager,
  REJECT_DATA,
  assertEqual,
  call,
  callAll,
  checkTransport,
  connect,
  connectError,
  connected,
  fail,
  next,
  options,
  run,
  show,
  step,
  target,
  transportOf,
  watch,
};
