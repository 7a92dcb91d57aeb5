//! A Socket.IO socket: one client in one namespace, with its rooms and stored data.

use super::app::Emit;
use super::namespace::Namespace;
use super::outgoing::{self, Encoded};
use super::recovery::{LogLimits, OffsetSource, Replay, ReplayLog};
use super::session_sockets::SessionSockets;
use super::socket_id::SocketId;
use crate::engineio::CloseReason;
use crate::engineio::{Handshake, Session, Sid};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;
use tokio::sync::oneshot;

/// One client connected to one namespace.
pub struct Socket<S> {
    id: SocketId,
    namespace: Arc<Namespace<S>>,
    state: S,
    /// Whether the socket is in the room named by its own id (it is from its connect until it leaves it); that
    /// room is kept here rather than in the namespace's room index.
    in_own_room: AtomicBool,
    inner: Mutex<SocketInner<S>>,
}

pub(crate) struct SocketInner<S> {
    /// The Engine.IO session carrying the socket; none while it is parked for recovery.
    session: Weak<Session<SessionSockets<S>>>,
    /// The handshake of that session (a recovered socket takes its new session's).
    handshake: Arc<Handshake>,
    pub(crate) rooms: Vec<Arc<str>>,
    pub(crate) data: Option<Box<RawValue>>,
    pub(crate) connected: bool,
    /// Why its session ended, while it is parked for recovery.
    parked_for: Option<CloseReason>,
    /// Server emits waiting for the client's ack, by ack id (boxed, and only while any waits: most sockets never
    /// have one).
    #[expect(
        clippy::box_collection,
        reason = "an empty HashMap is 48 bytes in every socket; the box is 8 and exists only while acks wait"
    )]
    acks: Option<Box<HashMap<u64, oneshot::Sender<String>>>>,
    next_ack: u64,
    /// What a recoverable socket keeps (boxed, and only for sockets that get offsets).
    recovery: Option<Box<SocketRecovery>>,
}

/// What a socket that gets offsets keeps for its client's return.
pub(crate) struct SocketRecovery {
    /// The private id its client sends back to recover it.
    pid: Arc<str>,
    /// The offset-bearing packets it was sent.
    log: ReplayLog,
    limits: LogLimits,
    /// Offsets another node gave its client, with the position in this log each stands for (`None`: before
    /// everything logged here): a socket handed over keeps recovering from the offsets its client holds.
    foreign: Box<[(Box<str>, Option<u64>)]>,
}

/// What [`Socket::send_event`] did.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventSent {
    /// The event went to the client, or into the log of a parked socket for its return.
    pub reached: bool,
    /// The replay log dropped older packets to make room.
    pub trimmed: bool,
}

impl<S> SocketInner<S> {
    /// Fails every pending ack (the socket is gone).
    pub(crate) fn drop_pending_acks(&mut self) {
        self.acks = None;
    }

    fn take_ack(&mut self, id: u64) -> Option<oneshot::Sender<String>> {
        let acks = self.acks.as_mut()?;
        let sender = acks.remove(&id);
        if acks.is_empty() {
            self.acks = None;
        }
        sender
    }
}

