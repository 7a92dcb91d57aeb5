'use strict';
// engine.io-client with transports ['polling'] only: echo text and binary, then close.
// Usage: node polling.js <url>   e.g. http://127.0.0.1:8080/engine.io/
require('./common').run({ transports: ['polling'], finalTransport: 'polling', expectUpgrade: false });
