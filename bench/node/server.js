// The Node reference for iogate's benchmarks: a socket.io 4.8 server doing iogate's job. Every connect and every
// event is POSTed to the same webhook backend iogate calls, with the same JSON bodies and headers, and the reply is
// acted on the same way (reject, data, join, leave, ack, emit, broadcast, disconnect). Disconnects are reported too.
// A small control listener triggers server-side emits to a room (what iogate's `POST /v1/emit` does).
//
// Environment: PORT (socket.io listener), CONTROL_PORT (control listener), WEBHOOK (URL), PATH_PREFIX (default
// /socket.io), PING_INTERVAL_MS, PING_TIMEOUT_MS, REDIS_URL (when set: the @socket.io/redis-adapter over that Redis,
// so that several processes form one cluster and the control listener's emits reach sockets on all of them),
// RECOVERY_MAX_DISCONNECTION_MS (when set: connectionStateRecovery with that window; GET /parked on the control
// listener then counts the sessions kept for recovery). Run with --expose-gc so the benchmark can collect garbage
// before it reads the resident memory.
'use strict';

const http = require('http');
const crypto = require('crypto');
const { Server } = require('socket.io');

const port = Number(process.env.PORT || 3000);
const controlPort = Number(process.env.CONTROL_PORT || 3001);
const webhook = new URL(process.env.WEBHOOK || 'http://127.0.0.1:5000/iogate');
const endpoint = process.env.PATH_PREFIX || '/socket.io';
const pingInterval = Number(process.env.PING_INTERVAL_MS || 25000);
const pingTimeout = Number(process.env.PING_TIMEOUT_MS || 20000);
const hookTimeout = 5000;
const recoveryWindow = process.env.RECOVERY_MAX_DISCONNECTION_MS;

// Keep-alive connections to the backend, unlimited per host, as iogate's pooled client.
const agent = new http.Agent({ keepAlive: true });

