//! Slow request bodies (slowloris, CVE-2007-6750): a deadline for the whole body, and, at
//! the connection cap, cutting off the oldest body still arriving to make room for a new
//! client.
//!
//! tower-http's `TimeoutBody` (the request-body timeout) bounds the wait for each piece of
//! a body, so a client sending a byte a second is never timed out by it. `Bounded` also
//! bounds the whole body: it fails once the request-body deadline has passed since the
//! request's head was read. And each body being read is listed in `Bodies`, oldest
//! first, so that the accept loop can cut one off when every connection slot is taken and
//! a new client waits (`Bodies::shed_oldest`). Either way the handler's extractor fails
//! with [`SlowBody`], which the API answers with 408 and `Connection: close`.
//!
//! tower-http 0.7 has a whole-body deadline of its own (`RequestBodyDeadlineLayer`); the
//! workspace is on 0.6, which reqwest builds too.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::BoxError;
use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// Why a request body was cut off before it ended.
///
/// ```
/// use std::time::Duration;
/// use etag_examples::slow_bodies::SlowBody;
///
/// let late = SlowBody::Deadline(Duration::from_secs(30));
/// assert!(late.to_string().contains("30s"));
/// assert!(SlowBody::Shed.to_string().contains("connection"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowBody {
    /// The whole body had not arrived within the request-body deadline.
    Deadline(Duration),
    /// Every connection slot was taken and a new client waited: this was the oldest body
    /// still arriving.
    Shed,
}

impl fmt::Display for SlowBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deadline(deadline) => write!(
                f,
                "the request body did not arrive whole within the request-body deadline \
                 ({deadline:?})"
            ),
            Self::Shed => f.write_str(
                "the request body was still arriving when every connection was taken and \
                 another client waited; this was the oldest",
            ),
        }
    }
}

impl std::error::Error for SlowBody {}

/// The request bodies being read, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Bodies {
    next: AtomicU64,
    reading: Mutex<BTreeMap<u64, Arc<Cut>>>,
}

impl Bodies {
    fn reading(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<Cut>>> {
        self.reading.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cuts off the oldest body being read, if there is one: its next read fails with
    /// [`SlowBody::Shed`]. Whether there was one.
    pub(crate) fn shed_oldest(&self) -> bool {
        let oldest = self.reading().pop_first();
        match oldest {
            Some((_, cut)) => {
                cut.cut();
                true
            }
            None => false,
        }
    }

    fn register(self: &Arc<Self>) -> Reading {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let cut = Arc::new(Cut::default());
        self.reading().insert(id, cut.clone());
        Reading {
            id,
            cut,
            bodies: self.clone(),
        }
    }
}

/// Set by [`Bodies::shed_oldest`], and seen by the body's next poll.
#[derive(Debug, Default)]
struct Cut {
    cut: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Cut {
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether the body was cut off; if not, `cx` is woken when it is.
    fn is_cut(&self, cx: &Context<'_>) -> bool {
        if self.cut.load(Ordering::SeqCst) {
            return true;
        }
        *self.waker.lock().unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        self.cut.load(Ordering::SeqCst)
    }
}

/// A body in [`Bodies`]: listed until it ends or is dropped.
#[derive(Debug)]
struct Reading {
    id: u64,
    cut: Arc<Cut>,
    bodies: Arc<Bodies>,
}

impl Drop for Reading {
    fn drop(&mut self) {
        self.bodies.reading().remove(&self.id);
    }
}

/// A request body that must end within a deadline of its start, and that
/// [`Bodies::shed_oldest`] can cut off; it fails with [`SlowBody`] then.
#[derive(Debug)]
pub(crate) struct Bounded<B> {
    inner: B,
    /// While the body is arriving: its place in [`Bodies`], the deadline, and its length.
    arriving: Option<(Reading, Pin<Box<Sleep>>, Duration)>,
    failed: bool,
}

impl<B: Body> Bounded<B> {
    /// `inner`, which must end within `deadline` from now; a body that has ended already
    /// (a `GET`'s) is neither timed nor listed.
    pub(crate) fn new(inner: B, deadline: Duration, bodies: &Arc<Bodies>) -> Self {
        let arriving = (!inner.is_end_stream()).then(|| {
            (
                bodies.register(),
                Box::pin(tokio::time::sleep(deadline)),
                deadline,
            )
        });
        Self {
            inner,
            arriving,
            failed: false,
        }
    }
}

impl<B> Body for Bounded<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let Some((reading, deadline, length)) = &mut this.arriving else {
            return Pin::new(&mut this.inner).poll_frame(cx).map_err(Into::into);
        };
        let why = if reading.cut.is_cut(cx) {
            Some(SlowBody::Shed)
        } else if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if frame.is_none() || this.inner.is_end_stream() {
                this.arriving = None;
            }
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        } else if deadline.as_mut().poll(cx).is_ready() {
            Some(SlowBody::Deadline(*length))
        } else {
            None
        };
        match why {
            Some(why) => {
                this.arriving = None;
                this.failed = true;
                Poll::Ready(Some(Err(Box::new(why))))
            }
            None => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.failed {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    fn trickle() -> impl Body<Data = Bytes, Error = std::convert::Infallible> + Unpin {
        let frames = futures_util::stream::unfold(0, |i| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((Ok(Frame::data(Bytes::from_static(b" "))), i + 1))
        });
        StreamBody::new(Box::pin(frames))
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_fails_at_the_deadline_and_leaves_the_list() {
        let bodies = Arc::new(Bodies::default());
        let body = Bounded::new(trickle(), Duration::from_secs(1), &bodies);
        assert_eq!(bodies.reading().len(), 1);
        let started = tokio::time::Instant::now();
        let error = body.collect().await.unwrap_err();
        assert_eq!(
            error.downcast_ref::<SlowBody>(),
            Some(&SlowBody::Deadline(Duration::from_secs(1)))
        );
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        assert!(bodies.reading().is_empty());
        assert!(!bodies.shed_oldest());
    }

    #[tokio::test(start_paused = true)]
    async fn the_oldest_body_is_shed_first() {
        let bodies = Arc::new(Bodies::default());
        let old = Bounded::new(trickle(), Duration::from_secs(60), &bodies);
        let new = Bounded::new(trickle(), Duration::from_secs(60), &bodies);
        let old = tokio::spawn(old.collect());
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(bodies.shed_oldest());
        let error = old.await.unwrap().unwrap_err();
        assert_eq!(error.downcast_ref::<SlowBody>(), Some(&SlowBody::Shed));
        assert_eq!(bodies.reading().len(), 1);
        drop(new);
        assert!(bodies.reading().is_empty());
    }

    #[tokio::test]
    async fn a_body_that_ends_in_time_is_whole() {
        let bodies = Arc::new(Bodies::default());
        let body = Bounded::new(
            http_body_util::Full::new(Bytes::from_static(b"{}")),
            Duration::from_secs(1),
            &bodies,
        );
        assert_eq!(body.collect().await.unwrap().to_bytes(), "{}");
        assert!(bodies.reading().is_empty());
    }
}
