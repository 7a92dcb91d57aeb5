'use strict';
// Two socket.io-client 4 users (alice and bob) in the chat of `iogate demo`, whose built-in backend answers:
//   connect (auth {name}) -> welcome {name, room: "lobby", sid, members}; `chat` text -> broadcast to the room;
//   `join` room -> moved there, ack {room, members}; every webhook -> a `webhook-log` event {kind, summary}.
// Checks that chat crosses between the two, that rooms switch (a lobby line no longer reaches bob once he is in
// "rust"), that the echo example's `message-with-ack` still acks, and that the webhook log shows connect, event
// and disconnect hooks.
// Usage: node demo_chat.js <url of the Socket.IO endpoint> [upgrade|polling|websocket]
// RESULT {"transport", "bobLogKinds": [...], "aliceLogKinds": [...], "bobChats": [...]}

const c = require('./common');

const tgt = c.target();

/** Resolves with the first `event` on `socket` whose args satisfy `test`; fails after 5 s. */
function waitFor(socket, event, test, what) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => c.fail(`no ${event} ${what} within 5 s`), 5000);
    const listener = (...args) => {
      if (!test(...args)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(args);
    };
    socket.on(event, listener);
  });
}

/** The transport `socket` ends up on in `mode` (after the upgrade, in upgrade mode). */
async function transportOf(socket, mode) {
  c.step(`checking the transport (${mode})`);
  const engine = socket.io.engine;
  if (mode === 'upgrade' && engine.transport.name !== 'websocket') {
    await new Promise((resolve) => engine.once('upgrade', resolve));
  }
  return engine.transport.name;
}

/** A connected user whose chat lines, notices and webhook log are recorded. */
async function user(name) {
  const socket = c.connect(tgt, '/', { name });
  const record = { socket, chats: [], notices: [], log: [] };
  socket.on('chat', (line) => record.chats.push(line));
  socket.on('notice', (text) => record.notices.push(text));
  socket.on('webhook-log', (entry) => record.log.push(entry));
  await c.connected(socket);
  const [welcome] = await socket.welcome;
  c.assertEqual([welcome.name, welcome.room, welcome.sid], [name, 'lobby', socket.id], `${name}'s welcome`);
  return record;
}

c.run(
  async () => {
    c.step('connecting alice and bob');
    const alice = await user('alice');
    const bob = await user('bob');
    const transport = await transportOf(alice.socket, tgt.mode);

    c.step('alice chats in the lobby');
    const crossed = waitFor(bob.socket, 'chat', (line) => line.text === 'hello from alice', 'from alice');
    const logged = waitFor(bob.socket, 'webhook-log', (entry) => entry.kind === 'event' && entry.summary.includes('hello from alice'), 'for the chat event');
    alice.socket.emit('chat', 'hello from alice');
    const [line] = await crossed;
    c.assertEqual([line.name, line.room, line.sid], ['alice', 'lobby', alice.socket.id], 'the chat line bob got');
    await logged;

    c.step('bob switches to rust');
    const [bobJoined] = await c.callAll(bob.socket, 'join', 'rust');
    c.assertEqual(bobJoined, { room: 'rust', members: 1 }, "bob's join ack");

    c.step('alice chats in the lobby, then joins rust and chats there');
    alice.socket.emit('chat', 'only the lobby hears this');
    const notified = waitFor(bob.socket, 'notice', (text) => text === 'alice joined rust', 'about alice');
    const [aliceJoined] = await c.callAll(alice.socket, 'join', 'rust');
    c.assertEqual(aliceJoined, { room: 'rust', members: 2 }, "alice's join ack");
    await notified;
    const inRust = waitFor(bob.socket, 'chat', (line) => line.text === 'hello rust', 'in rust');
    alice.socket.emit('chat', 'hello rust');
    const [rustLine] = await inRust;
    c.assertEqual(rustLine.room, 'rust', 'the room of the line in rust');
    if (bob.chats.some((chat) => chat.text === 'only the lobby hears this')) c.fail('bob got a lobby line after leaving it');

    c.step('the echo example still acks');
    c.assertEqual(await c.callAll(alice.socket, 'message-with-ack', 1, 'two'), [1, 'two'], 'message-with-ack');

    c.step('bob leaves');
    const bobSid = bob.socket.id;
    const gone = waitFor(alice.socket, 'webhook-log', (entry) => entry.kind === 'disconnect' && entry.sid === bobSid, 'for bob leaving');
    bob.socket.closing = true;
    bob.socket.disconnect();
    await gone;

    const kinds = (record) => [...new Set(record.log.map((entry) => entry.kind))].sort();
    alice.socket.closing = true;
    alice.socket.disconnect();
    return {
      transport,
      aliceLogKinds: kinds(alice),
      bobLogKinds: kinds(bob),
      bobChats: bob.chats.map((chat) => chat.text),
      signatures: [...new Set(alice.log.map((entry) => entry.signature))],
    };
  },
);
