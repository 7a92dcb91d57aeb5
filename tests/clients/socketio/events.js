'use strict';
// Events and acks: acks with args the backend derived (emitWithAck), many acks in flight at once, an event
// without ack answered by an emit, events in order, and binary both ways (Buffers at the top level and nested in
// args; the backend acks with every Buffer reversed and emits the args back unchanged). Then the process exits at
// once, without closing anything: the gateway sees its transport close.
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
    await c.connected(erin);
    const sid = erin.id;
    await erin.welcome;

    c.step('an ack with derived args');
    const text = 'héllo € 😀 world';
    c.assertEqual(await c.callAll(erin, 'shout', text), [text.toUpperCase(), [...text].length], 'shout ack');
    c.assertEqual(await c.call(erin, 'add', 2, 40), 42, 'add ack');

    c.step('acks in flight at once');
    const sums = await Promise.all(Array.from({ length: 10 }, (_, i) => c.call(erin, 'add', i, 1000)));
    c.assertEqual(sums, Array.from({ length: 10 }, (_, i) => i + 1000), 'concurrent acks');

    c.step('an event without ack, answered by an emit');
    const echoed = c.next(erin, 'echo');
    erin.emit('echo', 'one', { n: 1, nested: [true, null, 'x'] }, [2.5]);
    c.assertEqual(await echoed, ['one', { n: 1, nested: [true, null, 'x'] }, [2.5]], 'echo args');

    c.step('events in order');
    for (let i = 0; i < SEQ; i += 1) erin.emit('seq', i);
    c.assertEqual(await c.call(erin, 'ping'), 'pong', 'ping after seq');

    c.step('binary both ways');
    const args = [
      Buffer.from([0, 1, 2, 127, 128, 253, 254, 255]),
      { name: 'file.bin', content: Buffer.from('buffer héllo'), parts: [Buffer.from('a'), 'text', Buffer.from([9, 8])] },
    ];
    const back = c.next(erin, 'binary-back');
    const ack = await c.callAll(erin, 'binary', ...args);
    c.assertEqual(ack, reversed(args), 'binary ack (every Buffer reversed)');
    c.assertEqual(await back, args, 'binary-back emit (args unchanged)');
    if (!Buffer.isBuffer(ack[0])) c.fail(`binary ack arg is a ${c.show(ack[0])}, not a Buffer`);

    c.step('binary only in the ack');
    c.assertEqual(await c.call(erin, 'bytes', 5), Buffer.from([0, 1, 2, 3, 4]), 'bytes ack');

    const transport = await c.checkTransport(erin, tgt.mode);
    return { sid, transport, seq: SEQ };
  },
  { exitNow: true },
);
