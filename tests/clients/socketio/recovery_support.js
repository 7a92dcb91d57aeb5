'use strict';
// What the recovery scripts (recovery.js, cluster_recovery.js) share: a TCP proxy of the client's own that can
// kill, stall or refuse its connections and be pointed at another node, calls to the push API, and waiting.

const net = require('node:net');
const { fail } = require('../script');

/** A TCP proxy to `state.target` (a URL; start with `target`) that can kill, stall or refuse connections. */
function startProxy(target) {
  // Every connection made, kept until the end: a stalled one may linger on one side after the other closed.
  const pairs = new Set();
  const state = { refusing: false, target };
  const server = net.createServer((client) => {
    if (state.refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(state.target.port), state.target.hostname);
    const pair = { client, upstream, stalled: false };
    pairs.add(pair);
    client.on('data', (data) => pair.stalled || upstream.write(data));
    upstream.on('data', (data) => pair.stalled || client.write(data));
    // A stalled connection stays open on each side until that side gives up on it (ping timeout).
    const clientGone = () => {
      client.destroy();
      if (!pair.stalled) upstream.destroy();
    };
    const upstreamGone = () => {
      upstream.destroy();
      if (!pair.stalled) client.destroy();
    };
    client.on('close', clientGone);
    client.on('error', clientGone);
    upstream.on('close', upstreamGone);
    upstream.on('error', upstreamGone);
  });
  return {
    listen: () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port))),
    kill() {
      for (const pair of pairs) {
        pair.stalled = false;
        pair.client.destroy();
        pair.upstream.destroy();
      }
    },
    stall() {
      for (const pair of pairs) pair.stalled = true;
    },
    state,
    close() {
      this.kill();
      server.close();
    },
  };
}

/** A push API client of `base` with bearer `token`: `call(method, path, body)` answers the body text; any status
 * but 2xx fails the script. */
function apiOf(base, token) {
  return async (method, path, body) => {
    const response = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) fail(`${method} ${path}: ${response.status} ${text}`);
    return text;
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Checks `check` every 50 ms, at most `tries` times; fails the script naming `what`. */
async function until(what, check, tries) {
  for (let i = 0; i < tries; i += 1) {
    if (await check()) return;
    await sleep(50);
  }
  fail(`timed out waiting for ${what}`);
}

/** The sockets parked on the `/socket.io` endpoint, from the metrics the API `call` reads. */
async function parkedOn(call) {
  const text = await call('GET', '/metrics');
  const line = text.split('\n').find((l) => l.startsWith('iogate_recovery_parked{endpoint="/socket.io"}'));
  return line ? Number(line.split(' ').pop()) : 0;
}

module.exports = { startProxy, apiOf, sleep, until, parkedOn };
