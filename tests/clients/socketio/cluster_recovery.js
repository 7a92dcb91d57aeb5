'use strict';
// Connection state recovery across two nodes with socket.io-client 4.x: the client "rita" connects through a TCP
// proxy of its own that sends her connections to node A; her connection is killed, and her reconnect goes to
// node B. While she is away the push API of node A emits `news` 1 and node B's emits `news` 2 to `user:rita`.
//
// Scenarios:
//   move        A holds her parked socket: B gets it handed over (same id, rooms, data, the missed events).
//   owner_gone    A is stopped while she is away (the test stops it once A has parked her; this script waits
//                 until A's API no longer answers): B gives her a new socket.
//   owner_killed  the same, her connection stalled rather than killed (A parks her for `ping timeout`).
//   move_back     as `move` (news 1 from A's API only), then she drops from B before B sent her anything (the
//                 nodes skip the connect hook, so her last offset is still A's) and comes back through A: B holds
//                 her parked socket and hands it back with `news` 2 (B's API) and 3 (A's API). `again` reports it.
//
// Usage: node cluster_recovery.js <url A> <url B> <polling|websocket> <scenario> <api A> <api B> <api token>
// RESULT {"first": {...}, "back": {...}}

const http = require('node:http');
const { io } = require('socket.io-client');
const { assertEqual, fail, step, run } = require('../script');
const { startProxy, apiOf, until: waitUntil, parkedOn } = require('./recovery_support');

const [urlA, urlB, mode, scenario, apiA, apiB, apiToken] = process.argv.slice(2);
const nodeA = new URL(urlA);
const nodeB = new URL(urlB);
if (!['polling', 'websocket'].includes(mode)) fail(`bad mode ${mode}`);

function api(base, method, path, body) {
  return apiOf(base, apiToken)(method, path, body);
}

function until(what, check) {
  return waitUntil(what, check, 300);
}

function parked(base) {
  return parkedOn(apiOf(base, apiToken));
}

/** Whether the API at `base` answers on a new connection (a kept-alive one may outlive a node stopped inside the
 * test process), within a second. */
function answers(base) {
  return new Promise((resolve) => {
    const request = http.get(`${base}/metrics`, {
      agent: false,
      headers: { authorization: `Bearer ${apiToken}` },
      timeout: 1000,
    }, (response) => {
      response.resume();
      resolve(true);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

async function sockets(base) {
  return JSON.parse(await api(base, 'GET', '/v1/sockets?endpoint=/socket.io&namespace=/')).sockets;
}

function news(base, n) {
  return api(base, 'POST', '/v1/emit', {
    endpoint: '/socket.io',
    namespace: '/',
    to: { rooms: ['user:rita'] },
    event: 'news',
    args: [n],
  });
}

function nextConnect(socket) {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ sid: socket.id, recovered: socket.recovered === true }));
  });
}

run(async () => {
  const proxy = startProxy(nodeA);
  const port = await proxy.listen();
  const got = [];
  const welcomed = [];
  const rita = io(`http://127.0.0.1:${port}/`, {
    path: nodeA.pathname,
    forceNew: true,
    transports: [mode],
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    randomizationFactor: 0,
    auth: { token: 'good', name: 'rita' },
    query: { recovery: 1 },
  });
  rita.onAny((event, ...args) => got.push([event, ...args]));
  rita.on('welcome', (...args) => welcomed.push(args));
  step('rita connecting through node A');
  const first = await nextConnect(rita);
  await until('welcome', () => welcomed.length === 1);
  step('dropping rita');
  got.length = 0;
  const back = nextConnect(rita);
  const disconnected = new Promise((resolve) => rita.once('disconnect', resolve));
  proxy.state.refusing = true;
  if (scenario === 'owner_killed') proxy.stall();
  else proxy.kill();
  if (scenario === 'move') {
    await until('rita parked on A', async () => (await parked(apiA)) === 1);
    await news(apiA, 1);
    await news(apiB, 2);
  } else if (scenario === 'move_back') {
    await until('rita parked on A', async () => (await parked(apiA)) === 1);
    await news(apiA, 1);
  } else if (scenario === 'owner_gone' || scenario === 'owner_killed') {
    await until('node A stopped', async () => !(await answers(apiA)));
  } else {
    fail(`unknown scenario ${scenario}`);
  }
  const clientReason = await disconnected;
  step('rita reconnecting through node B');
  proxy.state.target = nodeB;
  let opened = 0;
  rita.io.once('open', () => {
    opened = Date.now();
  });
  proxy.state.refusing = false;
  const phase = await back;
  // From the new Engine.IO session's open to the recovered CONNECT: the CONNECT, the hand-over, the hook.
  phase.connectMs = opened ? Date.now() - opened : null;
  assertEqual(await rita.timeout(5000).emitWithAck('ping'), 'pong', 'ping after reconnect');
  const result = { ...phase, clientReason, events: got.slice() };
  result.whoami = await new Promise((resolve) => {
    rita.timeout(5000).emit('whoami', (error, ...args) => (error ? fail(`whoami: ${error.message}`) : resolve(args)));
  });
  result.socketsOnB = await sockets(apiB);
  if (scenario === 'move') result.socketsOnA = await sockets(apiA);
  let again;
  if (scenario === 'move_back') {
    step('dropping rita from node B');
    got.length = 0;
    const returned = nextConnect(rita);
    const dropped = new Promise((resolve) => rita.once('disconnect', resolve));
    proxy.state.refusing = true;
    proxy.kill();
    await until('rita parked on B', async () => (await parked(apiB)) === 1);
    await news(apiB, 2);
    await news(apiA, 3);
    await dropped;
    step('rita reconnecting through node A');
    proxy.state.target = nodeA;
    proxy.state.refusing = false;
    again = { ...(await returned) };
    assertEqual(await rita.timeout(5000).emitWithAck('ping'), 'pong', 'ping after the second reconnect');
    again.events = got.slice();
    again.socketsOnA = await sockets(apiA);
    again.socketsOnB = await sockets(apiB);
  }
  rita.close();
  proxy.close();
  return { first: { ...first, welcome: welcomed[0] }, back: result, again };
});
