//! Guards for what an idle session costs: the future a parked long poll holds and the WebSocket pump's task are
//! kept small on purpose (docs/design.md, "Per-session cost"); these tests fail when a change makes them grow, so
//! the growth is a decision rather than an accident. The bounds are the sizes in a test (debug) build.

use crate::engineio::codec::packet::Message;
use crate::engineio::engine::{Engine, EngineConfig};
use crate::engineio::handler::{Handler, Opened, Refusal, Wait};
use crate::engineio::http::RequestBody;
use crate::engineio::query::Query;
use crate::engineio::session::handshake::{ConnInfo, Handshake};
use crate::engineio::session::sid::Sid;
use crate::engineio::session::{CloseReason, Session, SessionSettings};
use crate::engineio::websocket::pump::pump;
use crate::metrics::EndpointMetrics;
use http::Request;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The most a parked long poll's future may take (it is boxed once per parked poll).
const PARKED_POLL_MAX: usize = 176;

/// The most the WebSocket pump's future may take (the whole task of an idle WebSocket session, with Tokio's
/// header). Tokio's task cell is the future plus 104 bytes (header, scheduler handle and id, stage tag, trailer),
/// aligned to 128: at most 152 keeps the cell at 256 bytes instead of 384.
const PUMP_MAX: usize = 152;

/// Accepts every session and ignores what it sends.
struct Accept;

impl Handler for Accept {
    type State = ();

    fn open(
        &self,
        _sid: Sid,
        _handshake: Handshake,
    ) -> impl Future<Output = Result<Opened<()>, Refusal>> + Send {
        std::future::ready(Ok(Opened {
            state: (),
            messages: Vec::new(),
        }))
    }

    fn message(&self, _session: &Arc<Session<()>>, _message: Message) -> Option<Wait> {
        None
    }

    fn closed(&self, _session: &Arc<Session<()>>, _reason: CloseReason) {}
}

fn engine() -> Arc<Engine<Accept>> {
    Engine::new(
        EngineConfig {
            session: SessionSettings {
                ping_interval: Duration::from_secs(25),
                ping_timeout: Duration::from_secs(20),
                max_buffered_packets: 10_000,
                max_buffer: 1 << 20,
            },
            upgrade_timeout: Duration::from_secs(10),
            max_payload: 1_000_000,
            poll_coalesce: Duration::from_millis(1),
            polling: true,
            websocket: true,
            eio3: true,
            metrics: EndpointMetrics::detached(),
            node_tag: None,
        },
        Accept,
    )
}

fn get(path_and_query: &str) -> Request<RequestBody> {
    Request::get(path_and_query)
        .body(RequestBody::Empty)
        .unwrap_or_else(|error| panic!("a test request: {error}"))
}

#[tokio::test]
async fn a_parked_long_poll_stays_small() {
    let engine = engine();
    let conn = ConnInfo {
        address: std::net::Ipv4Addr::LOCALHOST.into(),
        secure: false,
    };
    let open = engine
        .handle(get("/engine.io/?EIO=4&transport=polling"), &conn)
        .await;
    let body = http_body_util::BodyExt::collect(open.into_body())
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let sid = text
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("an open packet: {text}"));
    let query = Query::parse(Some(&format!("EIO=4&transport=polling&sid={sid}")));
    let parked = engine
        .long_poll(Sid::parse(sid), &query)
        .unwrap_or_else(|| panic!("a long poll of session {sid}"));
    let size = std::mem::size_of_val(&parked);
    assert!(
        size <= PARKED_POLL_MAX,
        "a parked long poll's future is {size} bytes (at most {PARKED_POLL_MAX}): every idle polling session pays it"
    );
}

#[test]
fn the_websocket_pump_stays_small() {
    fn future_size<A, B, C, F: Future>(_: fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }
    let size = future_size(pump::<Accept>);
    assert!(
        size <= PUMP_MAX,
        "the WebSocket pump's future is {size} bytes (at most {PUMP_MAX}): every idle WebSocket session pays it"
    );
}
