'use strict';
// Events and acks with socket.io-client 0.9: acks through callbacks with args the backend derived, several acks in
// flight at once, an event without ack answered by an emit, events in order, `send` and `json.send` (which reach
// the backend as `message` events), and bytes from the backend as base64. Then the process exits without closing
// anything: the gateway sees its transport close.
// Usage: node events.js <origin + resource> [xhr-polling|websocket]
// RESULT {"sid", "transport", "seq": how many `seq` events were sent, in order 0..seq-1}

const c = require('./common');

const tgt = c.target();
const SEQ = 20;

c.run(async () => {
  c.step('connecting');
  const erin = c.connect(tgt, '/', { token: 'good', name: 'erin' });
  const echo = c.next(erin, 'echo');
  await c.connected(erin);
  const sid = c.sessionId(erin);
  c.assertEqual(await erin.welcome, [{ name: 'erin', namespace: '/' }], 'welcome args');

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

  c.step('send and json.send');
  erin.send('plain text: with colons');
  erin.json.send({ j: [1, 'two'] });

  c.step('who am I');
  const [data, rooms] = await c.callAll(erin, 'whoami');
  c.assertEqual(data, { name: 'erin' }, 'data stored at connect');
  c.assertEqual(rooms, [sid, 'user:erin'], 'rooms');

  c.step('bytes from the backend');
  c.assertEqual(await c.call(erin, 'bytes', 5), Buffer.from([0, 1, 2, 3, 4]).toString('base64'), 'bytes ack');

  const transport = await c.checkTransport(erin, tgt.mode);
  return { sid, transport, seq: SEQ };
});
