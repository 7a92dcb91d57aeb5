'use strict';
// engine.io-client with its default transports: opens over polling, must upgrade to WebSocket; echoes text and
// binary before and after the upgrade, then closes.
// Usage: node upgrade.js <url>   e.g. http://127.0.0.1:8080/engine.io/
require('./common').run({ transports: undefined, finalTransport: 'websocket', expectUpgrade: true });
