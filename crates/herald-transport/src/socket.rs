//! Binding listener sockets with the options SIP servers need, which the standard
//! library cannot set before `bind`.
use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// Receive buffer asked for UDP listeners: bursts of REGISTER refreshes must not
/// overflow the kernel queue while the receive tasks are busy. The kernel may cap it.
const UDP_RECV_BUFFER: usize = 8 * 1024 * 1024;
/// Send buffer asked for UDP listeners.
const UDP_SEND_BUFFER: usize = 4 * 1024 * 1024;
/// Pending-connection backlog for TCP listeners.
const TCP_BACKLOG: i32 = 1024;

fn new_socket(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() {
        // So that `[::]:5060` and `0.0.0.0:5060` can both be listed, as on most systems.
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A non-blocking UDP socket bound to `addr`.
pub(crate) fn bind_udp(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP)?;
    // Buffer sizes are a tuning hint; a kernel refusing them must not stop the server.
    if let Err(e) = socket.set_recv_buffer_size(UDP_RECV_BUFFER) {
        tracing::debug!(%addr, "cannot enlarge UDP receive buffer: {e}");
    }
    if let Err(e) = socket.set_send_buffer_size(UDP_SEND_BUFFER) {
        tracing::debug!(%addr, "cannot enlarge UDP send buffer: {e}");
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// A non-blocking, listening TCP socket bound to `addr`.
pub(crate) fn bind_tcp(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP)?;
    // Lets a restarted server bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(TCP_BACKLOG)?;
    Ok(socket.into())
}