function hook(event, body) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host: webhook.hostname,
        port: webhook.port || 80,
        path: webhook.pathname + webhook.search,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          'x-iogate-event': event,
          'x-iogate-delivery': crypto.randomBytes(16).toString('hex'),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          if (res.statusCode < 200 || res.statusCode >= 300) {
            reject(new Error(`webhook answered HTTP ${res.statusCode}`));
            return;
          }
          const text = Buffer.concat(chunks).toString();
          try {
            resolve(text.length === 0 ? {} : JSON.parse(text));
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(hookTimeout, () => req.destroy(new Error('webhook timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

function common(type, socket, namespace) {
  return {
    type,
    endpoint,
    namespace,
    sid: socket.id,
    data: socket.data.stored === undefined ? null : socket.data.stored,
    rooms: socket.rooms ? [...socket.rooms] : [],
  };
}

function handshake(socket) {
  const hs = socket.handshake;
  return {
    address: hs.address,
    headers: hs.headers,
    query: hs.query,
    transport: socket.conn.transport.name,
    protocol: 5,
    secure: hs.secure,
    time: new Date(hs.issued).toISOString(),
  };
}

const server = http.createServer();
const io = new Server(server, {
  path: endpoint,
  pingInterval,
  pingTimeout,
  transports: ['polling', 'websocket'],
  serveClient: false,
  ...(recoveryWindow
    ? { connectionStateRecovery: { maxDisconnectionDuration: Number(recoveryWindow) } }
    : {}),
});

// The connect hook decides before the client gets its CONNECT, as with iogate (blocking, fail closed).
io.use((socket, next) => {
  const body = common('connect', socket, socket.nsp.name);
  body.rooms = [];
  body.auth = socket.handshake.auth || {};
  body.handshake = handshake(socket);
  hook('connect', body).then(
    (reply) => {
      if (reply.reject) {
        const error = new Error(reply.reject.message || 'Not authorized');
        if (reply.reject.data !== undefined) error.data = reply.reject.data;
        next(error);
        return;
      }
      if (reply.data !== undefined) socket.data.stored = reply.data;
      socket.data.accept = reply;
      next();
    },
    () => next(new Error('Connection refused')),
  );
});

function applyEventReply(socket, reply, ack) {
  if (reply.data !== undefined) socket.data.stored = reply.data === null ? undefined : reply.data;
  if (Array.isArray(reply.join) && reply.join.length > 0) socket.join(reply.join);
  if (Array.isArray(reply.leave)) for (const room of reply.leave) socket.leave(room);
  if (ack && Array.isArray(reply.ack)) ack(...reply.ack);
  if (Array.isArray(reply.emit)) for (const e of reply.emit) socket.emit(e.event, ...(e.args || []));
  if (Array.isArray(reply.broadcast)) {
    for (const b of reply.broadcast) {
      let op = b.self ? socket.nsp : socket.broadcast;
      if (Array.isArray(b.rooms) && b.rooms.length > 0) op = op.to(b.rooms);
      if (Array.isArray(b.except) && b.except.length > 0) op = op.except(b.except);
      op.emit(b.event, ...(b.args || []));
    }
  }
  if (reply.disconnect === true) socket.disconnect();
}

io.on('connection', (socket) => {
  const accept = socket.data.accept || {};
  socket.data.accept = undefined;
  if (Array.isArray(accept.join) && accept.join.length > 0) socket.join(accept.join);
  if (Array.isArray(accept.emit)) for (const e of accept.emit) socket.emit(e.event, ...(e.args || []));

  // Hooks of one socket go one at a time, in order, as iogate sends them.
  let chain = Promise.resolve();
  socket.onAny((event, ...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    chain = chain.then(() => {
      const body = common('event', socket, socket.nsp.name);
      body.event = event;
      body.args = args;
      body.ack = ack !== null;
      return hook('event', body).then(
        (reply) => applyEventReply(socket, reply, ack),
        () => {},
      );
    });
  });

  socket.on('disconnect', (reason) => {
    const body = common('disconnect', socket, socket.nsp.name);
    body.rooms = socket.data.lastRooms || [];
    body.reason = reason;
    chain = chain.then(() => hook('disconnect', body).catch(() => {}));
  });
  socket.on('disconnecting', () => {
    socket.data.lastRooms = [...socket.rooms];
  });
});

// Control listener: server-side emits for the fan-out scenario, garbage collection, readiness.
const control = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/ready') return reply(200, { ready: true });
    if (req.url === '/parked') {
      // The in-memory adapter keeps one session per disconnected socket it may still recover.
      const sessions = io.of('/').adapter.sessions;
      return reply(200, { parked: sessions instanceof Map ? sessions.size : 0 });
    }
    if (req.url === '/gc' && req.method === 'POST') {
      if (typeof global.gc === 'function') {
        global.gc();
        return reply(200, { gc: true });
      }
      return reply(200, { gc: false });
    }
    if (req.url === '/emit' && req.method === 'POST') {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString());
      } catch (error) {
        return reply(400, { error: 'bad json' });
      }
      let op = io.of(body.namespace || '/');
      const rooms = (body.to && body.to.rooms) || [];
      if (rooms.length > 0) op = op.to(rooms);
      op.emit(body.event, ...(body.args || []));
      return reply(200, {});
    }
    return reply(404, { error: 'not found' });
  });
});

// In a cluster the adapter subscribes before the process listens: once ready, it receives every broadcast.
async function useRedisAdapter(url) {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pubClient = createClient({ url });
  const subClient = pubClient.duplicate();
  pubClient.on('error', (error) => console.error('redis publisher:', error.message));
  subClient.on('error', (error) => console.error('redis subscriber:', error.message));
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
}

function listen() {
  server.listen(port, '127.0.0.1', () => {
    control.listen(controlPort, '127.0.0.1', () => {
      console.log(`node reference listening on ${port}, control on ${controlPort}`);
    });
  });
}

if (process.env.REDIS_URL) {
  useRedisAdapter(process.env.REDIS_URL).then(listen, (error) => {
    console.error(`cannot use the Redis adapter: ${error.message}`);
    process.exit(1);
  });
} else {
  listen();
}
