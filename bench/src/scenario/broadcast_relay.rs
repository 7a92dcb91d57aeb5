//! Relay through a webhook reply's broadcast: one WebSocket client emits `broadcast` (no ack), the server relays it
//! to the backend as an `event` hook, the backend's reply broadcasts `["tick",<round>]` to the room `bench`, and the
//! round ends when every receiving client has it. In a cluster the sender is on node 1 and the receivers elsewhere
//! (as [`Ctx::client_endpoint`] places them), so every delivery crosses Redis after the webhook.

use super::{Ctx, FanoutOutcome, Problems, Rounds, RoundsShape, Transport, deliveries_of_rounds};
use crate::Res;
use crate::client::{Ws, ws_connect};
use crate::proto::{self, Packet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The event the backend answers with a broadcast to its room (`bench-backend`, `BROADCAST_EVENT` there).
pub const BROADCAST_EVENT: &str = "broadcast";

/// Pause after each round: the servers are idle again before the next emit, so a slow round does not delay the
/// next one and the latencies measure the path, not a queue.
const GAP: Duration = Duration::from_millis(10);

/// Connects one sending client to node 1 and `receivers` WebSocket clients, then runs `rounds` emits one at a time;
/// latency counts from the sender's write to each delivery.
pub async fn broadcast_relay(
    ctx: &Ctx<'_>,
    receivers: usize,
    rounds: usize,
    problems: &mut Problems,
) -> Res<FanoutOutcome> {
    let sender = ws_connect(&ctx.sources, &ctx.server.endpoint).await?;
    let state = Arc::new(Rounds::new(0, rounds));
    let (to_send, queue) = mpsc::unbounded_channel::<usize>();
    let sending = tokio::spawn(send_rounds(sender, queue, state.clone()));
    let _sending = super::AbortOnDrop(sending.abort_handle());
    let trigger = async |round: usize| {
        to_send
            .send(round)
            .map_err(|_| "the sending client's connection ended".into())
    };
    let shape = RoundsShape {
        what: "relay via a broadcast reply".to_string(),
        transport: Transport::Websocket,
        clients: receivers,
        gap: GAP,
    };
    deliveries_of_rounds(ctx, &shape, &state, trigger, problems).await
}

/// The sender's connection: writes each round's emit (marking the round sent just before), answers pings between.
async fn send_rounds(mut ws: Ws, mut queue: mpsc::UnboundedReceiver<usize>, state: Arc<Rounds>) {
    let mut emit = String::new();
    loop {
        tokio::select! {
            read = ws.read_text() => {
                if !matches!(read, Ok(true)) {
                    return;
                }
                if proto::packet(ws.text()) == Packet::Ping && ws.send_text("3").await.is_err() {
                    return;
                }
            }
            round = queue.recv() => {
                let Some(round) = round else { return };
                emit.clear();
                let _ = write!(emit, r#"42["{BROADCAST_EVENT}",{round}]"#);
                state.mark_sent(round);
                if ws.send_text(&emit).await.is_err() {
                    return;
                }
            }
        }
    }
}
