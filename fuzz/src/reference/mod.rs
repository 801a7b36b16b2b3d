//! References written from RFC 9110, independently of the engine's code.

pub(crate) mod date;
pub(crate) mod decision;
pub(crate) mod list;
pub(crate) mod range;
