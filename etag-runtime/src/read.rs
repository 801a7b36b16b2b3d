//! The read step: validators first, then the load, and a 200 that carries its own body's
//! validators ([`Conditions::read`]).

use crate::precondition::Precondition;
use crate::{Conditions, Validators, Versioned, WithValidators};

/// What the `load` of [`Conditions::read`] returns: a [`Versioned`] value, whose
/// validators it carries, or a body with the validators it was read at, as
/// `(Validators, body)` (a page read together with its collection's revision, say).
///
/// # Examples
///
/// ```
/// use etag_runtime::response::Loaded;
/// use etag_runtime::{ETag, Validators};
///
/// let v = Validators::new().with_etag(ETag::from_version(&3_u8));
/// let (validators, body) = (v.clone(), "page").into_parts();
/// assert_eq!((validators, body), (v, "page"));
/// ```
pub trait Loaded: sealed::Sealed {
    /// The body sent.
    type Body;

    /// The validators of the body, and the body.
    fn into_parts(self) -> (Validators, Self::Body);
}

mod sealed {
    pub trait Sealed {}
    impl<T: crate::Versioned> Sealed for T {}
    impl<T> Sealed for (crate::Validators, T) {}
}

impl<T: Versioned> Loaded for T {
    type Body = T;

    fn into_parts(self) -> (Validators, T) {
        (self.validators(), self)
    }
}

impl<T> Loaded for (Validators, T) {
    type Body = T;

    fn into_parts(self) -> (Validators, T) {
        self
    }
}

impl Conditions {
    /// A read whose validators come from a cheap query, decided before the expensive load,
    /// and whose 200 carries the validators of the body it sends.
    ///
    /// `validators` computes the current validators cheaply (a version and a time, a
    /// collection's revision); a 304 or 412 is answered right there, and `load` never
    /// runs. Otherwise `load` reads the body. When a write landed between the two (the
    /// body's validators are not the ones checked), the preconditions are decided again
    /// against the body's: a 304 is then still right for the client's copy, and the 200
    /// carries tags that name exactly its bytes (RFC 9110 section 8.8.1: a strong tag
    /// names one representation; a cache holding the checked tag with the newer body
    /// would later get 304s for bytes it never had).
    ///
    /// This is the safe form of [`check`](Self::check) followed by
    /// [`Checked::respond`](crate::Checked::respond), which attaches the checked
    /// validators to whatever body it is given.
    ///
    /// # Errors
    ///
    /// `validators`' and `load`'s errors as they are; the request's 304 or 412 as a
    /// [`Precondition`] converted into `E`.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Precondition, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let at = |revision: u32| Validators::new().with_etag(ETag::from_version(&revision));
    /// let mut h = HeaderMap::new();
    /// h.insert("if-none-match", "\"7\"".parse().unwrap());
    /// let conditions = Conditions::from_headers(&Method::GET, &h);
    ///
    /// // The client has revision 7, the current one: 304, and the page is never loaded.
    /// let mut loads = 0;
    /// let answer = conditions
    ///     .read(async { Ok::<_, Precondition>(at(7)) }, || async {
    ///         loads += 1;
    ///         Ok((at(7), "page at 7"))
    ///     })
    ///     .await;
    /// assert_eq!(answer.unwrap_err().status(), 304);
    /// assert_eq!(loads, 0);
    ///
    /// // Revision 8 was checked, and a write moved it to 9 before the load: the 200
    /// // carries 9, the revision of the body it sends.
    /// let page: etag_runtime::WithValidators<&str> = conditions
    ///     .read(async { Ok::<_, Precondition>(at(8)) }, || async { Ok((at(9), "page at 9")) })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(page.validators(), &at(9));
    /// # }
    /// ```
    pub async fn read<L, E, F>(
        &self,
        validators: impl Future<Output = Result<Validators, E>>,
        load: impl FnOnce() -> F,
    ) -> Result<WithValidators<L::Body>, E>
    where
        L: Loaded,
        E: From<Precondition>,
        F: Future<Output = Result<L, E>>,
    {
        let checked = self.check(validators.await?)?;
        let (current, body) = load().await?.into_parts();
        let checked = if current == checked.validators {
            checked
        } else {
            // A write landed in between: decide again against what is sent.
            self.check(current)?
        };
        Ok(checked.respond(body))
    }
}
