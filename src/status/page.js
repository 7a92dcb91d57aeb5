// The status page: reads /status/events (one JSON snapshot per second), fills the page and draws the last five
// minutes of each series as a sparkline on a canvas. No framework, no external requests.
'use strict';

const HISTORY = 300; // points kept per series: five minutes at one per second
const series = { sessions: [], sockets: [], connects: [], disconnects: [], events: [], packetsOut: [] };

function $(id) { return document.getElementById(id); }

function text(id, value) {
  const element = $(id);
  if (element) element.textContent = value;
}

function number(n) {
  if (n === null || n === undefined) return '–';
  if (typeof n === 'number' && !Number.isInteger(n)) return n.toFixed(1);
  return String(n);
}

function ms(n) {
  if (n === null || n === undefined) return '–';
  return n < 10 ? n.toFixed(1) + ' ms' : Math.round(n) + ' ms';
}

function bytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1024 / 1024).toFixed(1) + ' MiB';
}

function duration(seconds) {
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  return h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
}

function push(name, value) {
  const values = series[name];
  values.push(value);
  if (values.length > HISTORY) values.shift();
}

// One sparkline: the series scaled to its own maximum, the area under it shaded.
function drawSpark(canvas, values) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
    canvas.width = width * ratio;
    canvas.height = height * ratio;
  }
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  if (values.length < 2) return;
  const max = Math.max(1, ...values);
  const step = width / (HISTORY - 1);
  const x0 = width - (values.length - 1) * step;
  const y = v => height - 2 - (v / max) * (height - 4);
  g.beginPath();
  values.forEach((v, i) => (i ? g.lineTo(x0 + i * step, y(v)) : g.moveTo(x0, y(v))));
  g.strokeStyle = '#2563eb';
  g.lineWidth = 1.5;
  g.stroke();
  g.lineTo(width, height);
  g.lineTo(x0, height);
  g.closePath();
  g.fillStyle = 'rgba(37, 99, 235, 0.12)';
  g.fill();
}

function drawSparks() {
  document.querySelectorAll('canvas.spark').forEach(canvas => drawSpark(canvas, series[canvas.dataset.series]));
}

// Replaces a table's body with `rows` (arrays of cells: text, or {text, className}).
function fillTable(id, rows, emptyText) {
  const body = $(id).querySelector('tbody');
  const columns = $(id).querySelectorAll('thead th').length;
  body.replaceChildren();
  if (!rows.length) {
    const tr = body.insertRow();
    const td = tr.insertCell();
    td.colSpan = columns;
    td.className = 'empty';
    td.textContent = emptyText;
    return;
  }
  for (const row of rows) {
    const tr = body.insertRow();
    for (const cell of row) {
      const td = tr.insertCell();
      if (cell !== null && typeof cell === 'object') {
        td.textContent = cell.text;
        if (cell.className) td.className = cell.className;
      } else {
        td.textContent = cell;
      }
    }
  }
}

function bars(id, entries) {
  const total = Math.max(1, ...entries.map(([, n]) => n));
  const box = $(id);
  box.replaceChildren();
  for (const [name, count] of entries) {
    const bar = document.createElement('div');
    bar.className = 'bar';
    const label = document.createElement('span');
    label.className = 'name';
    label.textContent = name;
    const track = document.createElement('span');
    track.className = 'track';
    const fill = document.createElement('span');
    fill.className = 'fill';
    fill.style.display = 'block';
    fill.style.width = (100 * count / total) + '%';
    track.append(fill);
    const value = document.createElement('span');
    value.className = 'count';
    value.textContent = count;
    bar.append(label, track, value);
    box.append(bar);
  }
}

