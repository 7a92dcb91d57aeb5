'use strict';
// A backend that talks to the Socket.IO servers through Redis only, with the npm `@socket.io/redis-emitter` (its
// default msgpack parser) over node-redis, unchanged: the way a Node.js backend drives a cluster of Socket.IO
// servers running `@socket.io/redis-adapter`. Performs one operation, then closes the Redis client.
//
// Usage: node redis_emitter.js '<command JSON>'
//   {"redis": "redis://127.0.0.1:6379", "prefix": "socket.io" (the emitter's `key`, optional),
//    "namespace": "/" (optional), "to": ["room"...] (optional), "except": ["room"...] (optional),
//    "op": "emit" | "socketsJoin" | "socketsLeave" | "disconnectSockets",
//    "event": "news", "args": [...]         (emit)
//    "rooms": ["room"...]                   (socketsJoin, socketsLeave)
//    "close": false                         (disconnectSockets)}
// `to` and `except` select the sockets as `emitter.to(room)` and `emitter.except(room)` do.
// RESULT {"op", "published": [{"channel", "receivers": how many Redis subscribers got the message}]}

const { Emitter } = require('@socket.io/redis-emitter');
const { createClient } = require('redis');
const { fail, run, step } = require('./script');

/** The command from argv; exits 2 when it is missing or not JSON. */
function command() {
  const usage = (problem) => {
    console.error(`${problem}\nusage: node ${process.argv[1]} '{"redis": "redis://...", "op": "emit", ...}'`);
    process.exit(2);
  };
  if (!process.argv[2]) usage('no command given');
  try {
    return JSON.parse(process.argv[2]);
  } catch (error) {
    return usage(`not JSON: ${error.message}`);
  }
}

/** `operator` narrowed to the rooms of `to` and without those of `except`. */
function select(operator, cmd) {
  let selected = operator;
  for (const room of cmd.to || []) selected = selected.to(room);
  for (const room of cmd.except || []) selected = selected.except(room);
  return selected;
}

/** Performs `cmd.op` on the selected sockets. */
function perform(operator, cmd) {
  switch (cmd.op) {
    case 'emit':
      return operator.emit(cmd.event, ...(cmd.args || []));
    case 'socketsJoin':
      return operator.socketsJoin(cmd.rooms);
    case 'socketsLeave':
      return operator.socketsLeave(cmd.rooms);
    case 'disconnectSockets':
      return operator.disconnectSockets(Boolean(cmd.close));
    default:
      return fail(`unknown op ${JSON.stringify(cmd.op)}`);
  }
}

const cmd = command();

run(async () => {
  step(`connecting to ${cmd.redis}`);
  const redis = createClient({ url: cmd.redis });
  redis.on('error', (error) => fail(`redis: ${error.message}`));
  await redis.connect();

  // The emitter publishes without waiting; this wrapper keeps each PUBLISH's answer (the subscriber count).
  const published = [];
  const recording = {
    publish(channel, message) {
      const answer = redis.publish(channel, message).then((receivers) => ({ channel, receivers }));
      published.push(answer);
      return answer;
    },
  };
  const opts = cmd.prefix ? { key: cmd.prefix } : {};
  const emitter = new Emitter(recording, opts, cmd.namespace || '/');

  step(`performing ${cmd.op}`);
  perform(select(emitter, cmd), cmd);
  const results = await Promise.all(published);
  step('closing the Redis client');
  await redis.close();
  return { op: cmd.op, published: results };
});
