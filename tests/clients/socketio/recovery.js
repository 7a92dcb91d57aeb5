'use strict';
// Connection state recovery with socket.io-client 4.x, through a TCP proxy of its own so the connection can be
// killed or stalled. The client "rita" (auth token "good": the backend joins her to `user:rita` and emits
// `welcome`) connects through the proxy; "bob" connects directly. While rita is away the push API emits `news`
// to `user:rita` and bob's `broadcast` makes the backend send her `shout`; then she reconnects.
//
// Scenarios:
//   kill   (marker `recovery=1`): kill the TCP connection, miss 4 events, recover; kill again and stay away past
//          the window: a new socket.
//   stall  (marker): stop forwarding (the connection hangs) and emit at once, so events are lost in flight; both
//          sides time out (ping timeout); recover.
//   plain  (no marker: an unmodified client): the first drop is not recovered (no offsets yet), the second is.
//
// Usage: node recovery.js <url> <polling|websocket> <scenario> <api base> <api token>
// RESULT {"phases": [...]} (see the end of each scenario)

const { io } = require('socket.io-client');
const { assertEqual, fail, step, run } = require('../script');
const { startProxy, apiOf, until: waitUntil, parkedOn } = require('./recovery_support');

const [url, mode, scenario, apiBase, apiToken] = process.argv.slice(2);
const target = new URL(url);
if (!['polling', 'websocket'].includes(mode)) fail(`bad mode ${mode}`);

const api = apiOf(apiBase, apiToken);

function until(what, check) {
  return waitUntil(what, check, 200);
}

function parked() {
  return parkedOn(api);
}

async function sockets() {
  return JSON.parse(await api('GET', '/v1/sockets?endpoint=/socket.io&namespace=/')).sockets;
}

function news(n) {
  return api('POST', '/v1/emit', {
    endpoint: '/socket.io',
    namespace: '/',
    to: { rooms: ['user:rita'] },
    event: 'news',
    args: [n],
  });
}

async function call(socket, event, ...args) {
  try {
    return await socket.timeout(5000).emitWithAck(event, ...args);
  } catch (error) {
    return fail(`no ack for ${event}: ${error.message}`);
  }
}

/** The next `connect` of `socket`: its id and `recovered`. */
function nextConnect(socket) {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ sid: socket.id, recovered: socket.recovered === true }));
  });
}

run(async () => {
  const proxy = startProxy(target);
  const port = await proxy.listen();
  const transports = [mode];
  const options = {
    path: target.pathname,
    forceNew: true,
    transports,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    randomizationFactor: 0,
    auth: { token: 'good', name: 'rita' },
  };
  if (scenario !== 'plain') options.query = { recovery: 1 };
  const got = [];
  const welcomed = [];
  const rita = io(`http://127.0.0.1:${port}/`, options);
  rita.onAny((event, ...args) => got.push([event, ...args]));
  rita.on('welcome', (...args) => welcomed.push(args));
  step('rita connecting');
  const first = await nextConnect(rita);
  await until('welcome', () => welcomed.length === 1);
  const bob = io(`${target.origin}/`, {
    path: target.pathname,
    forceNew: true,
    transports,
    reconnection: false,
    auth: { token: 'good', name: 'bob' },
  });
  await new Promise((resolve) => bob.once('connect', resolve));
  const phases = [{ ...first, welcome: welcomed[0] }];

  /** Drops rita's connection and keeps her away until `away` resolves; resolves with her next connect. */
  async function dropAndReturn(how, whileAway) {
    got.length = 0;
    const back = nextConnect(rita);
    const disconnected = new Promise((resolve) => rita.once('disconnect', resolve));
    proxy.state.refusing = true;
    if (how === 'stall') proxy.stall();
    else proxy.kill();
    await whileAway();
    const reason = await disconnected;
    proxy.state.refusing = false;
    const phase = await back;
    // A round trip: everything sent before the ack has arrived.
    assertEqual(await call(rita, 'ping'), 'pong', 'ping after reconnect');
    return { ...phase, clientReason: reason, events: got.slice() };
  }

  async function missFour() {
    await news(1);
    await call(bob, 'broadcast', { rooms: ['user:rita'], text: 'b1' });
    await news(2);
    await call(bob, 'broadcast', { rooms: ['user:rita'], text: 'b2' });
  }

  if (scenario === 'kill' || scenario === 'stall') {
    step(`${scenario}: dropping rita, emitting while she is away`);
    const recovered = await dropAndReturn(scenario, async () => {
      if (scenario === 'stall') {
        // Written into the hanging connection before the gateway notices: only the offset brings them back.
        await news(1);
        await call(bob, 'broadcast', { rooms: ['user:rita'], text: 'b1' });
        await until('rita parked', async () => (await parked()) === 1);
        await news(2);
        await call(bob, 'broadcast', { rooms: ['user:rita'], text: 'b2' });
      } else {
        await until('rita parked', async () => (await parked()) === 1);
        await missFour();
      }
    });
    recovered.whoami = await new Promise((resolve) => {
      rita.timeout(5000).emit('whoami', (error, ...args) => (error ? fail(`whoami: ${error.message}`) : resolve(args)));
    });
    recovered.sockets = await sockets();
    phases.push(recovered);
    if (scenario === 'kill') {
      step('kill: dropping rita past the window');
      const expired = await dropAndReturn('kill', async () => {
        await until('rita parked', async () => (await parked()) === 1);
        await until('the window to pass', async () => (await parked()) === 0);
      });
      phases.push(expired);
    }
  } else if (scenario === 'plain') {
    step('plain: first drop (no offsets yet)');
    const firstDrop = await dropAndReturn('kill', async () => {
      await until('rita gone', async () => !(await sockets()).some((s) => s.sid === first.sid));
      await news(1);
    });
    await until('welcome again', () => welcomed.length === 2);
    firstDrop.welcome = welcomed[1];
    phases.push(firstDrop);
    step('plain: second drop (offsets on since the reconnect)');
    const secondDrop = await dropAndReturn('kill', async () => {
      await until('rita parked', async () => (await parked()) === 1);
      await missFour();
    });
    phases.push(secondDrop);
  } else {
    fail(`unknown scenario ${scenario}`);
  }
  rita.close();
  bob.close();
  proxy.close();
  return { phases };
});
