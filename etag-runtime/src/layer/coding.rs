//! Content-codings as the encoding layer tells them apart: the suffix each adds to a tag,
//! and the one a compressor picks from `Accept-Encoding`.

use http::header::{self, HeaderMap};

use crate::ETag;

/// The content-codings whose tags are told apart, by the suffix they add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    Identity,
    Gzip,
    Br,
    Zstd,
    Deflate,
    Compress,
}

impl Coding {
    pub(super) const ALL: [Self; 6] = [
        Self::Identity,
        Self::Gzip,
        Self::Br,
        Self::Zstd,
        Self::Deflate,
        Self::Compress,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Gzip => "gzip",
            Self::Br => "br",
            Self::Zstd => "zstd",
            Self::Deflate => "deflate",
            Self::Compress => "compress",
        }
    }

    /// The coding of a response, from its `Content-Encoding`: `Some(Identity)` without
    /// one, `None` for a coding (or a list of them) this layer does not know.
    pub(super) fn of(headers: &HeaderMap) -> Option<Self> {
        let mut lines = headers.get_all(header::CONTENT_ENCODING).iter();
        let Some(line) = lines.next() else {
            return Some(Self::Identity);
        };
        if lines.next().is_some() {
            return None;
        }
        let value = crate::etag::trim_ows(line.as_bytes());
        let value = match value {
            b"x-gzip" | b"X-GZIP" => b"gzip".as_slice(),
            b"x-compress" => b"compress".as_slice(),
            other => other,
        };
        Self::ALL
            .into_iter()
            .find(|c| value.eq_ignore_ascii_case(c.name().as_bytes()))
    }

    /// The coding a wire tag's opaque part names, and the opaque part of the tag it was
    /// made from.
    pub(super) fn split(opaque: &str) -> (&str, Self) {
        for coding in Self::ALL {
            if let Some(base) = opaque
                .strip_suffix(coding.name())
                .and_then(|rest| rest.strip_suffix('-'))
            {
                // `-identity` is added only to a tag that ends like a coded one: any other
                // spelling of an identity tag is not one this layer made.
                if coding == Self::Identity && Self::split(base).1 == Self::Identity {
                    return (opaque, Self::Identity);
                }
                return (base, coding);
            }
        }
        (opaque, Self::Identity)
    }

    /// The tag that goes out on a response of this coding: `"<opaque>-<coding>"`; an
    /// identity tag unchanged, unless it ends like a coded one (then `-identity` is added,
    /// so that it maps back to itself).
    pub(super) fn wire(self, tag: &ETag) -> ETag {
        let opaque = tag.opaque();
        let suffixed = match self {
            Self::Identity if Self::split(opaque).0.len() == opaque.len() => return tag.clone(),
            coding => format!("{opaque}-{}", coding.name()),
        };
        let made = if tag.is_weak() {
            ETag::weak(&suffixed)
        } else {
            ETag::strong(&suffixed)
        };
        // A valid opaque tag plus `-` and letters is valid.
        made.unwrap_or_else(|_| tag.clone())
    }
}

impl Coding {
    /// tower-http's preference between codings of the same q-value, lowest first
    /// (`content_encoding.rs`: identity, deflate, gzip, br, zstd); `None` for a coding it
    /// never produces.
    fn rank(self) -> Option<u8> {
        match self {
            Self::Identity => Some(0),
            Self::Deflate => Some(1),
            Self::Gzip => Some(2),
            Self::Br => Some(3),
            Self::Zstd => Some(4),
            Self::Compress => None,
        }
    }

