//! What the write step hands the application: the [`Guard`] its statement must check, and
//! [`Idempotent`], the write step that answers an already-applied change with success.
//! The step itself is [`Conditions::write`].

use crate::precondition::Precondition;
use crate::{Conditions, Versioned};

/// How many times [`Conditions::write`] reads and tries again after its statement found
/// the resource changed, before it answers 503. Each lost race means another write
/// landed in between; ten in a row is contention no retry here would resolve.
const ATTEMPTS: usize = 10;

/// What a write's statement must still find for the request's preconditions to hold,
/// handed to the `write` closure of [`Conditions::write`] with the state that was read.
///
/// It follows from the preconditions, so that the statement checks no more than they
/// ask and a concurrent write makes it miss only where they could change their answer:
///
/// | the request | the guard | the statement |
/// |---|---|---|
/// | no current state, and the preconditions allow writing (`If-None-Match: *`, or none) | `Absent` | `INSERT ... ON CONFLICT DO NOTHING` |
/// | `If-Match: *`, or no precondition | `Exists(state)` | `UPDATE ... WHERE id = $1` |
/// | `If-Match` with tags, `If-Unmodified-Since`, `If-None-Match` with tags | `Unchanged(state)` | `UPDATE ... WHERE id = $1 AND version = $2` |
///
/// A write whose new content is computed from the state (a PATCH, an increment) must
/// check the version whatever the guard: match `Exists(state) | Unchanged(state)` and
/// put `state`'s version in the `WHERE`.
///
/// # Examples
///
/// ```
/// use etag_runtime::write::Guard;
///
/// // UPDATE notes SET ... WHERE id = $1 AND ($2 IS NULL OR version = $2)
/// let bind = |guard: &Guard<i64>| guard.expected().copied();
/// assert_eq!(bind(&Guard::Unchanged(4)), Some(4));
/// assert_eq!(bind(&Guard::Exists(4)), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "write with a statement that checks what the guard says"]
pub enum Guard<S> {
    /// The resource does not exist: create it only if it still does not.
    Absent,
    /// The resource exists as `S`: write if it still exists, whatever its version.
    Exists(S),
    /// The resource exists as `S`: write only if it is still at `S`'s version.
    Unchanged(S),
}

impl<S> Guard<S> {
    /// The state whose version the statement must still find: `Some` for
    /// [`Unchanged`](Self::Unchanged) only.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::write::Guard;
    ///
    /// assert_eq!(Guard::Unchanged("v4").expected(), Some(&"v4"));
    /// assert_eq!(Guard::<&str>::Absent.expected(), None);
    /// ```
    pub fn expected(&self) -> Option<&S> {
        match self {
            Self::Unchanged(state) => Some(state),
            Self::Absent | Self::Exists(_) => None,
        }
    }
}

/// A [`Conditions::write`] that answers a request whose change is already there with
/// success rather than 412: made by [`Conditions::idempotent`].
///
/// # Examples
///
/// See [`Conditions::idempotent`].
#[derive(Debug)]
#[must_use = "run it with `.write(read, write).await`"]
pub struct Idempotent<'c, F> {
    conditions: &'c Conditions,
    applied: F,
}

