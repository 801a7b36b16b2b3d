//! The secret per-user tags are sealed with: `TAG_KEY`, or 32 bytes from the system's random
//! source, and never shown in a log.

use std::fmt;

/// A secret that `Debug` never shows.
///
/// ```
/// use etag_examples::secret::Secret;
///
/// let secret = Secret::new("correct horse battery staple");
/// assert_eq!(secret.as_bytes(), b"correct horse battery staple");
/// assert_eq!(format!("{secret:?}"), "Secret(***)");
/// assert_ne!(Secret::random().unwrap(), Secret::random().unwrap());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// How many random bytes [`Secret::random`] takes.
    pub const RANDOM_LEN: usize = 32;

    /// This secret.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self(secret.into())
    }

    /// [`Secret::RANDOM_LEN`] bytes that no other process has, from the operating system's
    /// random source (`getrandom`). There is no weaker fallback: a secret another process
    /// could guess would let one caller's tags be forged for another.
    ///
    /// # Errors
    ///
    /// The system's random source is unavailable.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut secret = vec![0; Self::RANDOM_LEN];
        getrandom::fill(&mut secret)?;
        Ok(Self(secret))
    }

    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
