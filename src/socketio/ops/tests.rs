//! The operations seam against the in-process adapter, with real sockets on real (unowned) Engine.IO sessions.

use super::*;
use crate::engineio::session::timer::Tick;
use crate::engineio::{
    CloseReason, Owner, Packet, Session, SessionSettings, Sid, TransportKind, Wait,
};
use crate::metrics::EndpointMetrics;
use crate::socketio::app::{Accepted, ClientEvent, ConnectRequest, DisconnectReason, Rejected};
use crate::socketio::outgoing::{self, Encoded};
use crate::socketio::packet::PacketKind;
use crate::socketio::server::SioConfig;
use crate::socketio::session_sockets::SessionSockets;
use crate::socketio::socket::Socket;
use crate::socketio::socket_id::SocketId;
use serde_json::value::RawValue;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};

/// Records the disconnects the layer reports.
#[derive(Default)]
struct Recorder {
    disconnects: Mutex<Vec<(String, DisconnectReason)>>,
}

impl SocketApp for Recorder {
    type SocketState = ();

    async fn connect(&self, _request: ConnectRequest<'_>) -> Result<Accepted<()>, Rejected> {
        Ok(Accepted {
            state: (),
            data: None,
            join: Vec::new(),
            emit: Vec::new(),
        })
    }

    fn event<D: Adapter>(
        &self,
        _ops: &Ops<Self, D>,
        _socket: &Arc<Socket<()>>,
        _event: ClientEvent,
    ) -> Option<Wait> {
        None
    }

    fn disconnect<D: Adapter>(
        &self,
        _ops: &Ops<Self, D>,
        socket: &Arc<Socket<()>>,
        reason: DisconnectReason,
    ) {
        let mut seen = self.disconnects.lock().unwrap();
        seen.push((socket.id().to_string(), reason));
    }
}

/// Never set: a session without an engine has no limits and closes on its own.
struct NoEngine;

impl Owner<SessionSockets<()>> for NoEngine {
    fn settings(&self) -> &SessionSettings {
        unreachable!("never upgraded")
    }
    fn metrics(&self) -> &EndpointMetrics {
        unreachable!("never upgraded")
    }
    fn schedule(&self, _: &Arc<Session<SessionSockets<()>>>, _: Tick) {}
    fn closed(&self, _: &Arc<Session<SessionSockets<()>>>, _: CloseReason) {}
    fn forget(&self, _: Sid) {}
    fn peer(&self, _: &Arc<Session<SessionSockets<()>>>) -> Option<IpAddr> {
        None
    }
}

type TestOps = Ops<Recorder>;

fn server() -> TestOps {
    let config = SioConfig {
        namespaces: vec!["/".into(), "/chat*".into()],
        connect_timeout: std::time::Duration::from_secs(30),
        max_namespace_length: 256,
        max_attachment_bytes: 1 << 20,
        metrics: EndpointMetrics::detached(),
        recovery: None,
    };
    crate::socketio::SocketIo::new(config, Recorder::default()).ops()
}

/// A socket `id` of `namespace` on a session of its own, connected as the layer connects one.
fn connect(ops: &TestOps, namespace: &str, id: &str) -> Arc<Socket<()>> {
    let handshake = crate::socketio::test_support::handshake();
    let owner: Weak<dyn Owner<SessionSockets<()>>> = Weak::<NoEngine>::new();
    let session = Arc::new(Session::new(
        Sid::random(),
        (crate::engineio::EngineVersion::V4, false),
        TransportKind::Polling,
        SessionSockets::new(handshake),
        owner,
    ));
    let handshake = session.state().handshake().clone();
    let socket = ops.table().add(namespace, |entry| {
        Arc::new(Socket::new(
            SocketId::from_text(id),
            entry,
            Arc::downgrade(&session),
            handshake,
            (),
            None,
        ))
    });
    session.state().lock().sockets.push(socket.clone());
    // The socket holds its session weakly; the test keeps it alive through a leaked strong reference.
    std::mem::forget(session);
    socket
}

/// The packets queued for `socket`'s client since the last call.
fn sent(socket: &Socket<()>) -> Vec<Packet> {
    socket
        .session()
        .map(|s| s.take_output(std::task::Waker::noop()).0)
        .unwrap_or_default()
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_string()).unwrap()
}