function show(s) {
  text('version', s.version);
  text('uptime', duration(s.uptime_s));
  text('sessions-total', s.sessions.total);
  text('sockets-total', s.sockets);
  text('rate-connects', number(s.rates.connects));
  text('rate-disconnects', number(s.rates.disconnects));
  text('rate-events', number(s.rates.events_in));
  text('rate-packets-out', number(s.rates.packets_out));
  push('sessions', s.sessions.total);
  push('sockets', s.sockets);
  push('connects', s.rates.connects);
  push('disconnects', s.rates.disconnects);
  push('events', s.rates.events_in);
  push('packetsOut', s.rates.packets_out);
  drawSparks();

  bars('breakdown', [
    ['Polling', s.sessions.polling], ['WebSocket', s.sessions.websocket],
    ['Engine.IO 4', s.sessions.eio4], ['Engine.IO 3', s.sessions.eio3], ['Socket.IO 0.9', s.sessions.sio09],
  ]);

  text('retries-pending', s.retries_pending);
  text('given-up', s.totals.webhooks_given_up);
  text('outbound-overflows', s.totals.outbound_overflows);
  text('hook-overflows', s.totals.hook_overflows);
  text('webhook-workers', s.webhook_workers);
  text('capacity', `${s.sessions.total} / ${s.max_sessions}`);
  $('given-up').className = s.totals.webhooks_given_up ? 'bad' : '';
  $('outbound-overflows').className = s.totals.outbound_overflows ? 'bad' : '';

  const refused = $('refused').querySelector('tbody');
  refused.replaceChildren();
  if (!s.refused.length) {
    const td = refused.insertRow().insertCell();
    td.className = 'empty';
    td.textContent = 'Nothing refused.';
  }
  for (const r of s.refused) {
    const tr = refused.insertRow();
    const th = document.createElement('th');
    th.textContent = r.reason;
    tr.append(th);
    const td = tr.insertCell();
    td.textContent = r.count;
    td.className = 'bad';
  }

  text('webhook-window', s.webhook_window_s ? `(percentiles and counts: the last ${s.webhook_window_s} s)` : '');
  fillTable('webhooks', s.webhooks.map(w => [
    { text: w.url, className: 'url' }, ms(w.p50_ms), ms(w.p95_ms), ms(w.p99_ms), w.window_calls,
    { text: w.window_failures, className: w.window_failures ? 'bad' : '' }, w.calls, w.failures,
  ]), 'No webhook called yet.');
  const namespaces = s.namespaces.map(n => [n.endpoint, n.name, n.sockets]);
  if (s.other_namespaces) namespaces.push(['', 'other namespaces', s.other_namespaces]);
  fillTable('namespaces', namespaces, 'No Socket.IO namespace.');
  fillTable('rooms', s.top_rooms.map(r => [r.namespace, r.room, r.sockets]), 'No room joined.');
  fillTable('endpoints', s.endpoints.map(e => [
    e.path, e.protocol, e.sessions.total, e.sessions.polling, e.sessions.websocket,
    e.protocol === 'socket.io' ? e.sockets : '–', e.retries_pending, bytes(e.buffered_bytes),
  ]), 'No endpoint.');

  const cluster = s.cluster;
  $('cluster-panel').hidden = !cluster;
  if (cluster) {
    text('node', `node ${cluster.node_id} (${cluster.tag})`);
    text('cluster-redis', cluster.redis_up ? '(Redis up)' : '(Redis unreachable: cross-node delivery paused)');
    $('cluster-redis').className = cluster.redis_up ? '' : 'bad';
    fillTable('nodes', cluster.nodes.map(n => [
      n.this_node ? `${n.node_id} (this node)` : n.node_id, n.tag, n.advertise,
      n.sessions === null ? '–' : number(n.sessions), n.registered === null ? '–' : number(n.registered),
    ]), 'No live node.');
  }
}

// The gateway's last five minutes, sent first on each (re)connection: the plots start from them.
function seed(points) {
  for (const name of Object.keys(series)) series[name].length = 0;
  for (const p of points.slice(-HISTORY)) {
    push('sessions', p.sessions);
    push('sockets', p.sockets);
    push('connects', p.connects);
    push('disconnects', p.disconnects);
    push('events', p.events);
    push('packetsOut', p.packets_out);
  }
  drawSparks();
}

function connect() {
  const live = $('live');
  const source = new EventSource('/status/events');
  source.onopen = () => { live.textContent = 'live'; live.className = 'live'; };
  source.onmessage = event => {
    try { show(JSON.parse(event.data)); } catch (e) { console.error('status snapshot', e); }
  };
  source.addEventListener('history', event => {
    try { seed(JSON.parse(event.data)); } catch (e) { console.error('status history', e); }
  });
  source.addEventListener('end', () => {
    live.textContent = 'gateway shutting down';
    live.className = 'live off';
    source.close();
  });
  source.onerror = () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  };
}

window.addEventListener('resize', drawSparks);
connect();
