'use strict';
// A small Socket.IO client for the demo page, in plain JavaScript: Engine.IO v4 (the long-polling handshake, the
// upgrade to WebSocket with its `2probe` / `3probe` / `5` exchange, pings answered with pongs) and Socket.IO v5 text
// packets on the main namespace (CONNECT, EVENT, ACK, DISCONNECT, CONNECT_ERROR), with reconnection after a drop
// (backoff with jitter) and connection state recovery (the private id and the last offset sent back on reconnect).
// Binary packets are not supported: the demo sends none.

(function (global) {
  const RECORD_SEPARATOR = '\x1e';

  /** A minimal event emitter. */
  class Emitter {
    constructor() {
      this.listeners = new Map();
    }

    on(event, listener) {
      if (!this.listeners.has(event)) this.listeners.set(event, []);
      this.listeners.get(event).push(listener);
      return this;
    }

    fire(event, ...args) {
      for (const listener of this.listeners.get(event) || []) listener(...args);
    }
  }

  /**
   * One Engine.IO v4 session: opened over long-polling, upgraded to WebSocket when the server offers it.
   * Events: `open`, `message` (the text of a message packet), `transport` (its name), `close` (a reason).
   */
  class EngineSession extends Emitter {
    constructor(path, query) {
      super();
      this.path = path;
      this.query = query;
      this.sid = null;
      this.transport = 'polling';
      this.closed = false;
      this.outbox = [];
      this.posting = null;
      this.polling = null;
      this.pausePolling = false;
      this.socket = null;
      this.pingTimer = null;
    }

    url(transport) {
      const params = new URLSearchParams(this.query);
      params.set('EIO', '4');
      params.set('transport', transport);
      if (this.sid) params.set('sid', this.sid);
      if (transport === 'polling') params.set('t', Date.now().toString(36) + Math.random().toString(36).slice(2, 6));
      return `${this.path}?${params}`;
    }

    /** The polling handshake, then the poll loop and the upgrade. */
    async open() {
      let text;
      try {
        const response = await fetch(this.url('polling'), { cache: 'no-store' });
        if (!response.ok) throw new Error(`handshake answered ${response.status}`);
        text = await response.text();
      } catch (error) {
        this.close(`handshake failed: ${error.message}`);
        return;
      }
      const [first, ...rest] = text.split(RECORD_SEPARATOR);
      if (!first.startsWith('0')) {
        this.close('bad handshake');
        return;
      }
      const handshake = JSON.parse(first.slice(1));
      this.sid = handshake.sid;
      this.pingInterval = handshake.pingInterval;
      this.pingTimeout = handshake.pingTimeout;
      this.expectPing();
      this.fire('transport', 'polling');
      this.fire('open', handshake);
      for (const packet of rest) this.receive(packet);
      this.polling = this.pollLoop();
      if ((handshake.upgrades || []).includes('websocket') && 'WebSocket' in global) this.upgrade();
    }

    /** Long polls until the session closes or an upgrade pauses polling. */
    async pollLoop() {
      while (!this.closed && !this.pausePolling) {
        let text;
        try {
          const response = await fetch(this.url('polling'), { cache: 'no-store' });
          if (!response.ok) throw new Error(`poll answered ${response.status}`);
          text = await response.text();
        } catch (error) {
          this.close('transport error');
          return;
        }
        for (const packet of text.split(RECORD_SEPARATOR)) this.receive(packet);
      }
    }

    /** Probes a WebSocket; once it answers, waits for polling to pause, then switches with `5`. */
    upgrade() {
      const location = global.location;
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const socket = new WebSocket(`${scheme}//${location.host}${this.url('websocket')}`);
      let probed = false;
      socket.onopen = () => socket.send('2probe');
      socket.onmessage = async (event) => {
        if (probed) {
          this.receive(event.data);
          return;
        }
        if (event.data !== '3probe') {
          socket.close();
          return;
        }
        probed = true;
        // The server answers the parked poll with a noop; no request may be in flight when `5` goes.
        this.pausePolling = true;
        await this.polling;
        await this.posting;
        if (this.closed) return;
        this.socket = socket;
        this.transport = 'websocket';
        socket.send('5');
        this.fire('transport', 'websocket');
        this.flush();
      };
      socket.onclose = () => {
        if (this.socket === socket) this.close('transport close');
      };
      socket.onerror = () => {
        if (!probed) socket.close();
      };
    }

    /** Handles one packet's text. */
    receive(packet) {
      if (packet === '') return;
      switch (packet[0]) {
        case '2':
          this.expectPing();
          this.write('3');
          break;
        case '4':
          this.fire('message', packet.slice(1));
          break;
        case '1':
          this.close('transport close');
          break;
        default:
          // `6` (noop) ends a poll during the upgrade; nothing else is expected.
          break;
      }
    }

    /** The session closes when no ping comes within the interval and the timeout. */
    expectPing() {
      clearTimeout(this.pingTimer);
      this.pingTimer = setTimeout(() => this.close('ping timeout'), this.pingInterval + this.pingTimeout);
    }

    /** Sends a message packet. */
    send(text) {
      this.write('4' + text);
    }

    write(packet) {
      if (this.closed) return;
      this.outbox.push(packet);
      this.flush();
    }

    /** Sends what waits: one WebSocket frame per packet, or one POST with every packet. */
    flush() {
      if (this.outbox.length === 0) return;
      if (this.socket) {
        for (const packet of this.outbox.splice(0)) this.socket.send(packet);
        return;
      }
      if (this.posting || this.pausePolling) return;
      const body = this.outbox.splice(0).join(RECORD_SEPARATOR);
      this.posting = fetch(this.url('polling'), { method: 'POST', body, cache: 'no-store' })
        .then((response) => {
          if (!response.ok) throw new Error(`post answered ${response.status}`);
        })
        .catch(() => this.close('transport error'))
        .finally(() => {
          this.posting = null;
          if (!this.pausePolling) this.flush();
        });
    }

    close(reason) {
      if (this.closed) return;
      this.closed = true;
      clearTimeout(this.pingTimer);
      if (this.socket) this.socket.close();
      this.fire('close', reason);
    }
  }

  /**
   * A Socket.IO socket on the main namespace that reconnects after a drop. Events: `connect` (the CONNECT reply),
   * `connect_error`, `disconnect` (a reason), `reconnecting` (the attempt and its delay), `transport`, and every
   * event the server emits.
   */
  class Socket extends Emitter {
    constructor(path, auth, options = {}) {
      super();
      this.path = path;
      this.auth = auth;
      this.query = options.query || {};
      this.id = null;
      this.pid = null;
      this.offset = null;
      this.connected = false;
      this.recovered = false;
      this.stopped = false;
      this.attempts = 0;
      this.nextAck = 0;
      this.acks = new Map();
      this.pending = [];
      this.session = null;
      this.transport = null;
    }

    connect() {
      const session = new EngineSession(this.path, this.query);
      this.session = session;
      session.on('transport', (name) => {
        this.transport = name;
        this.fire('transport', name);
      });
      session.on('open', () => {
        const auth = Object.assign({}, this.auth);
        if (this.pid) {
          auth.pid = this.pid;
          if (this.offset) auth.offset = this.offset;
        }
        session.send('0' + JSON.stringify(auth));
      });
      session.on('message', (text) => this.receive(text));
      session.on('close', (reason) => this.dropped(reason));
      session.open();
      return this;
    }

    /** Handles one Socket.IO packet. */
    receive(text) {
      const type = text[0];
      let rest = text.slice(1);
      if (rest.startsWith('/')) {
        // Another namespace's packet: the page uses only the main one.
        return;
      }
      const digits = /^\d*/.exec(rest)[0];
      const id = digits === '' ? null : Number(digits);
      rest = rest.slice(digits.length);
      let data = null;
      if (rest !== '') {
        try {
          data = JSON.parse(rest);
        } catch (error) {
          return;
        }
      }
      switch (type) {
        case '0':
          this.connected = true;
          this.attempts = 0;
          this.recovered = Boolean(this.pid && data.pid === this.pid && data.sid === this.id);
          this.id = data.sid;
          this.pid = data.pid || null;
          this.fire('connect', { sid: this.id, recovered: this.recovered });
          for (const packet of this.pending.splice(0)) this.session.send(packet);
          break;
        case '4':
          this.fire('connect_error', data);
          this.stop();
          break;
        case '1':
          this.connected = false;
          this.fire('disconnect', 'io server disconnect');
          this.stop();
          break;
        case '2':
          if (!Array.isArray(data) || data.length === 0) return;
          this.event(data, id);
          break;
        case '3': {
          const callback = this.acks.get(id);
          this.acks.delete(id);
          if (callback) callback(...(Array.isArray(data) ? data : []));
          break;
        }
        default:
          break;
      }
    }

    event(data, id) {
      const [name, ...args] = data;
      // With recovery, the server appends the event's offset as a last string argument.
      if (this.pid && args.length > 0 && typeof args[args.length - 1] === 'string') {
        this.offset = args.pop();
      }
      if (id !== null) {
        args.push((...answer) => this.packet('3' + id + JSON.stringify(answer)));
      }
      this.fire(name, ...args);
    }

    /** Emits `event` with `args`; a function as the last argument is called with the server's ack. */
    emit(event, ...args) {
      let id = '';
      if (typeof args[args.length - 1] === 'function') {
        id = this.nextAck++;
        this.acks.set(id, args.pop());
      }
      this.packet('2' + id + JSON.stringify([event, ...args]));
    }

    packet(text) {
      if (this.connected) this.session.send(text);
      else this.pending.push(text);
    }

    dropped(reason) {
      const wasConnected = this.connected;
      this.connected = false;
      this.transport = null;
      if (wasConnected) this.fire('disconnect', reason);
      if (this.stopped) return;
      const delay = Math.min(500 * 2 ** this.attempts, 5000) * (0.5 + Math.random() / 2);
      this.attempts += 1;
      this.fire('reconnecting', { attempt: this.attempts, delay: Math.round(delay) });
      setTimeout(() => {
        if (!this.stopped) this.connect();
      }, delay);
    }

    /** Ends the socket for good. */
    stop() {
      this.stopped = true;
      if (this.session) this.session.close('io client disconnect');
    }
  }

  global.MiniSocketIo = { Socket };
})(window);