impl<S: Send + Sync + 'static> Socket<S> {
    pub(crate) fn new(
        id: SocketId,
        namespace: Arc<Namespace<S>>,
        session: Weak<Session<SessionSockets<S>>>,
        handshake: Arc<Handshake>,
        state: S,
        data: Option<Box<RawValue>>,
    ) -> Self {
        Self {
            id,
            namespace,
            state,
            in_own_room: AtomicBool::new(false),
            inner: Mutex::new(SocketInner {
                session,
                handshake,
                rooms: Vec::new(),
                data,
                connected: true,
                parked_for: None,
                acks: None,
                next_ack: 0,
                recovery: None,
            }),
        }
    }

    /// The socket id (`socket.id` on the client).
    pub fn id(&self) -> SocketId {
        self.id.clone()
    }

    /// The socket id, borrowed.
    pub(crate) fn id_ref(&self) -> &SocketId {
        &self.id
    }

    /// Whether the socket is in the room named by its own id.
    pub(crate) fn in_own_room(&self) -> bool {
        self.in_own_room.load(Ordering::Acquire)
    }

    /// Records joining or leaving the room named by its own id (under the namespace's write lock).
    pub(crate) fn set_in_own_room(&self, member: bool) {
        self.in_own_room.store(member, Ordering::Release);
    }

    /// The namespace name.
    pub fn namespace(&self) -> &str {
        self.namespace.name()
    }

    /// The namespace the socket was added to.
    pub(crate) fn namespace_entry(&self) -> &Arc<Namespace<S>> {
        &self.namespace
    }

    /// The Engine.IO session id carrying this socket.
    pub fn session_id(&self) -> Option<Sid> {
        self.session().map(|s| s.id())
    }

    /// The Engine.IO session carrying this socket (none while it is parked for recovery).
    pub fn session(&self) -> Option<Arc<Session<SessionSockets<S>>>> {
        self.lock().session.upgrade()
    }

    /// The handshake of the connection.
    pub fn handshake(&self) -> Arc<Handshake> {
        self.lock().handshake.clone()
    }

    /// The application's state for this socket.
    pub fn state(&self) -> &S {
        &self.state
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SocketInner<S>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the socket is still connected.
    pub fn is_connected(&self) -> bool {
        self.lock().connected
    }

    /// The rooms the socket is in (its own id included), in join order.
    pub fn rooms(&self) -> Vec<Arc<str>> {
        self.lock().rooms.clone()
    }

    /// The stored data as raw JSON, if any.
    pub fn data(&self) -> Option<Box<RawValue>> {
        self.lock().data.clone()
    }

    /// Replaces the stored data.
    pub fn set_data(&self, data: Option<Box<RawValue>>) {
        self.lock().data = data;
    }

    /// Joins rooms.
    pub fn join<'a>(self: &Arc<Self>, rooms: impl IntoIterator<Item = &'a str>) {
        for room in rooms {
            self.namespace.join(self, room);
        }
    }

    /// Leaves rooms.
    pub fn leave<'a>(self: &Arc<Self>, rooms: impl IntoIterator<Item = &'a str>) {
        for room in rooms {
            self.namespace.leave(self, room);
        }
    }

    /// Sends an event that asks the client for an ack. The receiver yields the ack's arguments as a raw JSON array;
    /// it fails if the socket disconnects first. Call [`Socket::forget_ack`] when giving up on it.
    pub fn emit_with_ack(
        &self,
        emit: &Emit,
    ) -> Result<Option<(u64, oneshot::Receiver<String>)>, String> {
        let (sender, receiver) = oneshot::channel();
        let id = {
            let mut inner = self.lock();
            if !inner.connected {
                return Ok(None);
            }
            let id = inner.next_ack;
            inner.next_ack += 1;
            inner.acks.get_or_insert_default().insert(id, sender);
            id
        };
        let args: Vec<&RawValue> = emit.args.iter().map(|a| a.as_ref()).collect();
        let encoded = match outgoing::event(self.namespace(), &emit.event, &args, Some(id)) {
            Ok(encoded) => encoded,
            Err(error) => {
                self.forget_ack(id);
                return Err(error);
            }
        };
        if !self.send(&encoded) {
            self.forget_ack(id);
            return Ok(None);
        }
        Ok(Some((id, receiver)))
    }

    /// Stops waiting for ack `id`.
    pub fn forget_ack(&self, id: u64) {
        self.lock().take_ack(id);
    }

    /// Delivers the client's ack `id`; false when nothing waited for it.
    pub(crate) fn resolve_ack(&self, id: u64, args: String) -> bool {
        let waiting = self.lock().take_ack(id);
        waiting.is_some_and(|sender| sender.send(args).is_ok())
    }

    /// Sends an encoded packet to the client. False when the session is gone or the socket disconnected.
    pub fn send(&self, encoded: &Encoded) -> bool {
        let session = {
            let inner = self.lock();
            if !inner.connected {
                return false;
            }
            inner.session.upgrade()
        };
        match session {
            Some(session) => session.send_all(encoded.0.iter().cloned()),
            None => false,
        }
    }

    /// Sends an event that may carry an offset: `plain` to a socket without offsets; to one with offsets, the
    /// packet `with_offset` gives (made once per emit and shared by its recipients), recorded in its replay log
    /// first, so a parked socket gets it when its client returns.
    pub fn send_event(
        &self,
        plain: &Encoded,
        with_offset: &mut dyn FnMut() -> Option<(u64, Arc<Encoded>)>,
    ) -> EventSent {
        let mut sent = EventSent::default();
        let (session, logged) = {
            let mut inner = self.lock();
            if !inner.connected {
                return sent;
            }
            let session = inner.session.upgrade();
            let logged = match inner.recovery.as_mut() {
                Some(recovery) => with_offset().map(|(seq, packets)| {
                    sent.trimmed =
                        recovery
                            .log
                            .push(seq, packets.clone(), Instant::now(), recovery.limits);
                    packets
                }),
                None => None,
            };
            (session, logged)
        };
        let packets = logged.as_deref().unwrap_or(plain);
        sent.reached = match session {
            Some(session) => session.send_all(packets.0.iter().cloned()),
            // Parked: the log holds it for the client's return.
            None => logged.is_some(),
        };
        sent
    }

    /// Makes the socket recoverable: it gets offsets and keeps a replay log within `limits`; its client
    /// recovers it with `pid`.
    pub(crate) fn enable_recovery(&self, pid: Arc<str>, limits: LogLimits) {
        self.lock().recovery = Some(Box::new(SocketRecovery {
            pid,
            log: ReplayLog::default(),
            limits,
            foreign: Box::default(),
        }));
    }

    /// Logs the events another node handed over with this socket (each with the offset its client saw there),
    /// so that its client, which holds that node's offsets, recovers here too; `client_offset` is the offset the
    /// client came back with (it stands for "before all of them"). The entries logged, in order, to be written
    /// to the client.
    pub(crate) fn adopt_log(
        &self,
        client_offset: Option<&str>,
        events: Vec<(String, Arc<Encoded>)>,
    ) -> Replay {
        let mut inner = self.lock();
        let Some(recovery) = inner.recovery.as_mut() else {
            return Vec::new();
        };
        let mut foreign = Vec::with_capacity(events.len() + 1);
        if let Some(text) = client_offset {
            foreign.push((Box::from(text), None));
        }
        let mut logged = Vec::with_capacity(events.len());
        for (text, packets) in events {
            let seq = OffsetSource::process().next().seq;
            recovery
                .log
                .push(seq, packets.clone(), Instant::now(), recovery.limits);
            foreign.push((text.into_boxed_str(), Some(seq)));
            logged.push((seq, packets));
        }
        recovery.foreign = foreign.into_boxed_slice();
        logged
    }

    /// The position in the log that a client's offset names: `Some(Some(n))` for offset number `n`,
    /// `Some(None)` for "before everything logged here" (an offset another node gave before the hand-over),
    /// `None` for an offset this socket cannot place.
    pub(crate) fn resolve_offset(&self, text: &str) -> Option<Option<u64>> {
        // Another node's offsets first: nodes that share a process (tests) share an offset tag too.
        let foreign = {
            let inner = self.lock();
            let recovery = inner.recovery.as_ref()?;
            recovery
                .foreign
                .iter()
                .find(|(known, _)| **known == *text)
                .map(|(_, position)| *position)
        };
        foreign.or_else(|| OffsetSource::process().parse(text).map(Some))
    }

    /// The offset the client saw with the logged event number `seq`: another node's, for an event handed over
    /// from it, else this process's.
    pub(crate) fn offset_text(&self, seq: u64) -> String {
        let inner = self.lock();
        inner
            .recovery
            .as_ref()
            .and_then(|recovery| {
                recovery
                    .foreign
                    .iter()
                    .find(|(_, position)| *position == Some(seq))
                    .map(|(text, _)| text.to_string())
            })
            .unwrap_or_else(|| OffsetSource::process().text_of(seq))
    }

    /// Why its session ended, while it is parked for recovery.
    pub fn parked_for(&self) -> Option<CloseReason> {
        self.lock().parked_for
    }

    /// Records that it is parked because its session ended for `reason`.
    pub(crate) fn set_parked_for(&self, reason: CloseReason) {
        self.lock().parked_for = Some(reason);
    }

    /// The private id of a recoverable socket.
    pub(crate) fn recovery_pid(&self) -> Option<Arc<str>> {
        self.lock().recovery.as_ref().map(|r| r.pid.clone())
    }

    /// Detaches a recoverable socket from its ended session: it stays connected (in its namespace and rooms),
    /// and events to it go to its replay log only.
    pub(crate) fn park(&self) {
        let mut inner = self.lock();
        inner.session = Weak::new();
        inner.parked_for = None;
        inner.drop_pending_acks();
    }

    /// What a client whose last offset is `offset` missed; `None` when the log cannot say exactly (see
    /// [`ReplayLog::after`]), or the socket is not recoverable.
    pub(crate) fn missed_since(&self, offset: Option<u64>) -> Option<Replay> {
        self.lock().recovery.as_ref()?.log.after(offset)
    }

    /// Attaches a parked socket to `session` once every packet logged after offset number `through` has been
    /// written: `Err` with those packets when there are any (write them, then call again with the last one's
    /// number), `Ok` once attached (events from then on go to the session).
    pub(crate) fn attach_after(
        &self,
        through: u64,
        session: &Arc<Session<SessionSockets<S>>>,
    ) -> Result<(), Replay> {
        let mut inner = self.lock();
        if let Some(recovery) = inner.recovery.as_ref() {
            let newer = recovery.log.newer_than(through);
            if !newer.is_empty() {
                return Err(newer);
            }
        }
        inner.session = Arc::downgrade(session);
        inner.handshake = session.state().handshake().clone();
        inner.parked_for = None;
        Ok(())
    }
}
