//! One Engine.IO session: its outbound queue, transport state, heartbeat and closing; its id ([`sid`]), what the
//! application learns when it opens ([`handshake`], [`pair_list`]), and the heartbeat timer shared by all
//! sessions ([`timer`]).

pub(crate) mod handshake;
pub(crate) mod pair_list;
pub(crate) mod sid;
pub mod timer;

pub(crate) mod deadlines;

#[cfg(test)]
mod deadline_tests;

use crate::engineio::codec::packet::{Packet, PacketType};
use crate::engineio::version::EngineVersion;
use sid::Sid;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::Waker;
use std::time::Duration;
use timer::{ShortTick, Tick, Timed};
use tokio::sync::Notify;

/// The transport a session currently uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

impl TransportKind {
    /// The name used in queries and webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::Websocket => "websocket",
        }
    }
}

/// Why a session ended, named as Engine.IO and Socket.IO name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed the session or its connection.
    TransportClose,
    /// The transport failed (bad request sequence, overflow, I/O error).
    TransportError,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The client sent something that could not be decoded.
    ParseError,
    /// The server (backend) closed the session.
    ForcedClose,
    /// The server is shutting down.
    ServerShuttingDown,
}

impl CloseReason {
    /// Whether the server (or the backend) chose to end the session.
    pub fn is_server_initiated(self) -> bool {
        matches!(self, Self::ForcedClose | Self::ServerShuttingDown)
    }

    /// The reason text used in webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ForcedClose => "forced close",
            Self::ServerShuttingDown => "server shutting down",
        }
    }
}

/// Settings shared by every session of an endpoint.
#[derive(Clone, Debug)]
pub struct SessionSettings {
    /// Interval between server pings.
    pub ping_interval: Duration,
    /// Time a client has to answer a ping.
    pub ping_timeout: Duration,
    /// Outbound packets kept for a slow client before the session is closed.
    pub max_buffered_packets: usize,
    /// Outbound bytes (encoded packets, a WebSocket's unwritten batch included) kept for a slow client before the
    /// session is closed; at most `u32::MAX`.
    pub max_buffer: usize,
}

/// What a session needs from the engine that owns it.
pub(crate) trait Owner<S>: Send + Sync {
    /// The endpoint's session settings.
    fn settings(&self) -> &SessionSettings;
    /// The endpoint's metric handles.
    fn metrics(&self) -> &crate::metrics::EndpointMetrics;
    /// Fires `session` at `at`.
    fn schedule(&self, session: &Arc<Session<S>>, at: Tick);
    /// The session has closed: tell the application.
    fn closed(&self, session: &Arc<Session<S>>, reason: CloseReason);
    /// The session is finished: forget its id.
    fn forget(&self, sid: Sid);
    /// The client's address, when the application kept it (for logs).
    fn peer(&self, session: &Arc<Session<S>>) -> Option<IpAddr>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Heartbeat {
    /// v4: the server pings next.
    WaitToPing,
    /// v4: a ping is out; the pong is due.
    AwaitPong,
    /// v3: the client pings; the session ends when none comes within interval + timeout.
    ClientPings,
}

/// Where a polling-to-WebSocket upgrade stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Upgrade {
    None,
    /// A WebSocket is attached and owns the upgrade, but has not probed yet: other upgrades are refused.
    Attached,
    /// A WebSocket is attached and has answered the probe: polls are released with noops.
    Probing,
}

