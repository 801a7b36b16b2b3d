//! The `Vary` field (RFC 9110 section 12.5.5): naming the request fields a response depends on.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Adds `name` to `Vary` unless it (or `*`) is already listed.
pub(crate) fn add_vary(headers: &mut HeaderMap, name: &HeaderName) {
    let listed = headers.get_all(header::VARY).iter().any(|line| {
        line.as_bytes().split(|&b| b == b',').any(|item| {
            let item = crate::etag::trim_ows(item);
            item == b"*" || item.eq_ignore_ascii_case(name.as_str().as_bytes())
        })
    });
    if !listed {
        headers.append(header::VARY, HeaderValue::from(name.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_is_added_once() {
        let mut h = HeaderMap::new();
        h.insert(
            header::VARY,
            HeaderValue::from_static("accept-encoding, Authorization"),
        );
        add_vary(&mut h, &header::AUTHORIZATION);
        add_vary(&mut h, &header::COOKIE);
        let lines: Vec<_> = h.get_all(header::VARY).iter().collect();
        assert_eq!(lines, ["accept-encoding, Authorization", "cookie"]);
    }

    #[test]
    fn a_star_already_names_everything() {
        let mut h = HeaderMap::new();
        h.insert(header::VARY, HeaderValue::from_static("*"));
        add_vary(&mut h, &header::ACCEPT_ENCODING);
        assert_eq!(h.get_all(header::VARY).iter().count(), 1);
    }
}
