'use strict';
// Namespaces over one connection (io.Manager multiplexing): "/" and "/chat" connect through one Engine.IO session;
// chat.disconnect() leaves "/" connected and working on the same session; "/chat" connects again (new id), is
// then disconnected by the backend (`kick`: "io server disconnect") while "/" still works; finally
// root.disconnect() closes the connection. A namespace outside the endpoint's list gets "Invalid namespace".
// Usage: node namespaces.js <url> [polling|upgrade|websocket]
// RESULT {"root", "chat": first /chat id, "chat2": second /chat id, "session": engine.io id, "transport"}

const c = require('./common');

const tgt = c.target();
const AUTH = { token: 'good', name: 'dora' };

c.run(async () => {
  c.step('connecting / and /chat on one manager');
  const manager = new c.Manager(tgt.origin, c.options(tgt));
  const root = c.watch(manager.socket('/', { auth: AUTH }));
  const chat = c.watch(manager.socket('/chat', { auth: AUTH }));
  await Promise.all([c.connected(root), c.connected(chat)]);
  c.assertEqual(await root.welcome, [{ name: 'dora', namespace: '/' }], 'welcome on /');
  c.assertEqual(await chat.welcome, [{ name: 'dora', namespace: '/chat' }], 'welcome on /chat');
  const session = manager.engine.id;
  const ids = { root: root.id, chat: chat.id };
  if (ids.root === ids.chat) c.fail(`/ and /chat share the id ${ids.root}`);

  c.step('events on both namespaces');
  c.assertEqual(await c.callAll(chat, 'whoami'), [{ name: 'dora' }, [ids.chat, 'user:dora']], 'whoami on /chat');
  c.assertEqual(await c.callAll(root, 'shout', 'root'), ['ROOT', 4], 'shout on /');

  c.step('disconnecting /chat only');
  chat.closing = true;
  chat.disconnect();
  if (chat.connected) c.fail('/chat still connected after disconnect()');
  c.assertEqual(await c.call(root, 'ping'), 'pong', 'ping on / after /chat left');
  if (!root.connected) c.fail('/ disconnected with /chat');
  if (manager.engine.id !== session) c.fail(`the session changed: ${session} -> ${manager.engine.id}`);

  c.step('connecting /chat again');
  chat.closing = false;
  chat.connect();
  await c.connected(chat);
  ids.chat2 = chat.id;
  if (ids.chat2 === ids.chat) c.fail(`/chat got its old id ${ids.chat} again`);
  c.assertEqual(await c.call(chat, 'add', 1, 2), 3, 'add on the new /chat');

  c.step('the backend disconnecting /chat');
  chat.closing = true;
  const kicked = c.next(chat, 'disconnect');
  c.assertEqual(await c.call(chat, 'kick'), 'bye', 'kick ack');
  c.assertEqual((await kicked)[0], 'io server disconnect', '/chat disconnect reason');
  c.assertEqual(await c.call(root, 'ping'), 'pong', 'ping on / after /chat was kicked');

  c.step('an unknown namespace');
  const stray = manager.socket('/nowhere', { auth: AUTH });
  const error = await c.connectError(stray);
  c.assertEqual(error.message, 'Invalid namespace', 'connect_error of /nowhere');
  c.assertEqual(await c.call(root, 'ping'), 'pong', 'ping on / after /nowhere was refused');

  const transport = await c.checkTransport(root, tgt.mode);
  if (manager.engine.id !== session) c.fail(`the session changed: ${session} -> ${manager.engine.id}`);
  c.step('disconnecting /');
  root.closing = true;
  root.disconnect();
  return { root: ids.root, chat: ids.chat, chat2: ids.chat2, session, transport };
});
