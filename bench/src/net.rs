//! Outgoing TCP connections spread over several loopback source addresses, so one process can hold more
//! connections to one server port than one source address has ephemeral ports.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::{TcpSocket, TcpStream};

/// Source addresses to connect from, used in turn.
pub struct Sources {
    addrs: Vec<Ipv4Addr>,
    next: AtomicUsize,
}

impl Sources {
    /// `count` loopback source addresses, 127.0.0.2 upwards; 0 lets the kernel choose (127.0.0.1).
    pub fn loopback(count: usize) -> Self {
        let addrs = (0..count.min(250))
            .map(|i| Ipv4Addr::new(127, 0, 0, 2 + i as u8))
            .collect();
        Self {
            addrs,
            next: AtomicUsize::new(0),
        }
    }

    /// Connects to `dst` from the next source address. A source whose ports are exhausted (`EADDRNOTAVAIL`) is
    /// skipped for the next one. Nagle is off.
    pub async fn connect(&self, dst: SocketAddr) -> io::Result<TcpStream> {
        if self.addrs.is_empty() || !dst.ip().is_loopback() {
            let stream = TcpStream::connect(dst).await?;
            stream.set_nodelay(true)?;
            return Ok(stream);
        }
        let mut last = None;
        for _ in 0..self.addrs.len() {
            let ip = self.addrs[self.next.fetch_add(1, Ordering::Relaxed) % self.addrs.len()];
            let socket = TcpSocket::new_v4()?;
            bind_address_no_port(&socket);
            socket.bind(SocketAddr::from((ip, 0)))?;
            match socket.connect(dst).await {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(stream);
                }
                Err(error) if error.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
                    last = Some(error)
                }
                Err(error) => return Err(error),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no source address left")))
    }
}

/// Lets the kernel pick the source port at connect time (per destination), not at bind time (per address).
fn bind_address_no_port(socket: &TcpSocket) {
    let one: libc::c_int = 1;
    // SAFETY: a valid socket fd and a pointer to an int that outlives the call.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// A free port on 127.0.0.1 (bound, then released).
pub fn free_port() -> io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
