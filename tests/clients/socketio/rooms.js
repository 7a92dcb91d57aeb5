'use strict';
// Rooms and broadcasts among three clients (alice, bob, carol), each on its own connection. Clients join and leave
// rooms through the backend (`join` / `leave` events); a `broadcast` event makes the backend broadcast
// {rooms, except, self} as given. After each broadcast every client makes a round trip, then each client must
// have received exactly what a model of the rooms predicts: members of `rooms` (everyone when empty), minus
// members of `except`, minus the sender unless `self`. Ends with alice.disconnect(), bob closing its transport
// and carol's process exiting.
// Usage: node rooms.js <url> [polling|upgrade|websocket]
// RESULT {"sids": {"alice", "bob", "carol"}, "transport"}

const c = require('./common');

const tgt = c.target();
const NAMES = ['alice', 'bob', 'carol'];

c.run(
  async () => {
    c.step('connecting three clients');
    const clients = {};
    for (const name of NAMES) {
      const socket = c.connect(tgt, '/', { token: 'good', name });
      const client = { name, socket, rooms: new Set(), got: [] };
      socket.on('shout', (message) => client.got.push(message));
      clients[name] = client;
    }
    await Promise.all(NAMES.map((name) => c.connected(clients[name].socket)));
    const sids = Object.fromEntries(NAMES.map((name) => [name, clients[name].socket.id]));

    async function join(name, room) {
      c.step(`${name} joining ${room}`);
      c.assertEqual(await c.callAll(clients[name].socket, 'join', room), ['joined', room], 'join ack');
      clients[name].rooms.add(room);
    }

    async function leave(name, room) {
      c.step(`${name} leaving ${room}`);
      c.assertEqual(await c.callAll(clients[name].socket, 'leave', room), ['left', room], 'leave ack');
      clients[name].rooms.delete(room);
    }

    /** Who should get a broadcast from `sender` with `spec`, by the model. */
    function receivers(sender, spec) {
      const inAny = (client, rooms) => rooms.some((room) => client.rooms.has(room));
      return NAMES.filter((name) => {
        const client = clients[name];
        if (name === sender && !spec.self) return false;
        if (spec.rooms.length > 0 && !inAny(client, spec.rooms)) return false;
        return !inAny(client, spec.except);
      });
    }

    let count = 0;
    async function broadcast(sender, spec) {
      count += 1;
      const text = `#${count} from ${sender}`;
      const full = { rooms: [], except: [], self: false, ...spec };
      c.step(`broadcast ${text} ${JSON.stringify(full)}`);
      c.assertEqual(await c.call(clients[sender].socket, 'broadcast', { ...spec, text }), 'sent', 'broadcast ack');
      // A round trip per client after the broadcast: anything it was sent has arrived by then.
      await Promise.all(NAMES.map((name) => c.call(clients[name].socket, 'ping')));
      const expected = receivers(sender, full);
      for (const name of NAMES) {
        const want = expected.includes(name) ? [{ from: sender, text }] : [];
        c.assertEqual(clients[name].got, want, `what ${name} received of broadcast ${text} ${JSON.stringify(full)}`);
        clients[name].got = [];
      }
    }

    await join('alice', 'red');
    await join('bob', 'red');
    await join('bob', 'blue');
    await join('carol', 'blue');

    await broadcast('alice', { rooms: ['red'] }); // bob
    await broadcast('carol', { rooms: ['red'] }); // alice, bob: a sender outside the room
    await broadcast('alice', { rooms: ['red'], self: true }); // alice, bob
    await broadcast('alice', { rooms: ['red', 'blue'] }); // bob once, carol
    await broadcast('bob', {}); // the whole namespace but bob
    await broadcast('bob', { self: true, except: ['blue'] }); // alice
    await broadcast('carol', { rooms: ['blue'], except: ['red'], self: true }); // carol
    await broadcast('alice', { rooms: ['nobody'] }); // no one
    await leave('alice', 'red');
    await broadcast('carol', { rooms: ['red'] }); // bob
    await broadcast('alice', { self: true }); // everyone

    const transport = await c.checkTransport(clients.alice.socket, tgt.mode);
    await c.checkTransport(clients.bob.socket, tgt.mode);
    await c.checkTransport(clients.carol.socket, tgt.mode);

    c.step('closing');
    for (const name of NAMES) clients[name].socket.closing = true;
    clients.alice.socket.disconnect();
    clients.bob.socket.io.engine.close();
    // carol's connection drops when the process exits.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { sids, transport };
  },
  { exitNow: true },
);
