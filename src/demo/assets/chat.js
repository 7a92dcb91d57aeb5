'use strict';
// The demo page: one socket to the chat, its messages, rooms, transport and the backend's webhook log.
// `?name=NAME` picks the name the backend greets (else a random guest name).

(function () {
  const ROOMS = ['lobby', 'rust', 'random'];
  const MAX_LOG_LINES = 200;
  const $ = (id) => document.getElementById(id);

  const params = new URLSearchParams(location.search);
  const name = (params.get('name') || `guest-${Math.floor(Math.random() * 900 + 100)}`).slice(0, 24);
  const socket = new MiniSocketIo.Socket('/socket.io/', { name }, { query: { recovery: '1' } });
  const transports = [];
  let currentRoom = null;

  function time() {
    return new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }

  function append(list, element, max) {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(element);
    while (max && list.children.length > max) list.removeChild(list.firstChild);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function item(className, parts) {
    const li = document.createElement('li');
    li.className = className;
    for (const [kind, text] of parts) {
      const span = document.createElement('span');
      span.className = kind;
      span.textContent = text;
      li.appendChild(span);
    }
    return li;
  }

  function notice(text) {
    append($('messages'), item('notice', [['time', time()], ['text', text]]));
  }

  function setState(state, text) {
    $('state').className = `state ${state}`;
    $('state').textContent = text;
  }

  function setRoom(room, members) {
    currentRoom = room;
    $('room').textContent = members ? `${room} (${members} here)` : room;
    for (const button of $('room-buttons').children) {
      button.classList.toggle('current', button.dataset.room === room);
    }
  }

  function join(room) {
    if (!room || room === currentRoom) return;
    socket.emit('join', room, (answer) => {
      if (answer && answer.error) {
        notice(answer.error);
        return;
      }
      setRoom(answer.room, answer.members);
      notice(`you are in ${answer.room} (${answer.members} here)`);
    });
  }

  for (const room of ROOMS) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = room;
    button.dataset.room = room;
    button.addEventListener('click', () => join(room));
    $('room-buttons').appendChild(button);
  }

  $('room-form').addEventListener('submit', (event) => {
    event.preventDefault();
    join($('room-input').value.trim());
    $('room-input').value = '';
  });

  $('send-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('text').value.trim();
    if (text === '') return;
    socket.emit('chat', text);
    $('text').value = '';
  });

  socket.on('transport', (transport) => {
    transports.push(transport);
    $('transport').textContent = transport;
    $('transport').className = `transport ${transport}`;
    $('transport-history').textContent = `transport: ${transports.join(' → ')}`;
    if (transport === 'websocket') notice('transport upgraded: polling → websocket');
  });
  socket.on('connect', ({ sid, recovered }) => {
    setState('connected', recovered ? 'recovered' : 'connected');
    $('me').textContent = `${name} · ${sid}`;
  });
  socket.on('welcome', (welcome) => {
    setRoom(welcome.room, welcome.members);
    notice(welcome.recovered ? `welcome back, ${welcome.name}` : `welcome, ${welcome.name}: you are in ${welcome.room}`);
  });
  socket.on('chat', (line) => {
    const mine = line.sid === socket.id;
    append($('messages'), item(mine ? 'chat mine' : 'chat', [['time', time()], ['name', line.name], ['text', line.text]]));
  });
  socket.on('notice', (text) => notice(text));
  socket.on('webhook-log', (entry) => {
    append(
      $('log'),
      item(`hook ${entry.kind}`, [
        ['time', time()],
        ['kind', entry.kind],
        ['summary', entry.summary],
        ['signed', entry.signature === 'verified' ? '✓ signed' : ''],
      ]),
      MAX_LOG_LINES,
    );
  });
  socket.on('disconnect', (reason) => {
    setState('disconnected', 'disconnected');
    $('transport').textContent = 'none';
    $('transport').className = 'transport';
    notice(`disconnected: ${reason}`);
  });
  socket.on('reconnecting', ({ attempt, delay }) => setState('connecting', `reconnecting (#${attempt} in ${delay} ms)`));
  socket.on('connect_error', (error) => {
    setState('disconnected', 'refused');
    notice(`refused: ${(error && error.message) || 'connect error'}`);
  });

  window.demoSocket = socket;
  socket.connect();
})();
