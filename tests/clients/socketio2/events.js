'use strict';
// Events and acks with socket.io-client 2.x: acks through callbacks with args the backend derived, several acks
// in flight at once, an event without ack answered by an emit, events in order, and Buffers both ways (top level
// and nested; the backend acks with every Buffer reversed and emits the args back). Then the process exits
// without closing anything: the gateway sees its transport close.
// Usage: node events.js <url> [polling|upgrade|websocket]
// RESULT {"sid", "transport", "seq": how many `seq` events were sent, in order 0..seq-1}

const c = require('./common');

const tgt = c.target();
const SEQ = 20;

/** `value` with every Buffer in it reversed (what the backend does to `binary` args for the ack). */
function reversed(value) {
  if (Buffer.isBuffer(value)) return Buffer.from(value).reverse();
  if (Array.isArray(value)) return value.map(reversed);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, reversed(inner)]));
  }
  return value;
}

c.run(
  async () => {
    c.step('connecting');
    const erin = c.connect(tgt, '/', { token: 'good', name: 'erin' });
    const echo = c.next(erin, 'echo');
    const back = c.next(erin, 'binary-back');
    await c.connected(erin);
    const sid = erin.id;
    c.assertEqual(sid, erin.io.engine.id, 'socket.id');

    c.step('an ack with derived args');
    const text = 'héllo € 😀 world';
    c.assertEqual(await c.callAll(erin, 'shout', text), [text.toUpperCase(), [...text].length], 'shout ack');
    c.assertEqual(await c.call(erin, 'add', 2, 40), 42, 'add ack');

    c.step('acks in flight at once');
    const sums = await Promise.all([...Array(10).keys()].map((i) => c.call(erin, 'add', i, 1000)));
    c.assertEqual(sums, [...Array(10).keys()].map((i) => i + 1000), 'concurrent acks');

    c.step('an event without ack, answered by an emit');
    erin.emit('echo', 'one', { n: 1, nested: [true, null, 'x'] }, [2.5]);
    c.assertEqual(await echo, ['one', { n: 1, nested: [true, null, 'x'] }, [2.5]], 'echo args');

    c.step('events in order');
    for (let i = 0; i < SEQ; i += 1) erin.emit('seq', i);
    c.assertEqual(await c.call(erin, 'add', 20, 22), 42, 'add after seq');

    c.step('Buffers both ways');
    const args = [
      Buffer.from([0, 1, 2, 127, 128, 253, 254, 255]),
      { name: 'file.bin', content: Buffer.from('buffer héllo'), parts: [Buffer.from('a'), 'text', Buffer.from([9, 8])] },
    ];
    const ack = await c.callAll(erin, 'binary', ...args);
    c.assertEqual(ack, reversed(args), 'binary ack (every Buffer reversed)');
    c.assertEqual(await back, args, 'binary-back emit (args unchanged)');

    c.step('binary only in the ack');
    c.assertEqual(await c.call(erin, 'bytes', 5), Buffer.from([0, 1, 2, 3, 4]), 'bytes ack');

    const transport = await c.checkTransport(erin, tgt.mode);
    return { sid, transport, seq: SEQ };
  },
  { exitNow: true },
);
