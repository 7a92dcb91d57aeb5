'use strict';
// The socket.io-client 0.9 member of the room shared by clients of every protocol (see ../mixed_room.js); its
// socket id on "/" is its session id, and it gets `news`'s bytes as base64 text (binary: false).
// Usage: node mixed_room.js <origin + resource> <xhr-polling|websocket> <name>

const c = require('./common');

require('../mixed_room')(c, 'v09', c.sessionId);
