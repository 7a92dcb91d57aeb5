//! The Engine.IO handler of a socket.io endpoint: what the engine calls for each session of the endpoint.

use super::app::SocketApp;
use super::connect_timeout;
use super::negotiate::handshake_auth;
use super::ops::{Adapter, InProcess, Ops};
use super::session_sockets::SessionSockets;
use super::sio09::Sio09Translator;
use super::version::SioVersion;
use crate::engineio::sio09::Sio09Codec;
use crate::engineio::{
    CloseReason, Handler, Handshake, Message, Opened, Refusal, Session, Sid, Wait,
};
use std::net::IpAddr;
use std::sync::Arc;

/// The Engine.IO handler of a socket.io endpoint.
pub struct SioHandler<A: SocketApp, D: Adapter = InProcess>(pub Ops<A, D>);

impl<A: SocketApp, D: Adapter> Handler for SioHandler<A, D> {
    type State = SessionSockets<A::SocketState>;

    async fn open(
        &self,
        _sid: Sid,
        mut handshake: Handshake,
    ) -> Result<Opened<Self::State>, Refusal> {
        // The engine put its own version; webhooks carry the Socket.IO protocol: 5, 4 over Engine.IO v3, and 1
        // for Socket.IO 0.9 clients.
        handshake.protocol = SioVersion::from_engine(handshake.engine).number();
        Ok(Opened {
            state: SessionSockets::new(handshake),
            messages: Vec::new(),
        })
    }

    fn opened(&self, session: &Arc<Session<Self::State>>) {
        connect_timeout::start(&self.0.timers, session);
        if SioVersion::from_engine(session.version()).v4_packets() {
            // socket.io 1.x/2.x clients are connected to `/` by the server, with the handshake query as auth.
            self.0
                .start_connect(session, "/".to_string(), handshake_auth(session));
        }
    }

    fn message(&self, session: &Arc<Session<Self::State>>, message: Message) -> Option<Wait> {
        self.0.on_message(session, message)
    }

    fn busy(&self, session: &Arc<Session<Self::State>>) -> bool {
        let app = self.0.app();
        session
            .state()
            .lock()
            .sockets
            .iter()
            .any(|socket| app.busy(socket))
    }

    fn peer(&self, session: &Arc<Session<Self::State>>) -> Option<IpAddr> {
        Some(session.state().handshake().address)
    }

    fn sio09(&self) -> Option<&dyn Sio09Codec> {
        Some(&Sio09Translator)
    }

    fn closed(&self, session: &Arc<Session<Self::State>>, reason: CloseReason) {
        self.0.on_session_closed(session, reason);
    }
}
