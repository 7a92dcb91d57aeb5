'use strict';
// The socket.io-client 4.x member of a room shared by clients of every protocol (see ../socketio2/mixed_room.js):
// connects as <name>, joins "mixed", emits `ready`, waits for the push API's `news` and the backend's `shout`.
// Usage: node mixed_room.js <url> <polling|upgrade|websocket> <name>
// RESULT {"sid", "news": the args of `news`, "shout": the args of `shout`, "binary": whether news[1] is a Buffer}

const c = require('./common');

const tgt = c.target();
const name = process.argv[4] || 'v4';

c.run(
  async () => {
    c.step('connecting');
    const socket = c.connect(tgt, '/', { token: 'good', name });
    const news = c.next(socket, 'news');
    const shout = c.next(socket, 'shout');
    await c.connected(socket);
    const sid = socket.id;
    await c.checkTransport(socket, tgt.mode);
    c.step('joining the room');
    c.assertEqual(await c.callAll(socket, 'join', 'mixed'), ['joined', 'mixed'], 'join ack');
    socket.emit('ready', name);
    c.step('waiting for news');
    const newsArgs = await news;
    const binary = Buffer.isBuffer(newsArgs[1]);
    if (binary) newsArgs[1] = newsArgs[1].toString('base64');
    c.step('waiting for the shout');
    const shoutArgs = await shout;
    return { sid, news: newsArgs, shout: shoutArgs, binary };
  },
  { exitNow: true },
);
