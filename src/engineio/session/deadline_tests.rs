//! A session's deadlines on the engine's timers: how many entries it adds, and what each entry does when it fires.

use super::timer::{Tick, Timed};
use super::*;
use crate::metrics::EndpointMetrics;

/// An engine stand-in that records what the session asks of it.
struct Recorder {
    settings: SessionSettings,
    metrics: EndpointMetrics,
    scheduled: Mutex<Vec<Tick>>,
    closed: Mutex<Vec<CloseReason>>,
    forgotten: Mutex<Vec<Sid>>,
}

impl Owner<()> for Recorder {
    fn settings(&self) -> &SessionSettings {
        &self.settings
    }
    fn metrics(&self) -> &EndpointMetrics {
        &self.metrics
    }
    fn schedule(&self, _: &Arc<Session<()>>, at: Tick) {
        self.scheduled.lock().unwrap().push(at);
    }
    fn closed(&self, _: &Arc<Session<()>>, reason: CloseReason) {
        self.closed.lock().unwrap().push(reason);
    }
    fn forget(&self, sid: Sid) {
        self.forgotten.lock().unwrap().push(sid);
    }
    fn peer(&self, _: &Arc<Session<()>>) -> Option<IpAddr> {
        None
    }
}

impl Recorder {
    fn scheduled(&self) -> Vec<Tick> {
        self.scheduled.lock().unwrap().clone()
    }
}

fn setup(
    version: EngineVersion,
    transport: TransportKind,
    interval_ms: u64,
    timeout_ms: u64,
) -> (Arc<Recorder>, Arc<Session<()>>) {
    let owner = Arc::new(Recorder {
        settings: SessionSettings {
            ping_interval: Duration::from_millis(interval_ms),
            ping_timeout: Duration::from_millis(timeout_ms),
            max_buffered_packets: 1000,
            max_buffer: 1 << 20,
        },
        metrics: EndpointMetrics::detached(),
        scheduled: Mutex::default(),
        closed: Mutex::default(),
        forgotten: Mutex::default(),
    });
    let weak: Weak<dyn Owner<()>> = Arc::downgrade(&(owner.clone() as Arc<dyn Owner<()>>));
    let session = Arc::new(Session::new(
        Sid::random(),
        (version, false),
        transport,
        (),
        weak,
    ));
    (owner, session)
}

/// The milliseconds from `from` to `to`.
fn millis(from: Tick, to: Tick) -> u64 {
    to.instant().duration_since(from.instant()).as_millis() as u64
}

/// Fires `session`'s entry for `at` when it is due, as the timers do.
async fn fire_when_due(session: &Arc<Session<()>>, at: Tick) -> Option<Tick> {
    tokio::time::sleep_until(at.instant()).await;
    session.fire(at)
}

#[tokio::test]
async fn a_v3_client_pinging_as_fast_as_it_can_adds_no_timer_entry() {
    let (owner, session) = setup(EngineVersion::V3, TransportKind::Websocket, 25_000, 20_000);
    session.start_heartbeat();
    assert_eq!(owner.scheduled().len(), 1);
    for _ in 0..100_000 {
        session.client_ping("");
        // The pongs are taken, as a client reading them does.
        drop(session.lock().take_queue());
    }
    let scheduled = owner.scheduled();
    assert_eq!(scheduled.len(), 1, "one entry however many pings");
    // When that entry fires, the deadline has moved on: the session is not closed, the entry follows it.
    let first = scheduled[0];
    let next = session.fire(first).expect("moved on");
    assert!(!session.is_closed());
    assert!(next > first);
    assert_eq!(
        session.fire(first),
        None,
        "a fired entry does not fire twice"
    );
    // Without pings after that, the moved-on deadline ends the session.
    assert_eq!(session.fire(next), None);
    assert!(session.is_closed());
    assert_eq!(*owner.closed.lock().unwrap(), [CloseReason::PingTimeout]);
}

