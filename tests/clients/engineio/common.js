'use strict';
// Drives one real engine.io-client session against an iogate engine.io endpoint whose backend echoes every
// message: sends text and binary messages, expects each one back unchanged and in order, then closes.
// Prints `RESULT {"sid":...,"transport":...,"upgraded":...}` and exits 0 on success; exits 1 with a
// `FAIL: ...` line on stderr on any failure or after the timeout; exits 2 when no URL is given.

const { Socket } = require('engine.io-client');

const TIMEOUT_MS = Number(process.env.IOGATE_CLIENT_TIMEOUT_MS || 10000);

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

/** The endpoint URL from argv[2] or IOGATE_URL, e.g. http://127.0.0.1:8080/engine.io/ */
function targetUrl() {
  const raw = process.argv[2] || process.env.IOGATE_URL;
  if (!raw) {
    console.error(`usage: node ${process.argv[1]} <url>   (or IOGATE_URL=<url>), e.g. http://127.0.0.1:8080/engine.io/`);
    process.exit(2);
  }
  try {
    return new URL(raw);
  } catch (error) {
    console.error(`not a URL: ${raw}`);
    process.exit(2);
  }
}

/** Messages of one round: two texts (one beyond the BMP), a Uint8Array and a Buffer. */
function batch(label) {
  return [
    `hello ${label}`,
    `héllo € 😀 ${label}`,
    new Uint8Array([0, 1, 2, 127, 128, 253, 254, 255]),
    Buffer.from(`buffer ${label}`),
  ];
}

function describe(message) {
  if (typeof message === 'string') return JSON.stringify(message);
  return `<binary ${Buffer.from(message).toString('hex')}>`;
}

function sameMessage(sent, got) {
  if (typeof sent === 'string' || typeof got === 'string') return sent === got;
  return Buffer.from(sent).equals(Buffer.from(got));
}

/**
 * Runs one session.
 * @param {object} options
 * @param {string[]|undefined} options.transports engine.io-client `transports` (undefined: the default)
 * @param {string} options.finalTransport the transport the session must end on
 * @param {boolean} options.expectUpgrade whether an upgrade to WebSocket must happen
 */
function run({ transports, finalTransport, expectUpgrade }) {
  const url = targetUrl();
  let stage = 'connecting';
  const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms while ${stage}`), TIMEOUT_MS);

  const options = { path: url.pathname };
  if (transports) options.transports = transports;
  const socket = new Socket(url.origin + url.search, options);
  let closing = false;
  let upgraded = false;
  const received = [];
  let onReceived = () => {};

  socket.on('error', (error) => fail(`socket error while ${stage}: ${(error && error.message) || error}`));
  socket.on('close', (reason, description) => {
    if (!closing) fail(`closed unexpectedly while ${stage}: ${reason} ${description ? JSON.stringify(String(description)) : ''}`);
  });
  socket.on('message', (data) => {
    received.push(data);
    onReceived();
  });
  const upgradeDone = new Promise((resolve) => {
    socket.on('upgrade', (transport) => {
      upgraded = true;
      resolve(transport);
    });
  });
  socket.on('upgradeError', (error) => {
    if (expectUpgrade) fail(`upgrade failed: ${(error && error.message) || error}`);
  });

  const opened = new Promise((resolve) => socket.once('open', resolve));

  /** Sends `messages` and waits until all of them have come back, in order. */
  async function echoRound(messages) {
    const start = received.length;
    for (const message of messages) socket.send(message);
    await new Promise((resolve) => {
      onReceived = () => {
        if (received.length >= start + messages.length) resolve();
      };
      onReceived();
    });
    messages.forEach((sent, i) => {
      const got = received[start + i];
      if (!sameMessage(sent, got)) fail(`echo ${i} differs: sent ${describe(sent)}, got ${describe(got)}`);
    });
  }

  (async () => {
    await opened;
    stage = `echoing over ${socket.transport.name}`;
    await echoRound(batch('first'));
    if (expectUpgrade) {
      stage = 'waiting for the upgrade';
      await upgradeDone;
      if (socket.transport.name !== 'websocket') fail(`after the upgrade the transport is ${socket.transport.name}`);
      stage = 'echoing after the upgrade';
      await echoRound(batch('upgraded'));
    }
    if (socket.transport.name !== finalTransport) {
      fail(`ended on transport ${socket.transport.name}, expected ${finalTransport}`);
    }
    if (upgraded !== expectUpgrade) fail(`upgraded=${upgraded}, expected ${expectUpgrade}`);
    stage = 'closing';
    const sid = socket.id;
    const transport = socket.transport.name;
    closing = true;
    socket.close();
    clearTimeout(timer);
    console.log(`RESULT ${JSON.stringify({ sid, transport, upgraded, messages: received.length })}`);
    // The process ends once the close has been sent; something still open after that is a failure.
    setTimeout(() => fail('still running 3 s after close (a request or socket stayed open)'), 3000).unref();
  })().catch((error) => fail(`unexpected error while ${stage}: ${(error && error.stack) || error}`));
}

module.exports = { run };