pub(crate) struct Inner {
    /// Packets for the client, oldest first. A `Vec`, not a `VecDeque`: every transport takes the whole queue at
    /// once, and the 8 bytes saved keep the session's block within its malloc size class.
    pub(crate) queue: Vec<Packet>,
    /// Bytes held for the client: the queue's packets, plus the batch a WebSocket took and has not written yet
    /// (`in_flight`). Never above `max_buffer` (validated to fit in 32 bits, which keeps `Inner` as small as before).
    bytes: u32,
    /// Bytes of the batch the WebSocket pump took last; released when it takes the next (it takes one only once
    /// the last is written) or when it ends.
    in_flight: u32,
    pub(crate) transport: TransportKind,
    pub(crate) polling: bool,
    /// GETs started so far (wrapping): tells whether a client polled again since a moment.
    pub(crate) polls: u32,
    pub(crate) posting: bool,
    pub(crate) upgrade: Upgrade,
    pub(crate) closed: Option<CloseReason>,
    heartbeat: Heartbeat,
    /// When the timers must look at the session next (the next ping, the pong's or the client ping's deadline,
    /// or the end of a closed session's grace); none once nothing is left to time.
    due: Option<ShortTick>,
    /// The earliest deadline the session has waiting in the engine's timers. A later `due` leaves it be (it is
    /// moved on when it fires), so a client cannot add timer entries faster than its heartbeat; an earlier one
    /// adds an entry, and entries other than this one are passed over when they fire.
    armed: Option<ShortTick>,
    /// Transports currently not reading from the client because the application applies backpressure.
    reading_paused: u32,
    /// The session was closed for holding more than its bounds allow (see [`Session::overflowed`]).
    overflowed: bool,
    /// The WebSocket pump's task, to wake when there is output or the session closes. A slot here instead of a
    /// `Notified` in the pump: the pump's task stays a Tokio cell size smaller (see `websocket::pump`).
    pump_waker: Option<Waker>,
}

/// What a waiting poll should answer now.
pub(crate) enum PollReady {
    /// Nothing yet: keep waiting.
    Wait,
    /// Answer with these packets.
    Send(Vec<Packet>),
}

/// An Engine.IO session. `S` is the application's per-session state.
pub struct Session<S> {
    id: Sid,
    version: EngineVersion,
    /// A v3 client that asked for text-only payloads at its handshake (`b64=1`, or JSONP).
    base64: bool,
    state: S,
    pub(crate) notify: Notify,
    inner: Mutex<Inner>,
    owner: Weak<dyn Owner<S>>,
}