    /// A name in `Accept-Encoding`, as tower-http reads it (`x-gzip` is gzip).
    fn accepted(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("x-gzip") {
            return Some(Self::Gzip);
        }
        Self::ALL
            .into_iter()
            .filter(|c| c.rank().is_some())
            .find(|c| name.eq_ignore_ascii_case(c.name()))
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of content-codings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Codings(pub(super) u8);

impl Codings {
    /// Every coding tower-http can produce.
    const COMPRESSED: Self = Self(
        1 << (Coding::Deflate as u8)
            | 1 << (Coding::Gzip as u8)
            | 1 << (Coding::Br as u8)
            | 1 << (Coding::Zstd as u8),
    );

    pub(super) fn with(self, coding: Coding) -> Self {
        Self(self.0 | coding.bit())
    }

    fn contains(self, coding: Coding) -> bool {
        coding == Coding::Identity || self.0 & coding.bit() != 0
    }
}

/// The coding tower-http's `CompressionLayer` picks for a request, if it produces only
/// the codings in `offered` (and identity): the accepted coding with the highest q-value,
/// ties broken by its preference; identity when none is accepted. As there, an item it
/// cannot read (an unknown coding, `*`, a malformed q-value) counts for nothing, and
/// `identity;q=0` does not keep identity from being sent (RFC 9110 section 12.5.3 lets a
/// server send it when nothing else is acceptable).
fn preferred(headers: &HeaderMap, offered: Codings) -> Coding {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|line| line.to_str().ok())
        .flat_map(|line| line.split(','))
        .filter_map(|item| {
            let mut parts = item.splitn(2, ';');
            let coding = Coding::accepted(parts.next().unwrap_or("").trim())?;
            let q = match parts.next() {
                Some(q) => qvalue(q.trim())?,
                None => 1000,
            };
            Some((coding, q))
        })
        .filter(|&(coding, q)| q > 0 && offered.contains(coding))
        .max_by_key(|&(coding, q)| (q, coding.rank()))
        .map_or(Coding::Identity, |(coding, _)| coding)
}

/// A q-value (RFC 9110 section 12.4.2) in thousandths, as tower-http reads it: `q=` then
/// `0` or `1`, and at most three decimals.
fn qvalue(text: &str) -> Option<u16> {
    let rest = text
        .strip_prefix("q=")
        .or_else(|| text.strip_prefix("Q="))?;
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let whole = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value = whole;
    for (digit, scale) in frac.bytes().zip([100, 10, 1]) {
        value += u16::from(digit - b'0') * scale;
    }
    (value <= 1000).then_some(value)
}

/// The coding of the representation a compressor behind the layer will select for this
/// request, as far as it can be known before the response: tower-http's choice among the
/// codings it has been seen to produce (`seen`). `None` when the client accepts a coding
/// the compressor may produce that has not been seen yet: no tag of the request is then
/// known to be the selected one before the response is.
pub(super) fn select(headers: &HeaderMap, seen: Codings) -> Option<Coding> {
    let likely = preferred(headers, seen);
    if likely != Coding::Identity {
        return Some(likely);
    }
    (preferred(headers, Codings::COMPRESSED) == Coding::Identity).then_some(Coding::Identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_tag_maps_back_to_one_tag_and_coding() {
        for opaque in ["7", "", "a-gzip", "a-identity", "-br", "x-y", "a-gzip-br"] {
            let tag = ETag::strong(opaque).unwrap();
            for coding in Coding::ALL {
                let wire = coding.wire(&tag);
                assert_eq!(Coding::split(wire.opaque()), (opaque, coding), "{wire}");
            }
        }
        let seven = ETag::strong("7").unwrap();
        assert_eq!(Coding::Identity.wire(&seven), seven);
        assert_eq!(Coding::Gzip.wire(&seven).to_string(), "\"7-gzip\"");
        assert_eq!(
            Coding::Br.wire(&seven.clone().into_weak()).to_string(),
            "W/\"7-br\""
        );
        assert_eq!(
            Coding::Identity
                .wire(&ETag::strong("v-gzip").unwrap())
                .to_string(),
            "\"v-gzip-identity\""
        );
    }

    #[test]
    fn content_encodings() {
        let of = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_ENCODING, v.parse().unwrap());
            Coding::of(&h)
        };
        assert_eq!(Coding::of(&HeaderMap::new()), Some(Coding::Identity));
        assert_eq!(of("gzip"), Some(Coding::Gzip));
        assert_eq!(of("x-gzip"), Some(Coding::Gzip));
        assert_eq!(of("BR"), Some(Coding::Br));
        assert_eq!(of("gzip, br"), None);
        assert_eq!(of("lzma"), None);
    }

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in value.split('|') {
            h.append(header::ACCEPT_ENCODING, line.parse().unwrap());
        }
        h
    }

    /// The cases of tower-http's `content_encoding.rs` tests, all codings offered.
    #[test]
    fn rfc9110_12_5_3_the_coding_tower_http_picks() {
        let all = Codings::COMPRESSED;
        let pick = |value: &str| preferred(&accept(value), all);
        assert_eq!(preferred(&HeaderMap::new(), all), Coding::Identity);
        assert_eq!(pick("gzip"), Coding::Gzip);
        assert_eq!(pick("gzip,br"), Coding::Br);
        assert_eq!(pick("gzip,x-gzip"), Coding::Gzip);
        assert_eq!(pick("deflate,x-gzip"), Coding::Gzip);
        assert_eq!(pick("gzip,deflate,br"), Coding::Br);
        assert_eq!(pick("gzip;q=0.5,br"), Coding::Br);
        assert_eq!(pick("gzip;q=0.5|br"), Coding::Br);
        assert_eq!(pick("gzip;q=0.5,deflate|br"), Coding::Br);
        assert_eq!(pick("gzip;q=0.8,br;q=0.5"), Coding::Gzip);
        assert_eq!(pick("gzip;q=0.995,br;q=0.999"), Coding::Br);
        assert_eq!(pick("gzip;q=0.6,deflate;q=0.8,br;q=0.5"), Coding::Deflate);
        assert_eq!(pick("invalid,gzip"), Coding::Gzip);
        assert_eq!(pick("gzip;q=0"), Coding::Identity);
        assert_eq!(pick("gzip;q=0."), Coding::Identity);
        assert_eq!(pick("gzip;q=0,br;q=0.5"), Coding::Br);
        assert_eq!(pick("gZiP"), Coding::Gzip);
        assert_eq!(pick("gzip;q=0.5,br;Q=0.8"), Coding::Br);
        assert_eq!(pick(" gzip\t; q=0.5 ,\tbr ;\tq=0.8\t"), Coding::Br);
        for bad in ["gzip;q =0.5", "gzip;q= 0.5", "gzip;q=-0.1", "gzip;q=00.5"] {
            assert_eq!(pick(bad), Coding::Identity, "{bad}");
        }
        for bad in ["gzip;q=0.5000", "gzip;q=.5", "gzip;q=1.01", "gzip;q=1.001"] {
            assert_eq!(pick(bad), Coding::Identity, "{bad}");
        }
        // `*` and `compress` name nothing it produces; identity may be preferred outright.
        assert_eq!(pick("*"), Coding::Identity);
        assert_eq!(pick("compress"), Coding::Identity);
        assert_eq!(pick("identity, gzip;q=0.5"), Coding::Identity);
        assert_eq!(pick("identity;q=0, gzip"), Coding::Gzip);
        // Only what is offered.
        let gzip_only = Codings::default().with(Coding::Gzip);
        assert_eq!(preferred(&accept("br, gzip"), gzip_only), Coding::Gzip);
        assert_eq!(preferred(&accept("br"), gzip_only), Coding::Identity);
    }

    #[test]
    fn rfc9110_13_1_2_the_selected_coding_is_known_among_the_codings_seen() {
        let none = Codings::default();
        let gzip_br = none.with(Coding::Gzip).with(Coding::Br);
        let chrome = accept("gzip, deflate, br, zstd");
        // A server seen to produce gzip and br, not zstd: br.
        assert_eq!(select(&chrome, gzip_br), Some(Coding::Br));
        assert_eq!(select(&accept("gzip"), gzip_br), Some(Coding::Gzip));
        // Nothing seen yet, but codings accepted: not known before the response.
        assert_eq!(select(&chrome, none), None);
        assert_eq!(select(&accept("zstd"), gzip_br), None);
        // No coding accepted: identity, whatever was seen.
        for value in [
            "identity",
            "br;q=0",
            "*",
            "compress",
            "identity, gzip;q=0.5",
        ] {
            assert_eq!(
                select(&accept(value), gzip_br),
                Some(Coding::Identity),
                "{value}"
            );
            assert_eq!(
                select(&accept(value), none),
                Some(Coding::Identity),
                "{value}"
            );
        }
        assert_eq!(select(&HeaderMap::new(), none), Some(Coding::Identity));
    }
}
