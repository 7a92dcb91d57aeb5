//! The last five minutes of the page's plots, kept whether or not a page is open, so a page opened now starts
//! with them: one point per second read from the counters and gauges only (a few atomic loads per endpoint; no
//! session table is walked), in a ring of [`POINTS`].

use crate::server::{EndpointHandle, FrontDoor};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Points kept: five minutes at one per second.
pub const POINTS: usize = 300;

/// How often a point is taken.
pub const EVERY: Duration = Duration::from_secs(1);

/// One second of the plots.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Point {
    /// Open sessions.
    pub sessions: u64,
    /// Connected Socket.IO sockets.
    pub sockets: i64,
    /// Sessions opened per second.
    pub connects: f64,
    /// Sessions closed per second.
    pub disconnects: f64,
    /// Messages from clients per second.
    pub events: f64,
    /// Packets to clients per second.
    pub packets_out: f64,
}

/// The counters and gauges a point is made of.
#[derive(Debug, Default, Clone, Copy)]
struct Reading {
    sessions: u64,
    sockets: i64,
    connects: u64,
    disconnects: u64,
    events: u64,
    packets_out: u64,
}

fn read(app: &FrontDoor) -> Reading {
    let mut reading = Reading::default();
    for endpoint in app.endpoints() {
        let metrics = match &endpoint.handle {
            EndpointHandle::SocketIo { engine, .. } => &engine.config().metrics,
            EndpointHandle::EngineIo { engine } => &engine.config().metrics,
        };
        let sessions = metrics.sessions_polling.get() + metrics.sessions_websocket.get();
        reading.sessions += u64::try_from(sessions).unwrap_or(0);
        reading.sockets += metrics.sockets.get();
        reading.connects += metrics.sessions_opened.get();
        reading.disconnects += metrics.sessions_closed.get();
        reading.events += metrics.packets_in.get();
        reading.packets_out += metrics.packets_out.get();
    }
    reading
}

/// The ring of points.
#[derive(Default)]
pub struct History {
    points: Mutex<VecDeque<Point>>,
}

impl History {
    /// Starts taking a point of `app` every second, until the gateway drains or is dropped.
    pub fn start(app: &Arc<FrontDoor>) -> Arc<Self> {
        let history = Arc::new(Self::default());
        let weak_app: Weak<FrontDoor> = Arc::downgrade(app);
        let weak_history = Arc::downgrade(&history);
        tokio::spawn(async move {
            let mut last: Option<(Instant, Reading)> = None;
            let mut ticks = tokio::time::interval(EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let (Some(app), Some(history)) = (weak_app.upgrade(), weak_history.upgrade())
                else {
                    return;
                };
                if app.is_draining() {
                    return;
                }
                let now = Instant::now();
                let reading = read(&app);
                if let Some((at, before)) = last {
                    history.push(point(&before, &reading, now - at));
                }
                last = Some((now, reading));
            }
        });
        history
    }

    fn push(&self, point: Point) {
        if let Ok(mut points) = self.points.lock() {
            if points.len() >= POINTS {
                points.pop_front();
            }
            points.push_back(point);
        }
    }

    /// The points, oldest first.
    pub fn points(&self) -> Vec<Point> {
        self.points
            .lock()
            .map(|points| points.iter().copied().collect())
            .unwrap_or_default()
    }
}

fn point(before: &Reading, now: &Reading, elapsed: Duration) -> Point {
    let seconds = elapsed.as_secs_f64().max(0.001);
    let rate = |a: u64, b: u64| (b.saturating_sub(a) as f64 / seconds * 10.0).round() / 10.0;
    Point {
        sessions: now.sessions,
        sockets: now.sockets,
        connects: rate(before.connects, now.connects),
        disconnects: rate(before.disconnects, now.disconnects),
        events: rate(before.events, now.events),
        packets_out: rate(before.packets_out, now.packets_out),
    }
}
