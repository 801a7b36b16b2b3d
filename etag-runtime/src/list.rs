//! The member lists of `If-Match` and `If-None-Match` (RFC 9110 sections 13.1.1 and 13.1.2):
//! read, matched, and rewritten for the service behind a layer.

use http::HeaderValue;
use http::header::{self, HeaderMap, HeaderName};

use crate::etag::{ETag, is_etagc};

/// One member of an entity-tag list, borrowed from the header bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member<'a> {
    /// `*`
    Any,
    /// A well-formed entity-tag.
    Tag { weak: bool, opaque: &'a [u8] },
    /// Anything else: it matches nothing.
    Invalid,
}

/// Iterates the members of one field line, in one pass and without allocating.
///
/// Optional whitespace and empty members (`a,,b`) are skipped; commas inside a quoted tag
/// do not split it; a malformed member runs to the next comma and matches nothing.
pub(crate) struct Members<'a> {
    rest: &'a [u8],
}

impl<'a> Members<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Self { rest: line }
    }

    fn skip_invalid(&mut self) -> Option<Member<'a>> {
        let end = self
            .rest
            .iter()
            .position(|&b| b == b',')
            .unwrap_or(self.rest.len());
        self.rest = &self.rest[end..];
        Some(Member::Invalid)
    }
}

fn skip_ows(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    &b[n..]
}

impl<'a> Iterator for Members<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        // Skip OWS and empty members.
        let n = self
            .rest
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t' || c == b',')
            .count();
        self.rest = &self.rest[n..];
        if self.rest.is_empty() {
            return None;
        }
        let member = match self.rest {
            [b'*', tail @ ..] => {
                self.rest = tail;
                Member::Any
            }
            [b'W', b'/', b'"', tail @ ..] => match quoted(tail) {
                Some((opaque, after)) => {
                    self.rest = after;
                    Member::Tag { weak: true, opaque }
                }
                None => return self.skip_invalid(),
            },
            [b'"', tail @ ..] => match quoted(tail) {
                Some((opaque, after)) => {
                    self.rest = after;
                    Member::Tag {
                        weak: false,
                        opaque,
                    }
                }
                None => return self.skip_invalid(),
            },
            _ => return self.skip_invalid(),
        };
        // After a member: OWS, then a comma or the end.
        let after = skip_ows(self.rest);
        match after.first() {
            None | Some(b',') => {
                self.rest = after;
                Some(member)
            }
            Some(_) => self.skip_invalid(),
        }
    }
}

/// Splits `opaque"rest` at the closing quote, if every byte before it is `etagc`.
fn quoted(tail: &[u8]) -> Option<(&[u8], &[u8])> {
    for (i, &b) in tail.iter().enumerate() {
        if b == b'"' {
            return Some((&tail[..i], &tail[i + 1..]));
        }
        if !is_etagc(b) {
            return None;
        }
    }
    None
}

/// The field value of an `If-Match` or `If-None-Match` header, over all its lines.
///
/// Absent is not the same as empty: an absent field is `None` wherever one of these is
/// optional, while a present, empty or malformed field is a list that matches nothing.
///
/// # Examples
///
/// ```
/// use etag_runtime::{ETag, header::TagList};
/// use http::HeaderValue;
///
/// let lines = [HeaderValue::from_static("\"a\", W/\"b,c\""), HeaderValue::from_static("\"d\"")];
/// let list = TagList::from_lines(lines.iter());
/// assert!(list.weak_match(&ETag::strong("b,c").unwrap()));
/// assert!(!list.strong_match(&ETag::strong("b,c").unwrap()));
/// assert!(list.strong_match(&ETag::strong("d").unwrap()));
/// assert!(!list.is_any());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagList {
    lines: Lines,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Lines {
    #[default]
    Empty,
    One(HeaderValue),
    Many(Vec<HeaderValue>),
}