impl Conditions {
    /// A write whose preconditions are decided against the state it writes over: reads
    /// the current state, evaluates the preconditions against it (RFC 9110 section
    /// 13.2.2), and writes with a statement guarded by what they require ([`Guard`]).
    /// When the statement finds the resource changed in between (another writer won the
    /// race), it reads again and decides again, so that:
    ///
    /// - a 412 is answered only when the preconditions are false against a state that
    ///   was current when it was read: `If-Match: *` on a resource that exists, or an
    ///   `If-Match` list naming the current tag, never gets 412 for a lost race;
    /// - a stale write never overwrites a newer one: the statement only lands on the
    ///   state the preconditions held for.
    ///
    /// `read` returns the current state (`None`: the resource does not exist). `write`
    /// runs the guarded statement and returns what it wrote, or `None` when it changed
    /// nothing because the guard no longer held (zero rows). After 10 such lost races
    /// in a row it answers 503 with `Retry-After`.
    ///
    /// A route that cannot create answers its 404 from `write` on [`Guard::Absent`]
    /// (an `If-Match` on a missing resource has already answered 412 by then), or from
    /// `read`, which also keeps the 404 ahead of the preconditions (RFC 9110 section
    /// 13.2.1).
    ///
    /// Both are closures that return a future: `|| async { ... }` and
    /// `|guard| async move { ... }`, with what `write` uses bound by reference first
    /// (`let store = &app.store;`), so that its `async move` block copies the reference.
    /// They are not `async` closures: rustc cannot yet prove an axum handler's future
    /// `Send` when it holds an `async` closure's future that borrows captured state.
    ///
    /// # Errors
    ///
    /// `read`'s and `write`'s errors as they are; the request's 304, 412, 428 or 503 as a
    /// [`Precondition`] converted into `E`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use etag_runtime::write::Guard;
    /// use etag_runtime::{Conditions, ETag, Precondition, Versioned};
    /// use http::{HeaderMap, Method};
    ///
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct Note { text: String, version: i64 }
    /// impl Versioned for Note {
    ///     fn etag(&self) -> ETag { ETag::from_version(&self.version) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let table = Mutex::new(Some(Note { text: "a".into(), version: 1 }));
    /// let row = &table;
    /// let mut h = HeaderMap::new();
    /// h.insert("if-match", "*".parse().unwrap());
    /// let conditions = Conditions::from_headers(&Method::PUT, &h);
    /// let written = conditions
    ///     .write(
    ///         || async { Ok::<_, Precondition>(row.lock().unwrap().clone()) },
    ///         |guard| async move {
    ///             let mut row = row.lock().unwrap();
    ///             // UPDATE notes SET text = 'b', version = version + 1 WHERE id = 1
    ///             //   AND ($2 IS NULL OR version = $2) RETURNING *
    ///             let found = match (&*row, &guard) {
    ///                 (Some(now), Guard::Unchanged(read)) => now.version == read.version,
    ///                 (Some(_), Guard::Exists(_)) => true,
    ///                 _ => false,
    ///             };
    ///             if !found {
    ///                 return Ok(None); // zero rows: read again and decide again
    ///             }
    ///             let next = Note { text: "b".into(), version: row.as_ref().unwrap().version + 1 };
    ///             *row = Some(next.clone());
    ///             Ok(Some(next))
    ///         },
    ///     )
    ///     .await
    ///     .unwrap();
    /// assert_eq!(written, Note { text: "b".into(), version: 2 });
    /// # }
    /// ```
    pub async fn write<S, T, E, R, W>(
        &self,
        read: impl FnMut() -> R,
        write: impl FnMut(Guard<S>) -> W,
    ) -> Result<T, E>
    where
        S: Versioned,
        E: From<Precondition>,
        R: Future<Output = Result<Option<S>, E>>,
        W: Future<Output = Result<Option<T>, E>>,
    {
        self.idempotent(|_: Option<S>| None)
            .write(read, write)
            .await
    }