fn hello() -> Emit {
    Emit {
        event: raw("\"hi\""),
        args: vec![raw("1")],
    }
}

fn listed(rooms: &[&str], sockets: &[&str]) -> Reach {
    Reach::Listed {
        rooms: rooms.iter().map(|r| r.to_string()).collect(),
        sockets: sockets.iter().map(|s| SocketId::from_text(s)).collect(),
    }
}

fn on(namespace: &str, selector: Selector) -> Selection<'_> {
    Selection {
        namespace,
        selector,
    }
}

fn to(reach: Reach) -> Selector {
    Selector {
        to: reach,
        ..Selector::default()
    }
}

async fn emitted_to(
    ops: &TestOps,
    selection: &Selection<'_>,
    sockets: &[&Arc<Socket<()>>],
) -> Vec<String> {
    let count = ops
        .apply(selection, Operation::Emit(hello()))
        .await
        .unwrap();
    let mut reached: Vec<String> = sockets
        .iter()
        .filter(|socket| !sent(socket).is_empty())
        .map(|socket| socket.id().to_string())
        .collect();
    reached.sort();
    assert_eq!(count, reached.len());
    reached
}

#[tokio::test]
async fn selections_reach_rooms_ids_and_exclusions_of_one_namespace() {
    let ops = server();
    let a = connect(&ops, "/", "a");
    let b = connect(&ops, "/", "b");
    let c = connect(&ops, "/", "c");
    let other = connect(&ops, "/chat", "d");
    let all = [&a, &b, &c, &other];
    a.join(["red"]);
    b.join(["red", "blue"]);
    c.join(["blue"]);
    let everyone = on("/", Selector::default());
    assert_eq!(emitted_to(&ops, &everyone, &all).await, ["a", "b", "c"]);
    let union = on("/", to(listed(&["red", "blue"], &[])));
    assert_eq!(emitted_to(&ops, &union, &all).await, ["a", "b", "c"]);
    let red_and_c = on("/", to(listed(&["red"], &["c", "nobody"])));
    assert_eq!(emitted_to(&ops, &red_and_c, &all).await, ["a", "b", "c"]);
    let except = on(
        "/",
        Selector {
            to: listed(&["red"], &[]),
            except_rooms: vec!["blue".into()],
            except_sockets: Vec::new(),
        },
    );
    assert_eq!(emitted_to(&ops, &except, &all).await, ["a"]);
    let except_sid = on(
        "/",
        Selector {
            except_sockets: vec![SocketId::from_text("b")],
            ..Selector::default()
        },
    );
    assert_eq!(emitted_to(&ops, &except_sid, &all).await, ["a", "c"]);
    let one = Selection::socket("/", SocketId::from_text("c"));
    assert_eq!(emitted_to(&ops, &one, &all).await, ["c"]);
    let nobody = on("/", to(listed(&[], &[])));
    assert!(emitted_to(&ops, &nobody, &all).await.is_empty());
    let chat = on("/chat", Selector::default());
    assert_eq!(emitted_to(&ops, &chat, &all).await, ["d"]);
}

#[tokio::test]
async fn namespaces_not_served_are_refused_and_empty_ones_reach_nobody() {
    let ops = server();
    let emit = || Operation::Emit(hello());
    let refused = ops.apply(&on("/admin", Selector::default()), emit()).await;
    assert_eq!(refused, Err(OpError::NamespaceNotServed));
    assert_eq!(
        ops.sockets("/admin", None).await.unwrap_err(),
        OpError::NamespaceNotServed
    );
    assert_eq!(
        ops.rooms("/admin").await.unwrap_err(),
        OpError::NamespaceNotServed
    );
    // Matched by a glob, nobody connected: served, empty.
    let empty = on("/chat-2", Selector::default());
    assert_eq!(ops.apply(&empty, emit()).await, Ok(0));
    assert!(ops.sockets("/chat-2", None).await.unwrap().value.is_empty());
    // A bad event is refused even when it reaches nobody.
    let bad = Emit {
        event: raw("\"connect\""),
        args: Vec::new(),
    };
    let refused = ops.apply(&empty, Operation::Emit(bad)).await;
    assert!(matches!(refused, Err(OpError::Encode(_))), "{refused:?}");
}