#[tokio::test(start_paused = true)]
async fn a_v4_heartbeat_pings_then_times_out_on_one_entry_at_a_time() {
    let (owner, session) = setup(EngineVersion::V4, TransportKind::Websocket, 60, 40);
    session.start_heartbeat();
    let [ping_at] = owner.scheduled()[..] else {
        panic!("one entry: {:?}", owner.scheduled())
    };
    let pong_due = fire_when_due(&session, ping_at)
        .await
        .expect("the pong's deadline");
    assert_eq!(millis(ping_at, pong_due), 40);
    assert_eq!(session.lock().queue.len(), 1, "a ping is queued");
    // The pong moves the deadline one interval on, later than the pong's deadline: no new entry.
    session.pong();
    assert_eq!(owner.scheduled().len(), 1);
    let ping_again = fire_when_due(&session, pong_due)
        .await
        .expect("moved on to the next ping");
    assert!(ping_again > pong_due);
    assert!(!session.is_closed());
    // No pong this time: the timeout closes the session.
    let timeout = fire_when_due(&session, ping_again)
        .await
        .expect("the pong's deadline");
    assert_eq!(session.lock().queue.len(), 2, "a second ping is queued");
    assert_eq!(fire_when_due(&session, timeout).await, None);
    assert_eq!(*owner.closed.lock().unwrap(), [CloseReason::PingTimeout]);
    assert_eq!(
        owner.scheduled().len(),
        1,
        "the timers carried every next deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn a_ping_sent_late_still_gives_the_client_the_whole_timeout_to_pong() {
    let (owner, session) = setup(EngineVersion::V4, TransportKind::Websocket, 60, 40);
    session.start_heartbeat();
    let ping_at = owner.scheduled()[0];
    // The timers wake 25 ms after the ping was due (a busy runtime): the ping is queued only then.
    tokio::time::sleep_until(ping_at.instant() + Duration::from_millis(25)).await;
    let pong_due = session.fire(ping_at).expect("the pong's deadline");
    assert_eq!(session.lock().queue.len(), 1, "a ping is queued");
    assert_eq!(
        millis(ping_at, pong_due),
        25 + 40,
        "the timeout counts from when the ping was queued, not from when it was due"
    );
    // A pong 39 ms after the ping left keeps the session; the next ping is one interval after that pong.
    tokio::time::sleep(Duration::from_millis(39)).await;
    session.pong();
    let next = fire_when_due(&session, pong_due)
        .await
        .expect("moved on to the next ping");
    assert!(!session.is_closed());
    let next_ping = millis(ping_at, next);
    assert!(
        (25 + 39 + 60..=25 + 39 + 60 + 1).contains(&next_ping),
        "next ping {next_ping} ms after the first was due (rounded up to the millisecond)"
    );
}

#[tokio::test]
async fn an_earlier_deadline_adds_an_entry_and_the_one_it_replaced_is_passed_over() {
    // An interval shorter than the timeout: the pong's next ping comes before the pong's deadline.
    let (owner, session) = setup(EngineVersion::V4, TransportKind::Websocket, 30, 5_000);
    session.start_heartbeat();
    let ping_at = owner.scheduled()[0];
    let pong_due = fire_when_due(&session, ping_at)
        .await
        .expect("the pong's deadline");
    session.pong();
    let scheduled = owner.scheduled();
    assert_eq!(scheduled.len(), 2, "the earlier ping gets an entry");
    let next_ping = scheduled[1];
    assert!(next_ping < pong_due);
    assert!(
        fire_when_due(&session, next_ping).await.is_some(),
        "the next ping goes out"
    );
    assert_eq!(session.lock().queue.len(), 2);
    // The replaced entry fires later and does nothing: the session is neither pinged again nor closed.
    assert_eq!(session.fire(pong_due), None);
    assert!(!session.is_closed());
    assert_eq!(session.lock().queue.len(), 2);
}

#[tokio::test]
async fn a_closed_polling_session_is_forgotten_at_the_end_of_its_grace() {
    let (owner, session) = setup(EngineVersion::V4, TransportKind::Polling, 25_000, 20_000);
    session.start_heartbeat();
    let ping_at = owner.scheduled()[0];
    session.close(CloseReason::ServerShuttingDown);
    let scheduled = owner.scheduled();
    assert_eq!(
        scheduled.len(),
        2,
        "the grace ends before the ping: an entry of its own"
    );
    let grace_end = scheduled[1];
    assert!(grace_end < ping_at);
    assert_eq!(session.fire(grace_end), None);
    assert_eq!(*owner.forgotten.lock().unwrap(), [session.id()]);
    // The ping's entry fires after that and does nothing.
    assert_eq!(session.fire(ping_at), None);
    assert_eq!(owner.forgotten.lock().unwrap().len(), 1);
    assert!(session.lock().queue.is_empty());
}

#[tokio::test]
async fn a_session_closed_at_once_leaves_its_entry_nothing_to_do() {
    let (owner, session) = setup(EngineVersion::V4, TransportKind::Websocket, 25_000, 20_000);
    session.start_heartbeat();
    let ping_at = owner.scheduled()[0];
    session.close(CloseReason::TransportClose);
    assert_eq!(owner.forgotten.lock().unwrap().len(), 1);
    assert_eq!(session.fire(ping_at), None);
    assert_eq!(owner.scheduled().len(), 1);
    assert!(
        session.lock().queue.is_empty(),
        "no ping for a closed session"
    );
}
