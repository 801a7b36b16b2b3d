//! Byte ranges (RFC 9110 section 14.1), one byte at a time.
//!
//! `Range = ranges-specifier`, `ranges-specifier = range-unit "=" range-set`, `range-set =
//! 1#range-spec`, `int-range = first-pos "-" [ last-pos ]` (invalid when `last-pos <
//! first-pos`), `suffix-range = "-" suffix-length`. The unit is case-insensitive
//! (section 14.1); SP and HTAB around the unit are taken as the field's OWS.

/// What a `Range` value asks for over a representation of known length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not a valid `bytes` range set: to be ignored (section 14.2).
    Ignore,
    /// A valid set: `selected[i]` says whether byte `i` is asked for; `specs` is how many
    /// range-specs the set has. `lenient`: the set is valid only if positions are read
    /// as 64-bit numbers (a `last-pos < first-pos`, both past 2^64, read as one
    /// unsatisfiable range); strictly it is invalid, and may be ignored.
    Select {
        selected: Vec<bool>,
        specs: usize,
        lenient: bool,
    },
}

fn number(s: &str) -> Option<u128> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Past u128 is past any body as well.
    Some(s.parse().unwrap_or(u128::MAX))
}

/// Reads `value` over a representation of `len` bytes.
pub(crate) fn verdict(value: &[u8], len: usize) -> Verdict {
    let Ok(text) = std::str::from_utf8(value) else {
        return Verdict::Ignore;
    };
    let Some(eq) = text.find('=') else {
        return Verdict::Ignore;
    };
    let unit = text[..eq].trim_matches(|c| c == ' ' || c == '\t');
    if !unit.eq_ignore_ascii_case("bytes") {
        return Verdict::Ignore;
    }
    let mut selected = vec![false; len];
    let mut specs = 0;
    let mut lenient = false;
    for element in text[eq + 1..].split(',') {
        let element = element.trim_matches(|c| c == ' ' || c == '\t');
        if element.is_empty() {
            continue;
        }
        specs += 1;
        let Some(dash) = element.find('-') else {
            return Verdict::Ignore;
        };
        let (first, last) = (&element[..dash], &element[dash + 1..]);
        let (from, to) = if first.is_empty() {
            let Some(n) = number(last) else {
                return Verdict::Ignore;
            };
            // The last n bytes: all of them when n is at least the length.
            (len as u128 - n.min(len as u128), len as u128)
        } else {
            let Some(a) = number(first) else {
                return Verdict::Ignore;
            };
            let b = if last.is_empty() {
                u128::MAX
            } else {
                match number(last) {
                    Some(b) if b >= a => b,
                    Some(b) if b > u128::from(u64::MAX) => {
                        lenient = true;
                        continue;
                    }
                    _ => return Verdict::Ignore,
                }
            };
            (a, b.saturating_add(1))
        };
        for (i, s) in selected.iter_mut().enumerate() {
            let i = i as u128;
            if from <= i && i < to {
                *s = true;
            }
        }
    }
    if specs == 0 {
        return Verdict::Ignore;
    }
    Verdict::Select {
        selected,
        specs,
        lenient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9110_14_1_2_examples() {
        let sel = |v: &str, len| match verdict(v.as_bytes(), len) {
            Verdict::Select { selected, .. } => Some(
                selected
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| **s)
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>(),
            ),
            Verdict::Ignore => None,
        };
        assert_eq!(sel("bytes=0-1", 4), Some(vec![0, 1]));
        assert_eq!(sel("bytes=-2", 4), Some(vec![2, 3]));
        assert_eq!(sel("bytes=-0", 4), Some(vec![]));
        assert_eq!(sel("bytes=2-, 0-0", 4), Some(vec![0, 2, 3]));
        assert_eq!(sel("bytes=3-1", 4), None);
        assert_eq!(sel("bytes=", 4), None);
        assert_eq!(sel("bytes=1-2-3", 4), None);
        assert_eq!(sel("Bytes = 9-", 4), Some(vec![]));
    }
}
