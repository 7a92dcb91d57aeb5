'use strict';
// Pushes from the backend through iogate's HTTP API, as the real socket.io-client sees them. The script connects
// as "pia" (the backend joins it to "user:pia"), asks the backend to join it to "lobby" (an event whose webhook
// reply joins), then prints `READY <sid>` and waits while the test drives the API:
//   - `news` events (emitted to its socket id, then to a room): their args are recorded, every binary arg must
//     arrive as a Buffer (a plain `{"$binary": ...}` object fails the script);
//   - one `quiz` event with an ack callback, args [{a, b}, text, Buffer]: acked with [a + b, TEXT, reversed Buffer];
//   - then a server-side disconnect, which must come with the reason "io server disconnect".
// Any other event, a quiz without ack callback, or a disconnect before 2 news and 1 quiz fails the script.
// Usage: node pushes.js <url> [polling|upgrade|websocket]
// READY <sid>, then RESULT {"sid", "transport", "events": [{"event", "args"}...] (Buffers as {"$binary": base64}),
//   "reason"}

const { io } = require('socket.io-client');
const c = require('./common');

const tgt = c.target();
const NEWS = 2;

/** `value` as JSON with every Buffer as {"$binary": base64}; fails on a `$binary` object that is no Buffer. */
function encoded(value, where) {
  if (Buffer.isBuffer(value)) return { $binary: value.toString('base64') };
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) c.fail(`${where} is a ${c.show(value)}, not a Buffer`);
  if (Array.isArray(value)) return value.map((inner, i) => encoded(inner, `${where}[${i}]`));
  if (value && typeof value === 'object') {
    if ('$binary' in value) c.fail(`${where} arrived as plain JSON ${c.show(value)}, not as a Buffer`);
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encoded(inner, `${where}.${key}`)]));
  }
  return value;
}

/** Resolves with the args of the backend's `welcome`. */
function welcomeOf(socket) {
  return new Promise((resolve) => socket.once('welcome', (...args) => resolve(args)));
}

c.run(async () => {
  c.step('connecting');
  const socket = io(`${tgt.origin}/`, c.options(tgt, { auth: { token: 'good', name: 'pia' } }));
  const welcome = welcomeOf(socket);
  const events = [];
  const counts = { news: 0, quiz: 0 };
  let ready = false;
  const disconnected = new Promise((resolve) => {
    socket.on('disconnect', (reason, details) => {
      if (!ready) c.fail(`disconnected before READY: ${reason} ${details ? c.show(details) : ''}`);
      if (counts.news !== NEWS || counts.quiz !== 1) {
        c.fail(`disconnected (${reason}) after ${counts.news} news and ${counts.quiz} quiz, expected ${NEWS} and 1`);
      }
      resolve(reason);
    });
  });
  socket.onAny((event, ...args) => {
    if (event === 'welcome' && !ready) return;
    if (!ready) c.fail(`${event} ${c.show(args)} before READY`);
    if (!(event in counts)) c.fail(`unexpected event ${event} ${c.show(args)}`);
    counts[event] += 1;
  });
  socket.on('news', (...args) => {
    c.step(`news #${counts.news}`);
    events.push({ event: 'news', args: encoded(args, 'news args') });
  });
  socket.on('quiz', (...args) => {
    c.step('answering the quiz');
    const ack = args.pop();
    if (typeof ack !== 'function') c.fail(`quiz ${c.show(args)} came without an ack callback`);
    events.push({ event: 'quiz', args: encoded(args, 'quiz args') });
    const [{ a, b }, text, bytes] = args;
    if (!Buffer.isBuffer(bytes)) c.fail(`quiz arg 2 is ${c.show(bytes)}, not a Buffer`);
    ack(a + b, text.toUpperCase(), Buffer.from(bytes).reverse());
  });
  await c.connected(socket);
  const sid = socket.id;
  await welcome;

  c.step('joining lobby through an event');
  c.assertEqual(await c.callAll(socket, 'join', 'lobby'), ['joined', 'lobby'], 'join ack');
  const transport = await c.checkTransport(socket, tgt.mode);

  c.step(`waiting for ${NEWS} news, a quiz and a server disconnect`);
  ready = true;
  console.log(`READY ${sid}`);
  const reason = await disconnected;
  c.assertEqual(reason, 'io server disconnect', 'disconnect reason');
  return { sid, transport, events, reason };
});