impl TagList {
    /// The list made of the given field lines, in order (RFC 9110 section 5.3: repeated
    /// lines combine as if joined by commas).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::header::TagList;
    /// use http::HeaderValue;
    ///
    /// let star = [HeaderValue::from_static("*")];
    /// assert!(TagList::from_lines(star.iter()).is_any());
    /// ```
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a HeaderValue>) -> Self {
        let mut iter = lines.into_iter();
        let lines = match (iter.next(), iter.next()) {
            (None, _) => Lines::Empty,
            (Some(one), None) => Lines::One(one.clone()),
            (Some(a), Some(b)) => {
                let mut v = vec![a.clone(), b.clone()];
                v.extend(iter.cloned());
                Lines::Many(v)
            }
        };
        Self { lines }
    }

    fn slices(&self) -> impl Iterator<Item = &[u8]> {
        let (one, many): (Option<&HeaderValue>, &[HeaderValue]) = match &self.lines {
            Lines::Empty => (None, &[]),
            Lines::One(v) => (Some(v), &[]),
            Lines::Many(v) => (None, v),
        };
        one.into_iter().chain(many).map(HeaderValue::as_bytes)
    }

    pub(crate) fn members(&self) -> impl Iterator<Item = Member<'_>> {
        self.slices().flat_map(Members::new)
    }

    /// Whether the field holds `*` ("any current representation").
    ///
    /// `*` is only valid alone; here a `*` among tags counts all the same, which is the
    /// safe reading of `If-None-Match` on a create-only PUT. (`If-Match` evaluation is
    /// stricter: there a `*` counts only alone.)
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::header::TagList;
    /// use http::HeaderValue;
    ///
    /// let lines = [HeaderValue::from_static("\"a\"")];
    /// assert!(!TagList::from_lines(lines.iter()).is_any());
    /// ```
    pub fn is_any(&self) -> bool {
        self.members().any(|m| m == Member::Any)
    }

    /// Whether any member strong-matches `tag` (`*` is not a tag and does not count).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{ETag, header::TagList};
    /// use http::HeaderValue;
    ///
    /// let lines = [HeaderValue::from_static("W/\"1\"")];
    /// assert!(!TagList::from_lines(lines.iter()).strong_match(&ETag::strong("1").unwrap()));
    /// ```
    pub fn strong_match(&self, tag: &ETag) -> bool {
        if tag.is_weak() {
            return false;
        }
        let want = tag.opaque().as_bytes();
        self.members()
            .any(|m| matches!(m, Member::Tag { weak: false, opaque } if opaque == want))
    }

    /// Whether any member weak-matches `tag` (`*` is not a tag and does not count).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{ETag, header::TagList};
    /// use http::HeaderValue;
    ///
    /// let lines = [HeaderValue::from_static("W/\"1\"")];
    /// assert!(TagList::from_lines(lines.iter()).weak_match(&ETag::strong("1").unwrap()));
    /// ```
    pub fn weak_match(&self, tag: &ETag) -> bool {
        let want = tag.opaque().as_bytes();
        self.members()
            .any(|m| matches!(m, Member::Tag { opaque, .. } if opaque == want))
    }

    /// Whether the list holds for a resource that exists with `current` as its tag, in one
    /// pass: a member that matches `current` (strongly or weakly), or a `*`.
    ///
    /// `*` is valid only alone. Where a `*` among other members would let a request
    /// through that it should not, it counts only alone (`star_alone`): in `If-Match`, so
    /// that `If-Match: "stale", *` cannot let a stale write through, and in the
    /// `If-None-Match` of a read, so that `*, "bar"` cannot confirm a copy the client does
    /// not name. In the `If-None-Match` of a write it counts all the same, which refuses
    /// the write: the safe reading there.
    pub(crate) fn holds_for(&self, current: Option<&ETag>, strong: bool, star_alone: bool) -> bool {
        let current = current.filter(|t| !(strong && t.is_weak()));
        // What clients send most: one line that is the current tag exactly.
        if current.is_some_and(|t| self.line_of(t).is_some()) {
            return true;
        }
        let want = current.map(|t| t.opaque().as_bytes());
        let (mut any, mut others) = (false, false);
        for member in self.members() {
            match member {
                Member::Any => any = true,
                Member::Tag { weak, opaque } => {
                    if want.is_some_and(|w| w == opaque && !(strong && weak)) {
                        return true;
                    }
                    others = true;
                }
                Member::Invalid => others = true,
            }
        }
        any && !(star_alone && others)
    }

    /// The field's line, if it is one line that is `tag`'s wire form byte for byte: then
    /// it holds for `tag` (whichever comparison), and it can be sent back as the tag's
    /// header value without copying it.
    #[inline]
    pub(crate) fn line_of(&self, tag: &ETag) -> Option<&HeaderValue> {
        match &self.lines {
            Lines::One(line) if line.as_bytes() == tag.as_str().as_bytes() => Some(line),
            _ => None,
        }
    }

    /// The well-formed strong tags of the list, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::header::TagList;
    /// use http::HeaderValue;
    ///
    /// let lines = [HeaderValue::from_static("\"1\", W/\"2\", junk, \"3\"")];
    /// let tags: Vec<String> = TagList::from_lines(lines.iter())
    ///     .strong_tags()
    ///     .map(|t| t.to_string())
    ///     .collect();
    /// assert_eq!(tags, ["\"1\"", "\"3\""]);
    /// ```
    pub fn strong_tags(&self) -> impl Iterator<Item = ETag> + '_ {
        self.members().filter_map(|m| match m {
            Member::Tag {
                weak: false,
                opaque,
            } => std::str::from_utf8(opaque)
                .ok()
                .and_then(|s| ETag::strong(s).ok()),
            _ => None,
        })
    }
}

