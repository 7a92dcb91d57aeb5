'use strict';
// Auth with socket.io-client 0.9: the query of the URL a page connects to is the auth of "/" (connected by the
// server) and of the endpoints it joins with `socket.of(name)`. A good token is accepted (welcome emitted, data
// stored, room joined); a bad one is refused at the handshake ('error': 'handshake unauthorized'). An endpoint in the URL
// (`io.connect('http://server/chat?token=...')`) is joined on its own connection. Ends with the client
// disconnecting (`0::`).
// Usage: node auth.js <origin + resource> [xhr-polling|websocket]
// RESULT {"sid", "chat": the /chat socket id, "dave": dave's session id, "transport"}

const c = require('./common');

const tgt = c.target();

c.run(async () => {
  c.step('connecting with a good token in the query');
  const alice = c.connect(tgt, '/', { token: 'good', name: 'alice' });
  await c.connected(alice);
  const sid = c.sessionId(alice);
  c.assertEqual(await alice.welcome, [{ name: 'alice', namespace: '/' }], 'welcome args');
  const [data, rooms] = await c.callAll(alice, 'whoami');
  c.assertEqual(data, { name: 'alice' }, 'data stored at connect');
  c.assertEqual(rooms, [sid, 'user:alice'], 'rooms');

  c.step('connecting with a bad token');
  const mallory = c.connect(tgt, '/', { token: 'bad', name: 'mallory' });
  c.assertEqual(await c.refused(mallory), 'handshake unauthorized', 'refusal');

  c.step('joining /chat on the same connection');
  const chat = c.watch(alice.socket.of('/chat'));
  await c.connected(chat);
  c.assertEqual(await chat.welcome, [{ name: 'alice', namespace: '/chat' }], '/chat welcome args');
  const [chatData, chatRooms] = await c.callAll(chat, 'whoami');
  c.assertEqual(chatData, { name: 'alice' }, '/chat data');
  c.assertEqual(chatRooms, [`/chat#${sid}`, 'user:alice'], '/chat rooms');
  c.assertEqual(await c.call(alice, 'add', 1, 1), 2, '"/" still answers');

  c.step('an endpoint in the URL');
  const dave = c.connect(tgt, '/chat', { token: 'good', name: 'dave' });
  await c.connected(dave);
  c.assertEqual(await dave.welcome, [{ name: 'dave', namespace: '/chat' }], 'dave welcome args');

  const transport = await c.checkTransport(alice, tgt.mode);
  c.step('disconnecting');
  chat.closing = true;
  chat.disconnect();
  alice.closing = true;
  dave.closing = true;
  alice.socket.disconnect();
  dave.socket.disconnect();
  return { sid, chat: `/chat#${sid}`, dave: c.sessionId(dave), transport };
});
