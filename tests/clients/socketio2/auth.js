'use strict';
// Auth with socket.io-client 2.x: the handshake query is the auth of "/" (connected by the server), a namespace's
// own query is the auth of that namespace. A good token is accepted (welcome emitted right after the connect, data
// stored, room joined, socket.id the Engine.IO id); a bad token gets an 'error' event with the backend's data, a
// token the backend refuses without data gets the message string. "/chat?token=..." in the URL connects /chat
// (socket.id "/chat#<engine id>"); a refused /chat leaves the connection's "/" working. Ends with every socket
// disconnected by the client.
// Usage: node auth.js <url> [polling|upgrade|websocket]
// RESULT {"sid", "chat", "dave", "transport"}: the accepted sockets' ids and the transport alice ended on.

const c = require('./common');

const tgt = c.target();

c.run(async () => {
  c.step('connecting with a good token in the query');
  const alice = c.connect(tgt, '/', { token: 'good', name: 'alice' });
  await c.connected(alice);
  const sid = alice.id;
  c.assertEqual(sid, alice.io.engine.id, 'socket.id on "/" is the Engine.IO id');
  c.step('waiting for welcome');
  c.assertEqual(await alice.welcome, [{ name: 'alice', namespace: '/' }], 'welcome args');

  c.step('asking who am I');
  const [data, rooms] = await c.callAll(alice, 'whoami');
  c.assertEqual(data, { name: 'alice' }, 'data stored at connect');
  c.assertEqual(rooms, [sid, 'user:alice'], 'rooms');

  c.step('connecting with a bad token');
  const mallory = c.connect(tgt, '/', { token: 'bad', name: 'mallory' });
  c.assertEqual(await c.refused(mallory), c.REJECT_DATA, 'refusal data');
  if (mallory.connected) c.fail('the refused socket looks connected');
  mallory.closing = true;
  mallory.close();

  c.step('connecting with a token refused without data');
  const pat = c.connect(tgt, '/', { token: 'plain', name: 'pat' });
  c.assertEqual(await c.refused(pat), 'Go away', 'refusal message');
  pat.closing = true;
  pat.close();

  c.step('connecting /chat with the token in the URL');
  const chat = c.connect(tgt, '/chat?token=good&name=carol');
  await c.connected(chat);
  c.assertEqual(chat.id, `/chat#${chat.io.engine.id}`, 'socket.id on /chat');
  c.assertEqual(await chat.welcome, [{ name: 'carol', namespace: '/chat' }], '/chat welcome args');
  const [chatData, chatRooms] = await c.callAll(chat, 'whoami');
  c.assertEqual(chatData, { name: 'carol' }, '/chat data');
  c.assertEqual(chatRooms, [chat.id, 'user:carol'], '/chat rooms');

  c.step('a refused /chat next to an accepted "/" on one connection');
  const manager = c.manager(tgt, { token: 'good', name: 'dave' });
  const dave = c.watch(manager.socket('/'));
  const spy = c.watch(manager.socket('/chat', { query: { token: 'bad', name: 'mallory' } }));
  const spyRefusal = c.refused(spy);
  await c.connected(dave);
  c.assertEqual(await spyRefusal, c.REJECT_DATA, '/chat refusal data');
  c.assertEqual(await c.call(dave, 'add', 1, 1), 2, '"/" still answers');
  c.assertEqual(dave.id, manager.engine.id, 'dave socket.id');

  const transport = await c.checkTransport(alice, tgt.mode);
  await c.checkTransport(chat, tgt.mode);

  c.step('disconnecting');
  for (const socket of [alice, chat, dave, spy]) socket.closing = true;
  const result = { sid, chat: chat.id, dave: dave.id, transport };
  alice.disconnect();
  chat.disconnect();
  spy.close();
  dave.disconnect();
  return result;
});
