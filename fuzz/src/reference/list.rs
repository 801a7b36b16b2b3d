//! Entity-tag lists (RFC 9110 sections 5.6.1, 8.8.3, 13.1.1 and 13.1.2).
//!
//! The grammar: `If-Match = "*" / #entity-tag`, `entity-tag = [ "W/" ] DQUOTE *etagc
//! DQUOTE`, `etagc = %x21 / %x23-7E / obs-text`; a list allows OWS around commas and empty
//! elements. What the RFC leaves open, the reading of a malformed field, is taken from
//! the engine's documentation (`TagList`, and the rows of `tests/conformance.rs`): a
//! malformed element matches nothing and does not spoil its neighbours; it reaches to
//! the next comma, counted from where the element stopped being well-formed (from its
//! start when its quoted string is broken, from after its tag when junk follows one);
//! repeated lines are one list.

/// One element of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Element {
    Star,
    Tag { weak: bool, opaque: Vec<u8> },
    Malformed,
}

/// `etagc`.
pub(crate) fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80
}

fn ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The index of the next comma at or after `from`, or the end.
fn to_comma(line: &[u8], from: usize) -> usize {
    line[from..]
        .iter()
        .position(|&b| b == b',')
        .map_or(line.len(), |p| from + p)
}

/// The elements of one field line.
pub(crate) fn elements(line: &[u8]) -> Vec<Element> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && (ows(line[i]) || line[i] == b',') {
            i += 1;
        }
        if i == line.len() {
            return out;
        }
        let start = i;
        // The well-formed head of the element, and where it ends.
        let head = if line[i] == b'*' {
            Some((Element::Star, i + 1))
        } else {
            let (weak, quote) = if line[i..].starts_with(b"W/\"") {
                (true, i + 2)
            } else {
                (false, i)
            };
            if line[quote] == b'"' {
                let body = quote + 1;
                let len = line[body..].iter().take_while(|&&b| is_etagc(b)).count();
                (line.get(body + len) == Some(&b'"')).then(|| {
                    let opaque = line[body..body + len].to_vec();
                    (Element::Tag { weak, opaque }, body + len + 1)
                })
            } else {
                None
            }
        };
        match head {
            None => {
                out.push(Element::Malformed);
                i = to_comma(line, start);
            }
            Some((element, end)) => {
                let mut j = end;
                while j < line.len() && ows(line[j]) {
                    j += 1;
                }
                if j == line.len() || line[j] == b',' {
                    out.push(element);
                    i = j;
                } else {
                    out.push(Element::Malformed);
                    i = to_comma(line, end);
                }
            }
        }
    }
}

/// The elements of every line, in order.
pub(crate) fn all_elements<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Vec<Element> {
    lines.into_iter().flat_map(elements).collect()
}

/// Strong comparison (section 8.8.3.2): both strong, same opaque bytes.
pub(crate) fn strong_match(elements: &[Element], weak: bool, opaque: &[u8]) -> bool {
    !weak
        && elements
            .iter()
            .any(|e| matches!(e, Element::Tag { weak: false, opaque: o } if o == opaque))
}

/// Weak comparison: same opaque bytes, whatever the weakness.
pub(crate) fn weak_match(elements: &[Element], opaque: &[u8]) -> bool {
    elements
        .iter()
        .any(|e| matches!(e, Element::Tag { opaque: o, .. } if o == opaque))
}

/// Whether the list is `*` alone (once or repeated, with nothing else).
pub(crate) fn star_alone(elements: &[Element]) -> bool {
    !elements.is_empty() && elements.iter().all(|e| *e == Element::Star)
}

pub(crate) fn has_star(elements: &[Element]) -> bool {
    elements.contains(&Element::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(weak: bool, o: &str) -> Element {
        Element::Tag {
            weak,
            opaque: o.as_bytes().to_vec(),
        }
    }

    #[test]
    fn elements_of_rfc9110_lists() {
        assert_eq!(elements(b" ,\t"), []);
        assert_eq!(
            elements(b" \"a\" ,W/\"b\"\t,, \"\" "),
            [tag(false, "a"), tag(true, "b"), tag(false, "")]
        );
        assert_eq!(elements(b"\"a,b\", *"), [tag(false, "a,b"), Element::Star]);
        assert_eq!(
            elements(b"abc, \"d\""),
            [Element::Malformed, tag(false, "d")]
        );
        assert_eq!(
            elements(b"\"a,\"b\", \"c\""),
            [Element::Malformed, tag(false, "c")]
        );
        assert_eq!(
            elements(b"\"a b\", \"c\""),
            [Element::Malformed, tag(false, "c")]
        );
        assert_eq!(elements(b"**"), [Element::Malformed]);
    }
}
