'use strict';
// engine.io-client with transports ['websocket'] only: echo text and binary, then close.
// Usage: node websocket.js <url>   e.g. http://127.0.0.1:8080/engine.io/
require('./common').run({ transports: ['websocket'], finalTransport: 'websocket', expectUpgrade: false });