impl<S: Send + Sync + 'static> Session<S> {
    pub(crate) fn new(
        id: Sid,
        (version, base64): (EngineVersion, bool),
        transport: TransportKind,
        state: S,
        owner: Weak<dyn Owner<S>>,
    ) -> Self {
        Self {
            id,
            version,
            base64,
            state,
            notify: Notify::new(),
            inner: Mutex::new(Inner {
                queue: Vec::new(),
                bytes: 0,
                in_flight: 0,
                transport,
                polling: false,
                polls: 0,
                posting: false,
                upgrade: Upgrade::None,
                closed: None,
                heartbeat: Heartbeat::WaitToPing,
                due: None,
                armed: None,
                reading_paused: 0,
                overflowed: false,
                pump_waker: None,
            }),
            owner,
        }
    }

    /// The session id.
    pub fn id(&self) -> Sid {
        self.id
    }

    /// The session id, borrowed (the registry finds sessions by it).
    pub(crate) fn id_ref(&self) -> &Sid {
        &self.id
    }

    /// The protocol the client speaks: Engine.IO v3 or v4, or Socket.IO 0.9's transport.
    pub fn version(&self) -> EngineVersion {
        self.version
    }

    /// Whether a v3 client asked for text-only payloads (`b64=1`) at its handshake.
    pub fn base64_only(&self) -> bool {
        self.base64
    }

    /// The application's state for this session.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The transport in use.
    pub fn transport(&self) -> TransportKind {
        self.lock().transport
    }

    /// Whether the session has closed.
    pub fn is_closed(&self) -> bool {
        self.lock().closed.is_some()
    }

    /// Whether the session was closed for going past a bound (`max_buffer`, `max_buffered_packets`): its client
    /// did not take what it was sent, so it is not kept for a return.
    pub fn overflowed(&self) -> bool {
        self.lock().overflowed
    }

    /// Closes the session for going past a bound (`transport error`; see [`Session::overflowed`]).
    pub fn close_overflowed(self: &Arc<Self>) {
        self.lock().overflowed = true;
        self.close(CloseReason::TransportError);
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a packet for the client. Returns false when the session is closed.
    /// A client that lets more than `max_buffered_packets` or `max_buffer` bytes pile up is disconnected
    /// (`transport error`).
    pub fn send(self: &Arc<Self>, packet: Packet) -> bool {
        self.send_all(std::iter::once(packet))
    }

    /// Queues several packets in order. Returns false when the session is closed, or when they would take its
    /// queue past `max_buffered_packets` or `max_buffer` bytes: then none of them is kept, the queue is dropped
    /// and the session closes (`transport error`).
    pub fn send_all(self: &Arc<Self>, packets: impl IntoIterator<Item = Packet>) -> bool {
        let owner = self.owner.upgrade();
        let (max_packets, max_bytes) = owner.as_ref().map_or((usize::MAX, usize::MAX), |o| {
            let settings = o.settings();
            (settings.max_buffered_packets, settings.max_buffer)
        });
        let (added, delta, overflow, pump) = {
            let mut inner = self.lock();
            if inner.closed.is_some() {
                return false;
            }
            let before = inner.queue.len();
            let mut bytes = 0usize;
            inner
                .queue
                .extend(packets.into_iter().inspect(|p| bytes += p.wire_len()));
            let added = inner.queue.len() - before;
            match inner.bytes_with(bytes, max_bytes) {
                Some(total) if inner.queue.len() <= max_packets => {
                    inner.bytes = total;
                    (added, bytes as i64, false, inner.pump_waker.take())
                }
                // The close that follows wakes the pump (its waker stays in the session until then).
                _ => (added, -i64::from(inner.drop_queue()), true, None),
            }
        };
        if let Some(owner) = &owner {
            let metrics = owner.metrics();
            metrics.packets_out.inc_by(added as u64);
            metrics.buffered_bytes.inc_by(delta);
        }
        if overflow {
            self.overflow(owner.as_deref(), max_packets, max_bytes);
            return false;
        }
        self.wake_with(pump);
        true
    }

    /// Wakes every transport waiting on the session: the waiters of its `notify`, and the WebSocket pump (whose
    /// waker the caller took from the session's state under the lock it held anyway).
    fn wake_with(&self, pump: Option<Waker>) {
        self.notify.notify_waiters();
        if let Some(waker) = pump {
            waker.wake();
        }
    }

    /// The client let too much pile up: count it, log it, close the session.
    fn overflow(self: &Arc<Self>, owner: Option<&dyn Owner<S>>, packets: usize, bytes: usize) {
        let peer = owner.and_then(|owner| {
            owner.metrics().outbound_overflows.inc();
            owner.peer(self)
        });
        tracing::warn!(
            sid = %self.id,
            peer = peer.map(tracing::field::display),
            max_buffered_packets = packets,
            max_buffer = bytes,
            "outbound queue overflow; closing session"
        );
        self.close_overflowed();
    }

    /// Lowers the endpoint's `buffered_bytes` gauge by `bytes` the client took (or that were dropped).
    fn released(&self, bytes: u32) {
        if bytes > 0 {
            if let Some(owner) = self.owner.upgrade() {
                owner.metrics().buffered_bytes.dec_by(i64::from(bytes));
            }
        }
    }

    /// Wakes the transports so they look again at the session (e.g. the application finished its work on it).
    pub fn wake(&self) {
        let pump = self.lock().pump_waker.take();
        self.wake_with(pump);
    }

    /// Closes the session: transports are told, the application is told once.
    pub fn close(self: &Arc<Self>, reason: CloseReason) {
        self.close_and_linger(reason, reason.is_server_initiated());
    }

    /// Closes the session and forgets its id at once: no transport will ask for its last packets (e.g. a session
    /// refused while its handshake was still being answered).
    pub(crate) fn close_at_once(self: &Arc<Self>, reason: CloseReason) {
        self.close_and_linger(reason, false);
    }

    /// The client sent a close packet. A GET racing with it (sent alongside the POST) still gets its answer.
    pub(crate) fn close_by_client(self: &Arc<Self>) {
        self.close_and_linger(CloseReason::TransportClose, true);
    }

    /// Closes the session; with `linger`, a polling client with no GET in flight can fetch its last packets
    /// with its next GET (until `ping_timeout` passes). Otherwise the session id is forgotten at once.
    fn close_and_linger(self: &Arc<Self>, reason: CloseReason, linger: bool) {
        let owner = self.owner.upgrade();
        let (forget_now, arm, pump) = {
            let mut inner = self.lock();
            if inner.closed.is_some() {
                return;
            }
            inner.closed = Some(reason);
            let keep_for_poll =
                linger && inner.transport == TransportKind::Polling && !inner.polling;
            let arm = match &owner {
                Some(owner) if keep_for_poll => {
                    inner.set_due(Tick::after(owner.settings().ping_timeout))
                }
                _ => {
                    inner.due = None;
                    None
                }
            };
            (!keep_for_poll, arm, inner.pump_waker.take())
        };
        self.wake_with(pump);
        let Some(owner) = owner else {
            return;
        };
        if forget_now {
            owner.forget(self.id);
        } else if let Some(at) = arm {
            owner.schedule(self, at);
        }
        owner.closed(self, reason);
    }

    /// Marks reading from the client as suspended (backpressure) until the guard drops. Meanwhile a missing pong
    /// does not end the session: it may be waiting, unread, behind the client's earlier messages.
    pub(crate) fn pause_reading(self: &Arc<Self>) -> ReadingPaused<S> {
        self.lock().reading_paused += 1;
        ReadingPaused(self.clone())
    }

    /// Records a pong; the next ping follows one interval later.
    pub(crate) fn pong(self: &Arc<Self>) {
        let Some(owner) = self.owner.upgrade() else {
            return;
        };
        let arm = {
            let mut inner = self.lock();
            if inner.closed.is_some() || inner.heartbeat != Heartbeat::AwaitPong {
                return;
            }
            inner.heartbeat = Heartbeat::WaitToPing;
            inner.set_due(Tick::after(owner.settings().ping_interval))
        };
        if let Some(at) = arm {
            owner.schedule(self, at);
        }
    }

    /// Starts the heartbeat: v4, the first ping one interval from now; v3, the first client ping due within
    /// interval + timeout.
    pub(crate) fn start_heartbeat(self: &Arc<Self>) {
        let Some(owner) = self.owner.upgrade() else {
            return;
        };
        let settings = owner.settings();
        let arm = {
            let mut inner = self.lock();
            let due = if self.version == EngineVersion::V3 {
                inner.heartbeat = Heartbeat::ClientPings;
                settings.ping_interval + settings.ping_timeout
            } else {
                settings.ping_interval
            };
            inner.set_due(Tick::after(due))
        };
        if let Some(at) = arm {
            owner.schedule(self, at);
        }
    }

    /// A v3 client pinged: answer with a pong carrying the same data and expect the next ping in time.
    pub(crate) fn client_ping(self: &Arc<Self>, data: &str) {
        let Some(owner) = self.owner.upgrade() else {
            return;
        };
        let settings = owner.settings();
        let arm = {
            let mut inner = self.lock();
            if inner.closed.is_some() {
                return;
            }
            // Later than the deadline waiting in the timers: it is moved on when it fires, and however fast the
            // client pings, it adds no timer entry.
            inner.set_due(Tick::after(settings.ping_interval + settings.ping_timeout))
        };
        if let Some(at) = arm {
            owner.schedule(self, at);
        }
        self.send(Packet::text(PacketType::Pong, data));
    }

    /// How long the client has to answer a ping (the endpoint's `ping_timeout`).
    pub(crate) fn ping_timeout(&self) -> Duration {
        self.owner
            .upgrade()
            .map_or(Duration::ZERO, |owner| owner.settings().ping_timeout)
    }

    /// Takes every queued packet for the WebSocket pump, and tells whether the session has closed. The queue's
    /// memory goes with the packets, so a session that is idle afterwards holds no queue buffer.
    ///
    /// The pump takes a batch only once it has written the last one: that one's bytes are released now, and the
    /// new batch's stay counted against `max_buffer` until the next call (or [`Session::transport_ended`]), so a
    /// client that stops reading cannot make the session hold more than `max_buffer` bytes of packets.
    ///
    /// `pump` is woken when packets are queued after this call, or the session closes.
    pub(crate) fn take_output(&self, pump: &Waker) -> (Vec<Packet>, bool) {
        let (queue, closed, written) = {
            let mut inner = self.lock();
            inner.watch(pump);
            let written = inner.in_flight;
            inner.bytes -= written;
            inner.in_flight = inner.bytes;
            (
                std::mem::take(&mut inner.queue),
                inner.closed.is_some(),
                written,
            )
        };
        self.released(written);
        (queue, closed)
    }

    /// Whether the session has closed; `pump` is woken when packets are queued after this call, or the session
    /// closes (the WebSocket pump asks this while it still writes its last batch).
    pub(crate) fn watch_closed(&self, pump: &Waker) -> bool {
        let mut inner = self.lock();
        inner.watch(pump);
        inner.closed.is_some()
    }

    /// The WebSocket pump ended: the batch it took is written or gone, and the queue of a closed session will
    /// never be taken.
    pub(crate) fn transport_ended(&self) {
        let released = {
            let mut inner = self.lock();
            inner.pump_waker = None;
            let written = std::mem::take(&mut inner.in_flight);
            inner.bytes -= written;
            let dropped = if inner.closed.is_some() {
                inner.drop_queue()
            } else {
                0
            };
            written + dropped
        };
        self.released(released);
    }

    /// Whether packets wait in the queue of an open session.
    pub(crate) fn has_queued_output(&self) -> bool {
        let inner = self.lock();
        inner.closed.is_none() && !inner.queue.is_empty()
    }

    /// Called by a GET waiting for data: what to answer now, if anything.
    pub(crate) fn poll_ready(&self) -> PollReady {
        let mut inner = self.lock();
        if let Some(reason) = inner.closed {
            let (queue, taken) = inner.take_queue();
            let mut packets = queue;
            // A client that closed the session itself only needs its GET released (as the reference server does).
            let last = if reason == CloseReason::TransportClose {
                PacketType::Noop
            } else {
                PacketType::Close
            };
            packets.push(Packet::bare(last));
            inner.polling = false;
            drop(inner);
            self.released(taken);
            if let Some(owner) = self.owner.upgrade() {
                owner.forget(self.id);
            }
            return PollReady::Send(packets);
        }
        if inner.transport == TransportKind::Websocket
            || (inner.upgrade == Upgrade::Probing && inner.queue.is_empty())
        {
            inner.polling = false;
            return PollReady::Send(vec![Packet::bare(PacketType::Noop)]);
        }
        if inner.queue.is_empty() {
            return PollReady::Wait;
        }
        inner.polling = false;
        // The queue's buffer goes with the packets: a session idle after this poll keeps none.
        let (queue, taken) = inner.take_queue();
        drop(inner);
        self.released(taken);
        PollReady::Send(queue)
    }
}

