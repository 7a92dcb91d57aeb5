'use strict';
// Stops answering pings: connects, makes one round trip, prints RESULT, then blocks its event loop for
// FREEZE_MS (nothing is read or written, the connection stays open) and exits. Against a gateway with a short
// ping interval and timeout, the gateway must give up on the session with "ping timeout" meanwhile.
// Usage: node freeze.js <url> [polling|upgrade|websocket]
// RESULT {"sid", "transport"} (printed before the freeze)

const c = require('./common');

const tgt = c.target();
const FREEZE_MS = Number(process.env.IOGATE_FREEZE_MS || 3000);

c.run(
  async () => {
    c.step('connecting');
    const frank = c.connect(tgt, '/', { token: 'good', name: 'frank' });
    await c.connected(frank);
    const sid = frank.id;
    const transport = await c.checkTransport(frank, tgt.mode);
    return { sid, transport };
  },
  {
    beforeExit: () => {
      freeze(FREEZE_MS);
      // At once: the event loop must not run again (it would see the client's own ping timeout).
      process.exit(0);
    },
  },
);

/** Busy-waits: timers, sockets and pings all wait until it returns. */
function freeze(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // frozen on purpose
  }
}
