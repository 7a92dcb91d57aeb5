'use strict';
// The socket.io-client 4.x member of the room shared by clients of every protocol (see ../mixed_room.js).
// Usage: node mixed_room.js <url> <polling|upgrade|websocket> <name>

require('../mixed_room')(require('./common'), 'v4');
