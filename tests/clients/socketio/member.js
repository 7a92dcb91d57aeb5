'use strict';
// The socket.io-client 4.x long-lived room member (see ../member.js), reconnecting by itself. Every request it
// makes carries `member=<name>` in its query, so a proxy's access log shows where each one went.
// Usage: node member.js <url> <polling|upgrade|websocket> <name> <room>

const { io } = require('socket.io-client');
const c = require('./common');

require('../member')({
  ...c,
  open(tgt, name) {
    const reconnecting = { reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 1000 };
    return io(`${tgt.origin}/`, c.options(tgt, { auth: { token: 'good', name }, query: { member: name }, ...reconnecting }));
  },
});