#[tokio::test]
async fn an_emit_is_encoded_once_with_its_binary_attachments() {
    let ops = server();
    let a = connect(&ops, "/chat", "a");
    let emit = Emit {
        event: raw("\"file\""),
        args: vec![raw(r#"{"$binary":"AQI="}"#)],
    };
    let expected = outgoing::encode_event("/chat", &emit).unwrap();
    let count = ops
        .apply(&on("/chat", Selector::default()), Operation::Emit(emit))
        .await
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(expected.0.len(), 2);
    assert_eq!(Encoded(sent(&a)), expected);
}

#[tokio::test]
async fn join_leave_data_and_listings() {
    let ops = server();
    let a = connect(&ops, "/", "a");
    let b = connect(&ops, "/", "b");
    let both = on("/", to(listed(&[], &["a", "b"])));
    let joined = ops.apply(&both, Operation::Join(vec!["red".into()])).await;
    assert_eq!(joined, Ok(2));
    let left = ops
        .apply(
            &Selection::socket("/", b.id()),
            Operation::Leave(vec!["red".into()]),
        )
        .await;
    assert_eq!(left, Ok(1));
    let rooms = ops.rooms("/").await.unwrap().value;
    let names: Vec<(&str, usize)> = rooms.iter().map(|r| (r.name.as_str(), r.sockets)).collect();
    assert_eq!(names, [("a", 1), ("b", 1), ("red", 1)]);
    let data = Operation::SetData(Some(raw(r#"{"n":1.50}"#)));
    assert_eq!(ops.apply(&both, data).await, Ok(2));
    let cleared = ops
        .apply(&Selection::socket("/", a.id()), Operation::SetData(None))
        .await;
    assert_eq!(cleared, Ok(1));
    let listed = ops.sockets("/", None).await.unwrap().value;
    let summary: Vec<(&str, Option<&str>)> = listed
        .iter()
        .map(|s| (s.sid.as_str(), s.data.as_deref().map(RawValue::get)))
        .collect();
    assert_eq!(summary, [("a", None), ("b", Some(r#"{"n":1.50}"#))]);
    let in_red = ops.sockets("/", Some("red")).await.unwrap().value;
    assert_eq!(in_red.len(), 1);
    assert_eq!(in_red[0].sid.as_str(), "a");
    assert_eq!(in_red[0].rooms, [Arc::<str>::from("a"), Arc::from("red")]);
    let missing = Selection::socket("/", SocketId::from_text("zz"));
    assert_eq!(ops.apply(&missing, Operation::SetData(None)).await, Ok(0));
}

#[tokio::test]
async fn disconnect_tells_client_and_application_and_may_close_the_session() {
    let ops = server();
    let a = connect(&ops, "/chat", "a");
    let b = connect(&ops, "/chat", "b");
    let only_a = Selection::socket("/chat", a.id());
    let count = ops
        .apply(
            &only_a,
            Operation::Disconnect {
                close_session: false,
            },
        )
        .await;
    assert_eq!(count, Ok(1));
    assert!(!a.is_connected());
    assert_eq!(
        Encoded(sent(&a)),
        outgoing::plain(PacketKind::Disconnect, "/chat", None)
    );
    assert!(!a.session().unwrap().is_closed());
    let only_b = Selection::socket("/chat", b.id());
    let count = ops
        .apply(
            &only_b,
            Operation::Disconnect {
                close_session: true,
            },
        )
        .await;
    assert_eq!(count, Ok(1));
    assert!(b.session().unwrap().is_closed());
    let seen = ops.app().disconnects.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("a".to_string(), DisconnectReason::ServerNamespaceDisconnect),
            ("b".to_string(), DisconnectReason::ServerNamespaceDisconnect)
        ]
    );
    // The last socket gone, a glob-matched namespace leaves the table; it is still served.
    assert!(ops.namespace("/chat").is_none());
    assert_eq!(
        ops.apply(&only_a, Operation::Join(vec!["x".into()])).await,
        Ok(0)
    );
}

#[tokio::test]
async fn the_socket_itself_keeps_data_and_rooms_after_it_left() {
    let ops = server();
    let a = connect(&ops, "/", "a");
    a.join(["red"]);
    ops.apply_to_socket(
        &a,
        Operation::Disconnect {
            close_session: false,
        },
    )
    .unwrap();
    let data = Operation::SetData(Some(raw("7")));
    assert_eq!(ops.apply_to_socket(&a, data), Ok(1));
    assert_eq!(a.data().unwrap().get(), "7");
    assert_eq!(
        ops.apply_to_socket(&a, Operation::Leave(vec!["red".into()])),
        Ok(1)
    );
    assert_eq!(a.rooms(), [Arc::<str>::from("a")]);
    // An emit reaches it only while it is connected.
    assert_eq!(ops.apply_to_socket(&a, Operation::Emit(hello())), Ok(0));
}

#[tokio::test]
async fn acks_are_collected_per_socket() {
    let ops = server();
    let a = connect(&ops, "/", "a");
    let b = connect(&ops, "/", "b");
    let c = connect(&ops, "/", "c");
    let all = on("/", Selector::default());
    let limit = std::time::Duration::from_millis(200);
    let emit = hello();
    let collect = ops.emit_with_ack(&all, &emit, limit);
    let answer = async {
        tokio::task::yield_now().await;
        assert!(a.resolve_ack(0, "[true]".to_string()));
        ops.apply_to_socket(
            &b,
            Operation::Disconnect {
                close_session: false,
            },
        )
        .unwrap();
    };
    let (replies, ()) = tokio::join!(collect, answer);
    let mut replies = replies.unwrap().value;
    replies.sort_by(|x, y| x.sid.cmp(&y.sid));
    let outcomes: Vec<(&str, &AckOutcome)> = replies
        .iter()
        .map(|r| (r.sid.as_str(), &r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("a", &AckOutcome::Answered("[true]".to_string())),
            ("b", &AckOutcome::Disconnected),
            ("c", &AckOutcome::TimedOut)
        ]
    );
    let expected = outgoing::event("/", &emit.event, &[&emit.args[0]], Some(0)).unwrap();
    assert_eq!(Encoded(sent(&c)), expected);
}

#[tokio::test]
async fn recipients_with_offsets_share_one_offset_and_a_parked_socket_logs_its_events() {
    let ops = server();
    let limits = crate::socketio::recovery::LogLimits {
        max_bytes: 1 << 20,
        max_age: std::time::Duration::from_secs(60),
    };
    let a = connect(&ops, "/", "a");
    let b = connect(&ops, "/", "b");
    let plain = connect(&ops, "/", "c");
    a.enable_recovery("pa".into(), limits);
    b.enable_recovery("pb".into(), limits);
    let everyone = on("/", Selector::default());
    let reached = ops
        .apply(&everyone, Operation::Emit(hello()))
        .await
        .unwrap();
    assert_eq!(reached, 3);
    let (to_a, to_b, to_plain) = (sent(&a), sent(&b), sent(&plain));
    assert_eq!(to_a, to_b, "one offset, one packet for both");
    assert_eq!(
        to_plain,
        outgoing::encode_event("/", &hello()).unwrap().0,
        "no offset for a socket without"
    );
    let Packet::Text(text) = &to_a[0] else {
        panic!("a text packet")
    };
    let args: Vec<serde_json::Value> = serde_json::from_str(&text.as_str()[2..]).unwrap();
    assert_eq!(args[..2], [serde_json::json!("hi"), serde_json::json!(1)]);
    let offset = args[2].as_str().expect("an offset").to_string();
    let seq = crate::socketio::recovery::OffsetSource::process()
        .parse(&offset)
        .expect("this process's offset");
    // Parked: events still reach it, into its log only.
    b.park();
    let reached = ops
        .apply(&everyone, Operation::Emit(hello()))
        .await
        .unwrap();
    assert_eq!(reached, 3);
    assert!(sent(&b).is_empty());
    let missed = b.missed_since(Some(seq)).expect("the offset is in the log");
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].1.0, sent(&a));
    assert!(b.missed_since(Some(seq + 1_000_000)).is_none());
}

fn server_with_recovery() -> TestOps {
    let config = SioConfig {
        namespaces: vec!["/".into()],
        connect_timeout: std::time::Duration::from_secs(30),
        max_namespace_length: 256,
        max_attachment_bytes: 1 << 20,
        metrics: EndpointMetrics::detached(),
        recovery: Some(crate::socketio::recovery::RecoverySettings {
            window: std::time::Duration::from_secs(60),
            skip_connect_hook: false,
            max_buffer: 1 << 20,
            offsets: crate::config::OffsetsMode::Marked,
            max_parked: 100,
            metrics: crate::metrics::RecoveryMetrics::detached(),
        }),
    };
    crate::socketio::SocketIo::new(config, Recorder::default()).ops()
}

/// A recoverable socket `id` with private id `pid`, connected, then parked for `ping timeout`.
fn parked_socket(ops: &TestOps, id: &str, pid: &str) -> Arc<Socket<()>> {
    let socket = connect(ops, "/", id);
    let limits = ops.config.recovery.as_ref().unwrap().log_limits();
    socket.enable_recovery(pid.into(), limits);
    ops.parked.live(pid.into());
    assert!(ops.park(&socket, CloseReason::PingTimeout));
    socket
}

#[tokio::test]
async fn a_socket_handed_over_ends_here_with_its_hook_unless_the_new_node_confirms_it() {
    let ops = server_with_recovery();
    let wait = std::time::Duration::from_millis(100);
    parked_socket(&ops, "kept", "p-kept");
    parked_socket(&ops, "lost", "p-lost");
    for pid in ["p-kept", "p-lost"] {
        let handed = ops
            .hand_over_local("/", pid, None, wait)
            .expect("handed over");
        assert_eq!(handed.reason, "ping timeout");
        // Out of the namespace, and not claimable while it moves.
        assert!(matches!(
            ops.hand_over_local("/", pid, None, wait),
            Err("live")
        ));
    }
    assert!(ops.sockets_local("/", None).unwrap().is_empty());
    let metrics = &ops.config.recovery.as_ref().unwrap().metrics;
    assert_eq!((metrics.parked.get(), metrics.lent.get()), (0, 2));
    assert!(ops.hand_over_confirmed("p-kept"));
    assert!(!ops.hand_over_confirmed("p-kept"), "confirmed once");
    assert_eq!(metrics.lent.get(), 1);
    tokio::time::sleep(wait * 3).await;
    assert_eq!(
        metrics.lent.get(),
        0,
        "the unconfirmed one is no longer held"
    );
    let disconnects = ops.app().disconnects.lock().unwrap().clone();
    assert_eq!(
        disconnects,
        vec![(
            "lost".to_string(),
            DisconnectReason::Session(CloseReason::PingTimeout)
        )],
        "the unconfirmed socket's hook, with the reason it was parked for"
    );
    assert!(!ops.hand_over_confirmed("p-lost"), "too late");
}

#[tokio::test]
async fn a_socket_handed_over_keeps_recovering_from_the_offsets_its_client_holds() {
    let ops = server_with_recovery();
    let socket = connect(&ops, "/", "moved");
    let limits = ops.config.recovery.as_ref().unwrap().log_limits();
    socket.enable_recovery("p".into(), limits);
    let event = |n: u64| {
        Arc::new(Encoded(vec![Packet::Text(crate::engineio::Text::from(
            format!("42[\"news\",{n},\"OTHER-{n}\"]"),
        ))]))
    };
    let logged = socket.adopt_log(
        Some("OTHER-5"),
        vec![("OTHER-6".into(), event(6)), ("OTHER-7".into(), event(7))],
    );
    assert_eq!(logged.len(), 2);
    let (six, seven) = (logged[0].0, logged[1].0);
    assert_eq!(socket.resolve_offset("OTHER-5"), Some(None));
    assert_eq!(socket.resolve_offset("OTHER-6"), Some(Some(six)));
    assert_eq!(socket.resolve_offset("OTHER-9"), None);
    assert_eq!(socket.offset_text(seven), "OTHER-7");
    let after_six = socket.missed_since(Some(six)).expect("in the log");
    assert_eq!(after_six.len(), 1);
    assert_eq!(after_six[0].1, event(7));
    // What this node sends it from now on carries this node's offsets, after the handed-over events.
    ops.apply(&on("/", Selector::default()), Operation::Emit(hello()))
        .await
        .unwrap();
    let everything = socket.missed_since(None).expect("nothing dropped");
    assert_eq!(everything.len(), 3);
    let own = everything[2].0;
    assert!(own > seven);
    assert_eq!(
        socket.offset_text(own),
        crate::socketio::recovery::OffsetSource::process().text_of(own)
    );
    assert_eq!(
        socket.resolve_offset(&socket.offset_text(own)),
        Some(Some(own))
    );
}