impl Inner {
    /// The timers must look at the session at `at`: returns the deadline to schedule, unless an earlier one is
    /// already waiting (it moves on to `at` when it fires, see [`Timed::fire`]).
    fn set_due(&mut self, at: Tick) -> Option<Tick> {
        let short = at.short();
        self.due = Some(short);
        match self.armed {
            Some(armed) if !armed.is_after(short) => None,
            _ => {
                self.armed = Some(short);
                Some(at)
            }
        }
    }

    /// The deadline that just fired is followed by `next`, which the timers schedule.
    fn rearm(&mut self, next: Tick) -> Tick {
        self.due = Some(next.short());
        self.armed = Some(next.short());
        next
    }

    /// Keeps `pump` to wake at the next change (a clone only when the slot holds another task's waker).
    fn watch(&mut self, pump: &Waker) {
        match &self.pump_waker {
            Some(kept) if kept.will_wake(pump) => {}
            _ => self.pump_waker = Some(pump.clone()),
        }
    }

    /// The bytes held once `more` are queued, if that stays within `max` (and so within 32 bits).
    fn bytes_with(&self, more: usize, max: usize) -> Option<u32> {
        (self.bytes as usize)
            .checked_add(more)
            .filter(|total| *total <= max)
            .and_then(|total| u32::try_from(total).ok())
    }

