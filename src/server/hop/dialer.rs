//! Opening connections to peer nodes: within the connect timeout, with `TCP_NODELAY`, and from this node's
//! advertised address when that is an address of this machine. The peer recognises connections from an
//! advertised address as a node's and does not count them against `max_connections_per_ip` (it counts the
//! clients whose requests they carry); a connection from another address of this machine (the one the system
//! would pick) would be counted, and a busy node would use up the bound and be refused by the others.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};

/// How this node connects to its peers.
#[derive(Debug, Clone, Copy)]
pub struct Dialer {
    /// The address connections come from, when set.
    source: Option<IpAddr>,
    /// The longest a connection may take to open.
    timeout: Duration,
}

impl Dialer {
    /// Connections from `source` (when set), opened within `timeout`.
    pub fn new(source: Option<IpAddr>, timeout: Duration) -> Self {
        Self { source, timeout }
    }

    /// A connection to `address` (`host:port`) within the timeout, with `TCP_NODELAY`. From the source address
    /// when one is set and the system takes it; else (not an address of this machine, or the connection from it
    /// fails) from the address the system picks.
    pub async fn connect(&self, address: &str) -> io::Result<TcpStream> {
        let connecting = async {
            if let Some(source) = self.source
                && let Ok(stream) = connect_from(source, address).await
            {
                return Ok(stream);
            }
            TcpStream::connect(address).await
        };
        let stream = tokio::time::timeout(self.timeout, connecting)
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// A connection to the first address of `address` in the family of `source`, from `source`.
async fn connect_from(source: IpAddr, address: &str) -> io::Result<TcpStream> {
    let target = tokio::net::lookup_host(address)
        .await?
        .find(|target| target.is_ipv4() == source.is_ipv4())
        .ok_or_else(|| io::Error::from(io::ErrorKind::AddrNotAvailable))?;
    let socket = if source.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(target).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn source_seen(dialer: Dialer) -> IpAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let _stream = dialer.connect(&address).await.unwrap();
        let (_, from) = listener.accept().await.unwrap();
        from.ip()
    }

    #[tokio::test]
    async fn connections_come_from_the_source_address_when_the_machine_has_it() {
        let timeout = Duration::from_secs(1);
        let source: IpAddr = "127.0.0.2".parse().unwrap();
        assert_eq!(
            source_seen(Dialer::new(Some(source), timeout)).await,
            source
        );
        // Not an address of this machine: the system picks one.
        let elsewhere: IpAddr = "192.0.2.7".parse().unwrap();
        let seen = source_seen(Dialer::new(Some(elsewhere), timeout)).await;
        assert!(seen.is_loopback(), "{seen}");
        assert!(source_seen(Dialer::new(None, timeout)).await.is_loopback());
    }
}
