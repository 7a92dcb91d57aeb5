'use strict';
// The socket.io-client 2.x long-lived room member (see ../member.js), reconnecting by itself; its auth goes in the
// handshake query, as 2.x clients send it.
// Usage: node member.js <url> <polling|upgrade|websocket> <name> <room>

const io = require('socket.io-client-v2');
const c = require('./common');

require('../member')({
  ...c,
  open(tgt, name) {
    const reconnecting = { reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 1000 };
    return io(`${tgt.origin}/`, c.options(tgt, { query: { token: 'good', name }, ...reconnecting }));
  },
});
