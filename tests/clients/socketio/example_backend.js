'use strict';
// A socket.io-client against an iogate endpoint whose backend is one of the examples in examples/ (Flask, Express):
// connects as "ada" (the backend answers `welcome` ["hello ada"]), emits `chat` "hi" with an ack callback (acked
// ["received"], emitted back as `chat` ["ada", "hi"]), prints `READY <sid>` and waits for the `announcement` the
// test has the backend broadcast through iogate's push API, then disconnects.
// Usage: node example_backend.js <url> [polling|upgrade|websocket]
// READY <sid>, then RESULT {"welcome", "ack", "chat", "announcement", "transport"}

const { io } = require('socket.io-client');
const c = require('./common');
const { callbackAck } = require('../script');

const tgt = c.target();

c.run(async () => {
  c.step('connecting');
  const socket = io(`${tgt.origin}/`, c.options(tgt, { auth: { name: 'ada' } }));
  const welcome = c.next(socket, 'welcome');
  const chat = c.next(socket, 'chat');
  const announcement = c.next(socket, 'announcement');
  await c.connected(socket);
  c.step('waiting for welcome');
  const welcomed = await welcome;
  c.step('emitting chat');
  const ack = await callbackAck(socket, '/', 'chat', 'hi');
  c.step('waiting for the chat emit');
  const chatted = await chat;
  console.log(`READY ${socket.id}`);
  c.step('waiting for the announcement');
  const announced = await announcement;
  const transport = socket.io.engine.transport.name;
  socket.closing = true;
  socket.disconnect();
  return { welcome: welcomed, ack, chat: chatted, announcement: announced, transport };
});
