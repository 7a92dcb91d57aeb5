'use strict';
// One member of a room shared by clients of every protocol (tests/real_socketio2_client.rs runs this one beside
// socket.io-client 4.x and 2.x and python-socketio 4.x ones): connects as <name>, joins the room "mixed" through
// the backend, tells the test it is ready with a `ready` event, then waits for the push API's `news` and for the
// `shout` the backend broadcasts, and exits.
// Usage: node mixed_room.js <origin + resource> <xhr-polling|websocket> <name>
// RESULT {"sid", "news": the args of `news`, "shout": the args of `shout`, "binary": false (0.9 gets base64)}

const c = require('./common');

const tgt = c.target();
const name = process.argv[4] || 'v09';

c.run(async () => {
  c.step('connecting');
  const socket = c.connect(tgt, '/', { token: 'good', name });
  const news = c.next(socket, 'news');
  const shout = c.next(socket, 'shout');
  await c.connected(socket);
  const sid = c.sessionId(socket);
  await c.checkTransport(socket, tgt.mode);
  c.step('joining the room');
  c.assertEqual(await c.callAll(socket, 'join', 'mixed'), ['joined', 'mixed'], 'join ack');
  socket.emit('ready', name);
  c.step('waiting for news');
  const newsArgs = await news;
  c.step('waiting for the shout');
  const shoutArgs = await shout;
  return { sid, news: newsArgs, shout: shoutArgs, binary: Buffer.isBuffer(newsArgs[1]) };
});
