'use strict';
// Auth: a good token is accepted (welcome emitted right after the connect, data stored, room joined); a bad token
// gets connect_error with the backend's message and data. Ends with socket.disconnect().
// Usage: node auth.js <url> [polling|upgrade|websocket]
// RESULT {"sid": the accepted socket's id, "transport": the one it ended on}

const c = require('./common');

const tgt = c.target();

c.run(async () => {
  c.step('connecting with a good token');
  const alice = c.connect(tgt, '/', { token: 'good', name: 'alice' });
  await c.connected(alice);
  const sid = alice.id;
  c.step('waiting for welcome');
  c.assertEqual(await alice.welcome, [{ name: 'alice', namespace: '/' }], 'welcome args');

  c.step('asking who am I');
  const [data, rooms] = await c.callAll(alice, 'whoami');
  c.assertEqual(data, { name: 'alice' }, 'data stored at connect');
  if (!Array.isArray(rooms) || !rooms.includes('user:alice')) c.fail(`rooms ${c.show(rooms)} lack user:alice`);

  c.step('connecting with a bad token');
  const mallory = c.connect(tgt, '/', { token: 'bad', name: 'mallory' });
  const error = await c.connectError(mallory);
  c.assertEqual(error.message, 'Not authorized', 'connect_error message');
  c.assertEqual(error.data, c.REJECT_DATA, 'connect_error data');
  if (mallory.connected || mallory.id !== undefined) c.fail('the rejected socket looks connected');
  // A refused socket is destroyed by the client, which then closes its (dedicated) connection by itself.

  const transport = await c.checkTransport(alice, tgt.mode);
  c.step('disconnecting');
  alice.closing = true;
  alice.disconnect();
  return { sid, transport };
});
