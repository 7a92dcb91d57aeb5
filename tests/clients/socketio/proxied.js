'use strict';
// One socket through a front proxy (tests/behind_nginx.rs puts nginx in front of iogate): connects to "/", emits
// `echo` with an ack (the backend acks with the args it got), stays connected for `hold_ms` (so that heartbeats
// cross the proxy), checks the transport (and the upgrade), then disconnects on purpose. With `x-forwarded-for`
// the client sends it as its own X-Forwarded-For header, the way a client passing itself off as someone else would.
// Usage: node proxied.js <url> [polling|upgrade|websocket] [hold_ms] [x-forwarded-for]
// RESULT {"sid", "transport", "echo": the ack's args}

const { io } = require('socket.io-client');
const c = require('./common');

const tgt = c.target();
const holdMs = Number(process.argv[4] || 0);
const spoofedFor = process.argv[5];

c.run(async () => {
  c.step('connecting');
  const extra = { auth: { token: 'proxied' } };
  if (spoofedFor) extra.extraHeaders = { 'X-Forwarded-For': spoofedFor };
  const socket = c.watch(io(`${tgt.origin}/`, c.options(tgt, extra)));
  await c.connected(socket);
  const sid = socket.id;

  c.step('an event with an ack');
  const args = ['héllo € 😀', 42, { nested: [true, null, 'x'] }];
  const echo = await c.callAll(socket, 'echo', ...args);
  c.assertEqual(echo, args, 'echo ack');

  c.step(`staying connected for ${holdMs} ms`);
  await new Promise((resolve) => setTimeout(resolve, holdMs));

  const transport = await c.checkTransport(socket, tgt.mode);

  c.step('disconnecting');
  socket.closing = true;
  socket.disconnect();
  return { sid, transport, echo };
});
