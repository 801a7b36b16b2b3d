//! The properties the fuzz targets of etag-runtime check, one function per target.
//!
//! Each function takes raw fuzzer bytes, drives etag-runtime's public API with them (the
//! parsers, `Conditions::evaluate`, or a real axum `Router` with `#[etag]` handlers and
//! the crate's layers), and panics when a property does not hold. The libFuzzer targets
//! in `libfuzzer/` are one call each; `tests/` replays the committed corpora and random
//! inputs through the same functions under `cargo test`.
//!
//! The differential checks compare the engine with references written here from RFC 9110
//! ([`reference`](crate) modules: HTTP-dates, entity-tag lists, byte ranges and the
//! section 13.2.2 decision) and, for HTTP-dates, with `httpdate` on the forms it reads
//! right.

mod app;
mod checks;
mod reference;

pub use checks::{
    Check, TARGETS, coded_tags, decision, etag, http_date, range, request, sealed_tags, tag_list,
};

/// Engine bugs the fuzzers found that are not fixed yet. Each has an ignored regression
/// test in `tests/regressions.rs`; while its flag is `true`, the checks pass over the
/// inputs it concerns (and only those), so that the fuzz runs look for other bugs. Once
/// the engine is fixed: set the flag to `false` and remove the `#[ignore]`.
#[derive(Debug, Clone, Copy)]
pub struct KnownEngineBugs {
    /// `format_http_date` of a time before 0001-01-01 writes "01 Jan 0001" with the
    /// weekday and time of day of the real instant: not a valid HTTP-date (the engine's
    /// own parser refuses it).
    pub format_before_year_1: bool,
    /// `*` mixed with members that the per-user or per-coding rewriting of
    /// `If-None-Match` drops (tags that do not open for the principal, malformed members):
    /// once dropped, the `*` stands alone and a GET gets a 304 that the same field
    /// without the layer (a `*` among other members confirms no copy) does not get.
    pub star_among_dropped_members: bool,
    /// Behind `EncodingTagsLayer`, an `If-None-Match` member that spells a (tag, coding)
    /// pair other than the way it is sent (`"1-identity"` for the identity tag `"1"`)
    /// matches, and the 304 carries the canonical spelling: a tag neither the 200 to
    /// this request carries (RFC 9110 section 15.4.5) nor the client named.
    pub respelled_coded_tag_in_304: bool,
    /// Behind `EncodingTagsLayer` and `CompressionLayer`, a 304 decided without
    /// `If-None-Match` (by `If-Modified-Since`) to a client that accepts gzip carries the
    /// gzip tag (`"2-gzip"`) when the 200 went out uncompressed (a body under the
    /// compressor's size threshold) with `"2"`: not the 200's tag (RFC 9110 section
    /// 15.4.5), so a cache cannot tell which stored response it freshens.
    pub coded_304_without_members: bool,
    /// A `Range` whose unit is `bytes` wrapped in Unicode whitespace other than SP and
    /// HTAB (`"bytes\u{a0}=0-1"`) is served: the engine trims the unit with
    /// `str::trim`. RFC 9110 section 14.2: a range unit the server does not understand
    /// must be ignored.
    pub unicode_space_around_range_unit: bool,
}

/// The engine bugs known today.
///
/// # Examples
///
/// ```
/// // Every engine bug the fuzz targets found is fixed: the checks pass over no input.
/// let known = etag_fuzz::KNOWN_ENGINE_BUGS;
/// assert!(!known.format_before_year_1 && !known.star_among_dropped_members);
/// assert!(!known.respelled_coded_tag_in_304 && !known.coded_304_without_members);
/// assert!(!known.unicode_space_around_range_unit);
/// ```
pub const KNOWN_ENGINE_BUGS: KnownEngineBugs = KnownEngineBugs {
    format_before_year_1: false,
    star_among_dropped_members: false,
    respelled_coded_tag_in_304: false,
    coded_304_without_members: false,
    unicode_space_around_range_unit: false,
};