    /// Takes the queued packets (with the queue's buffer) and their bytes out of the count; the batch a WebSocket
    /// is writing stays counted.
    fn take_queue(&mut self) -> (Vec<Packet>, u32) {
        let taken = self.bytes - self.in_flight;
        self.bytes = self.in_flight;
        (std::mem::take(&mut self.queue), taken)
    }

    /// Drops the queued packets (nobody will take them); returns their bytes.
    fn drop_queue(&mut self) -> u32 {
        self.take_queue().1
    }
}

impl<S> Drop for Session<S> {
    fn drop(&mut self) {
        let held = self
            .inner
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes;
        if held > 0 {
            if let Some(owner) = self.owner.upgrade() {
                owner.metrics().buffered_bytes.dec_by(i64::from(held));
            }
        }
    }
}

/// Keeps a session's reading marked as paused while alive (see [`Session::pause_reading`]).
pub(crate) struct ReadingPaused<S: Send + Sync + 'static>(Arc<Session<S>>);

impl<S: Send + Sync + 'static> Drop for ReadingPaused<S> {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.reading_paused = inner.reading_paused.saturating_sub(1);
    }
}

impl<S: Send + Sync + 'static> Timed for Session<S> {
    fn fire(self: &Arc<Self>, now: Tick) -> Option<Tick> {
        let owner = self.owner.upgrade()?;
        let mut inner = self.lock();
        if inner.armed != Some(now.short()) {
            // An earlier deadline replaced this one.
            return None;
        }
        inner.armed = None;
        let due = inner.due?;
        if due.is_after(now.short()) {
            // The deadline moved on meanwhile (a pong, a client ping): wait for it.
            let next = now.up_to(due);
            inner.armed = Some(due);
            return Some(next);
        }
        if inner.closed.is_some() {
            // The grace period for a polling client to fetch its last packets is over.
            drop(inner);
            owner.forget(self.id);
            return None;
        }
        match inner.heartbeat {
            Heartbeat::WaitToPing => {
                let settings = owner.settings();
                let ping = Packet::bare(PacketType::Ping);
                let ping_bytes = ping.wire_len();
                let Some(total) = inner.bytes_with(ping_bytes, settings.max_buffer) else {
                    drop(inner);
                    let (packets, bytes) = (settings.max_buffered_packets, settings.max_buffer);
                    self.overflow(Some(&*owner), packets, bytes);
                    return None;
                };
                inner.heartbeat = Heartbeat::AwaitPong;
                inner.bytes = total;
                inner.queue.push(ping);
                let pump = inner.pump_waker.take();
                // The client has the whole timeout from the moment its ping is queued, however late the timers
                // woke for it (as Node's server starts its pong timer when it sends the ping).
                let pong_due = now.max(Tick::now()).later(settings.ping_timeout);
                let next = inner.rearm(pong_due);
                drop(inner);
                owner.metrics().buffered_bytes.inc_by(ping_bytes as i64);
                self.wake_with(pump);
                Some(next)
            }
            // The pong cannot have been read yet: look again one timeout later.
            Heartbeat::AwaitPong | Heartbeat::ClientPings if inner.reading_paused > 0 => {
                Some(inner.rearm(now.later(owner.settings().ping_timeout)))
            }
            Heartbeat::AwaitPong | Heartbeat::ClientPings => {
                drop(inner);
                self.close(CloseReason::PingTimeout);
                None
            }
        }
    }
}