    /// [`write`](Self::write), answering with success rather than 412 when the request's
    /// change is already there: a client that retries a write whose first answer it never
    /// got (its own change moved the version it names) gets 2xx, as RFC 9110 section 13.1.1
    /// allows when "the requested change has already been applied".
    ///
    /// When the preconditions fail against the state read (`None`: there is none),
    /// `applied` decides whether that state is what this request asked for, and if so
    /// returns the answer to send. The application knows what "the same" means: the
    /// stored fields equal to the request's (`PartialEq`), or a request id stored with
    /// the row. A DELETE is applied when the resource is gone. Do not call a change
    /// applied because it would be harmless to re-apply: an increment is never applied.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Precondition, Versioned};
    /// use http::{HeaderMap, Method};
    ///
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct Note { text: String, version: i64 }
    /// impl Versioned for Note {
    ///     fn etag(&self) -> ETag { ETag::from_version(&self.version) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // The first PUT of "b" with If-Match: "1" was applied, but its answer was lost.
    /// let row = Note { text: "b".into(), version: 2 };
    /// let mut h = HeaderMap::new();
    /// h.insert("if-match", "\"1\"".parse().unwrap());
    /// let retry = Conditions::from_headers(&Method::PUT, &h);
    /// let answer = retry
    ///     .idempotent(|current: Option<Note>| current.filter(|note| note.text == "b"))
    ///     .write(
    ///         || async { Ok::<_, Precondition>(Some(row.clone())) },
    ///         |_guard| async { unreachable!("the precondition fails: nothing is written") },
    ///     )
    ///     .await;
    /// assert_eq!(answer.unwrap(), row);
    /// # }
    /// ```
    pub fn idempotent<F>(&self, applied: F) -> Idempotent<'_, F> {
        Idempotent {
            conditions: self,
            applied,
        }
    }

    /// The guard of a write over `current`, or the answer its preconditions give.
    #[allow(clippy::type_complexity)]
    fn guard<S: Versioned>(
        &self,
        current: Option<S>,
    ) -> Result<Guard<S>, (Precondition, Option<S>)> {
        let Some(state) = current else {
            return match self.check_absent() {
                Ok(()) => Ok(Guard::Absent),
                Err(refused) => Err((refused, None)),
            };
        };
        let validators = state.validators();
        // If-Unmodified-Since is ignored for a resource without a modification date.
        if validators.last_modified().is_none()
            && let Err(refused) = self.require_without_date()
        {
            return Err((refused, Some(state)));
        }
        let by_date = validators.last_modified().is_some() && self.if_unmodified_since().is_some();
        let needs_version = match (self.if_match(), self.if_none_match()) {
            (Some(list), _) if !list.is_any() => true,
            (Some(_), _) => false,
            (None, none_match) => by_date || none_match.is_some(),
        };
        match self.check(validators) {
            Ok(_) if needs_version => Ok(Guard::Unchanged(state)),
            Ok(_) => Ok(Guard::Exists(state)),
            Err(refused) => Err((refused, Some(state))),
        }
    }
}

impl<F> Idempotent<'_, F> {
    /// Runs the write: [`Conditions::write`], with `applied` consulted before a 412.
    ///
    /// # Errors
    ///
    /// As [`Conditions::write`].
    ///
    /// # Examples
    ///
    /// See [`Conditions::idempotent`].
    pub async fn write<S, T, E, R, W>(
        mut self,
        mut read: impl FnMut() -> R,
        mut write: impl FnMut(Guard<S>) -> W,
    ) -> Result<T, E>
    where
        S: Versioned,
        E: From<Precondition>,
        F: FnMut(Option<S>) -> Option<T>,
        R: Future<Output = Result<Option<S>, E>>,
        W: Future<Output = Result<Option<T>, E>>,
    {
        for attempt in 1..=ATTEMPTS {
            let guard = match self.conditions.guard(read().await?) {
                Ok(guard) => guard,
                Err((refused, state)) => {
                    if refused.status() == http::StatusCode::PRECONDITION_FAILED
                        && let Some(answer) = (self.applied)(state)
                    {
                        tracing::debug!(
                            method = %self.conditions.method(),
                            "the preconditions failed, but the requested change is already there"
                        );
                        return Ok(answer);
                    }
                    return Err(refused.into());
                }
            };
            if let Some(written) = write(guard).await? {
                return Ok(written);
            }
            tracing::debug!(
                method = %self.conditions.method(),
                attempt,
                "the guarded write found the resource changed: reading it again"
            );
        }
        Err(Precondition::contended(self.conditions.method()).into())
    }
}