/// Rewrites every member of the field `name` (`If-Match` or `If-None-Match`) with `map`,
/// which gets a tag's weakness and opaque part and returns the opaque part to send on, or
/// `None` to drop the member. `*` stays; malformed members are dropped (they matched
/// nothing), except in a list with `*`, where a dropped member is sent on as a malformed
/// one: `*` counts only alone, so `"stale", *` must not become `*` on the way in. A field
/// whose members are all dropped stays present and empty: it matches nothing. An absent
/// field stays absent.
pub(crate) fn rewrite_tag_list(
    headers: &mut HeaderMap,
    name: &HeaderName,
    mut map: impl FnMut(bool, &str) -> Option<String>,
) {
    if !headers.contains_key(name) {
        return;
    }
    let list = TagList::from_lines(headers.get_all(name));
    let star = list.members().any(|m| m == Member::Any);
    let mut out = String::new();
    for member in list.members() {
        let kept = match member {
            Member::Any => Some("*".to_owned()),
            Member::Tag { weak, opaque } => std::str::from_utf8(opaque)
                .ok()
                .and_then(|opaque| map(weak, opaque))
                .map(|mapped| {
                    if weak {
                        format!("W/\"{mapped}\"")
                    } else {
                        format!("\"{mapped}\"")
                    }
                }),
            Member::Invalid => None,
        };
        let kept = match kept {
            Some(kept) => kept,
            // Without `*`, a member that matches nothing can simply go.
            None if !star => continue,
            None => DROPPED.to_owned(),
        };
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&kept);
    }
    let value = HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static(""));
    headers.insert(name.clone(), value);
}

/// What a dropped member becomes: malformed (not a quoted tag, not `*`), so it matches
/// nothing.
const DROPPED: &str = "-";

/// [`rewrite_tag_list`] for both `If-Match` and `If-None-Match`.
pub(crate) fn rewrite_tag_lists(
    headers: &mut HeaderMap,
    mut map: impl FnMut(bool, &str) -> Option<String>,
) {
    rewrite_tag_list(headers, &header::IF_MATCH, &mut map);
    rewrite_tag_list(headers, &header::IF_NONE_MATCH, &mut map);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &[u8]) -> Vec<Member<'_>> {
        Members::new(s).collect()
    }

    fn tag(weak: bool, opaque: &[u8]) -> Member<'_> {
        Member::Tag { weak, opaque }
    }

    #[test]
    fn rfc9110_5_6_1_list_syntax() {
        assert_eq!(members(b""), []);
        assert_eq!(members(b" , ,\t"), []);
        assert_eq!(members(b"\"a\""), [tag(false, b"a")]);
        assert_eq!(
            members(b" \"a\" ,W/\"b\"\t,, \"\" "),
            [tag(false, b"a"), tag(true, b"b"), tag(false, b"")]
        );
        assert_eq!(
            members(b"\"a,b\", \"c\""),
            [tag(false, b"a,b"), tag(false, b"c")]
        );
        assert_eq!(members(b"*"), [Member::Any]);
    }

    #[test]
    fn malformed_members_match_nothing_and_do_not_swallow_neighbours() {
        assert_eq!(members(b"abc, \"d\""), [Member::Invalid, tag(false, b"d")]);
        assert_eq!(
            members(b"\"a\" x, \"d\""),
            [Member::Invalid, tag(false, b"d")]
        );
        assert_eq!(members(b"\"unterminated"), [Member::Invalid]);
        assert_eq!(members(b"w/\"a\""), [Member::Invalid]);
        assert_eq!(members(b"W/ \"a\""), [Member::Invalid]);
        assert_eq!(members(b"\"a b\""), [Member::Invalid]);
        assert_eq!(members(b"\"\x00\""), [Member::Invalid]);
        assert_eq!(members(b"**"), [Member::Invalid]);
    }

    #[test]
    fn huge_lists_are_linear() {
        let mut v = Vec::new();
        for i in 0..10_000 {
            v.extend_from_slice(format!("\"tag{i}\", ").as_bytes());
        }
        assert_eq!(Members::new(&v).count(), 10_000);
        let junk = vec![b'"'; 64 * 1024];
        assert_eq!(members(&junk), [Member::Invalid]);
        let commas = vec![b','; 64 * 1024];
        assert_eq!(Members::new(&commas).count(), 0);
    }
}
