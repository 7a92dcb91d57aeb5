'use strict';
// One member of a room shared by clients of every protocol (tests/real_socketio2_client.rs runs a socket.io-client
// 4.x, a 2.x, a 0.9 and a python-socketio 4.x member together), whichever JavaScript client generation drives it:
// connects as <name>, joins the room "mixed" through the backend, tells the test it is ready with a `ready` event,
// then waits for the push API's `news` and for the `shout` the backend broadcasts, and exits. Each generation's
// mixed_room.js calls this with its own helpers (`c`: that folder's common.js).
// RESULT {"sid", "news": the args of `news` (Buffers as base64), "shout": the args of `shout`,
//         "binary": whether news[1] came as a Buffer}

/** Runs the member with the helpers `c`; `sidOf` reads the socket id the gateway reports for it. */
module.exports = function mixedRoomMember(c, defaultName, sidOf = (socket) => socket.id) {
  const tgt = c.target();
  const name = process.argv[4] || defaultName;
  c.run(
    async () => {
      c.step('connecting');
      const socket = c.connect(tgt, '/', { token: 'good', name });
      const news = c.next(socket, 'news');
      const shout = c.next(socket, 'shout');
      await c.connected(socket);
      const sid = sidOf(socket);
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
};
