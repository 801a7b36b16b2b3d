//! Serving the API on a TCP listener, within [`Limits`], and stopping gracefully.
//!
//! `axum::serve` runs hyper without a timer, so it cannot time out a request head that never
//! ends, and a connection sending one also keeps a graceful shutdown waiting for ever. Here
//! each connection is served by hyper's HTTP/1 server with a timer:
//!
//! - hyper closes a connection whose request head is not complete within the header-read
//!   timeout (`header_read_timeout`, which hyper starts as soon as it waits for a head, on a
//!   new connection and between requests on a kept-alive one);
//! - tower-http's `RequestBodyTimeout` fails a body whose next piece is late, and
//!   `Bounded` one that has not ended within the request-body deadline, however steadily
//!   it trickles in; the API answers either with 408 and closes the connection;
//! - a connection that moves no byte while none of its requests is being handled is closed
//!   after the idle timeout: hyper has no such setting for HTTP/1, so `Activity` watches
//!   the socket;
//! - a semaphore caps the connections served at once. At the cap the accept loop holds the
//!   one connection it accepted until a slot is free (further ones wait in the kernel's
//!   accept queue), and makes room by cutting off the oldest request body still arriving
//!   (`Bodies::shed_oldest`, which answers it 408), so that bodies trickling in cannot
//!   hold every slot while a new client waits;
//! - on shutdown, hyper-util's `GracefulShutdown` lets each connection finish the request it
//!   is on and then closes it; what is still open after the shutdown timeout is dropped.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::Service;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::config::Limits;
use crate::slow_bodies::{Bodies, Bounded};

/// How many connections the kernel may hold for the accept loop: tokio's `bind` (like
/// std's) asks for 128, which a burst overflows (clients that wait for a change all coming
/// back after a restart or a network blip), and each connection the kernel drops is tried
/// again by its client only a second or more later. The kernel caps it at
/// `net.core.somaxconn` (4096 on current Linux).
pub const BACKLOG: u32 = 4096;

/// Listens on `addr` (`host:port`; the first of its addresses that can be bound), with
/// [`BACKLOG`].
///
/// # Errors
///
/// The address does not resolve, or none of its addresses can be listened on.
pub async fn listen(addr: &str) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        };
        // As std's `bind` does on Unix: a restarted server may take its port back at once.
        let listener = socket.and_then(|socket| {
            #[cfg(unix)]
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            socket.listen(BACKLOG)
        });
        match listener {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets requests
/// in flight finish for up to `limits.shutdown_timeout`, and closes what is left.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let app = app.layer(RequestBodyTimeoutLayer::new(limits.request_body_timeout));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let bodies = Arc::new(Bodies::default());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Finished connections leave the set here, so that it holds only open ones.
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // A free slot, or, at the cap, the first one to come free: this connection waits
        // for it here, and the next ones in the accept queue. Meanwhile the oldest body
        // still arriving is cut off to make room.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => tokio::select! {
                () = &mut shutdown => break,
                slot = make_room(&slots, &bodies) => match slot {
                    Some(slot) => slot,
                    None => break,
                },
            },
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            stream,
            activity: activity.clone(),
        });
        let service = {
            let (app, activity, bodies) = (app.clone(), activity.clone(), bodies.clone());
            let deadline = limits.request_body_deadline;
            hyper::service::service_fn(move |request: Request<Incoming>| {
                let mut app = app.clone();
                let handling = activity.request_started();
                let request = request.map(|body| Bounded::new(body, deadline, &bodies));
                async move {
                    let response = app.call(request).await;
                    drop(handling);
                    response
                }
            })
        };
        let connection = graceful.watch(http.serve_connection(io, service));
        let idle_timeout = limits.idle_timeout;
        connections.spawn(async move {
            let _slot = slot;
            tokio::select! {
                served = connection => {
                    if let Err(e) = served {
                        tracing::debug!(%peer, error = %e, "connection closed with an error");
                    }
                }
                () = activity.idle_for(idle_timeout) => {
                    tracing::debug!(%peer, "closing an idle connection");
                }
            }
        });
    }
    drop(listener);
    let open = connections.len();
    tracing::info!(open, "stopped accepting; waiting for requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_timeout) => {
            tracing::warn!(
                open = connections.len(),
                "shutdown timeout: closing the connections still open"
            );
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// The first connection slot to come free. While it waits, it cuts off the oldest request
/// body still arriving, once, or again later if there was none: the connection it belongs
/// to answers 408 and closes, and frees its slot. `None` when the semaphore is closed.
async fn make_room(slots: &Arc<Semaphore>, bodies: &Bodies) -> Option<OwnedSemaphorePermit> {
    let mut shed = bodies.shed_oldest();
    let free = slots.clone().acquire_owned();
    let mut free = std::pin::pin!(free);
    loop {
        tokio::select! {
            slot = &mut free => return slot.ok(),
            () = tokio::time::sleep(Duration::from_millis(100)), if !shed => {
                shed = bodies.shed_oldest();
            }
        }
    }
}

/// What a connection has done lately: when it last moved a byte, and how many of its
/// requests are being handled.
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last byte read or written, or the last request
    /// finished.
    last: AtomicU64,
    handling: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    fn request_started(self: &Arc<Self>) -> Handling {
        self.handling.fetch_add(1, Ordering::Relaxed);
        Handling(self.clone())
    }

    /// Resolves once the connection has moved no byte for `timeout` while none of its
    /// requests was being handled.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last.load(Ordering::Relaxed));
            let deadline = last + timeout;
            if Instant::now() >= deadline && self.handling.load(Ordering::Relaxed) == 0 {
                return;
            }
            // While a request is being handled, look again a timeout later.
            tokio::time::sleep_until(deadline.max(Instant::now() + timeout / 4)).await;
        }
    }
}

/// A request being handled; counts as activity when it ends.
struct Handling(Arc<Activity>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.touch();
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A TCP stream that records each byte it moves in its [`Activity`].
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.stream).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.activity.touch();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.stream).poll_write(cx, buf))?;
        if written > 0 {
            self.activity.touch();
        }
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.stream).poll_write_vectored(cx, bufs))?;
        if written > 0 {
            self.activity.touch();
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    /// A burst of connections larger than the 128 tokio's `bind` asks for is held by the
    /// kernel while nothing accepts them: none has to try again later.
    #[tokio::test]
    async fn a_burst_of_connections_waits_in_the_backlog() {
        let listener = super::listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut connecting = tokio::task::JoinSet::new();
        for _ in 0..600 {
            connecting.spawn(async move {
                // A connection the kernel dropped is tried again after a second: well
                // past this.
                tokio::time::timeout(
                    Duration::from_millis(900),
                    tokio::net::TcpStream::connect(addr),
                )
                .await
            });
        }
        let mut connected = Vec::new();
        while let Some(done) = connecting.join_next().await {
            connected.push(done.unwrap().expect("connected at once").unwrap());
        }
        assert_eq!(connected.len(), 600);
        drop(listener);
    }
}
