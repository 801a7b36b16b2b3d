//! What the handlers read from a request: a product's id from its path, a product body, and
//! the list's query, each accepted in one spelling only.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::value::MapAccessDeserializer;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::model::{NewProduct, PageRequest};
use crate::problem::Problem;
use crate::store::{MAX_ID, MIN_ID};

/// `/products/{id}`: an id in [`MIN_ID`]`..=`[`MAX_ID`], written the one way the API writes
/// it (plain decimal: no sign, no leading zero, no percent-encoding). Anything else names no
/// product (404), so that every product has exactly one URL and caches keep one copy of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProductId(pub(crate) i64);

impl ProductId {
    /// The id that `segment`, the last path segment exactly as the client sent it, names.
    pub(crate) fn parse(segment: &str) -> Result<Self, Problem> {
        let canonical = !segment.is_empty()
            && segment.bytes().all(|b| b.is_ascii_digit())
            && !segment.starts_with('0');
        if !canonical {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                format!(
                    "There is no product at /products/{segment}: a product's URL has its id \
                     in plain decimal digits, with no sign, leading zero or percent-encoding \
                     (/products/1)."
                ),
            ));
        }
        segment
            .parse::<i64>()
            .ok()
            .filter(|id| (MIN_ID..=MAX_ID).contains(id))
            .map(Self)
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::NOT_FOUND,
                    format!(
                        "There is no product {segment}: product ids are integers from \
                         {MIN_ID} to {MAX_ID}."
                    ),
                )
            })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ProductId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The route is `/products/{id}`: the id is the last segment. It is read as sent, not
        // percent-decoded, so that `/products/%31` is not a second URL for product 1.
        let segment = parts.uri.path().rsplit('/').next().unwrap_or_default();
        Self::parse(segment)
    }
}

/// The body of `POST /products` and `PUT /products/{id}`, and what a merge patch must
/// produce: a JSON object. The read-only fields of a product may be sent back as they were
/// received; they are ignored. Any other field is refused (422), and so is anything that is
/// not an object: serde's derived `Deserialize` would also take an array of the fields in
/// order (`["Lamp", 12]`), which no client means.
#[derive(Debug)]
pub(crate) struct ProductBody(ProductFields);

/// A product's fields as a client sends them: a name that is not blank (it has a character
/// that is not Unicode white space) of at most 200 characters, and a price from 0 to
/// 9999999999999.99 with at most two decimals.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductFields {
    /// The name: not blank, at most 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    name: String,
    /// The price: at most two decimals.
    #[schema(minimum = 0, maximum = 9999999999999.99, multiple_of = 0.01)]
    price: f64,
    #[serde(default, rename = "id")]
    #[schema(ignore)]
    _id: Option<IgnoredAny>,
    #[serde(default, rename = "version")]
    #[schema(ignore)]
    _version: Option<IgnoredAny>,
    #[serde(default, rename = "updated_at")]
    #[schema(ignore)]
    _updated_at: Option<IgnoredAny>,
}

/// The schema of `PATCH /products/{id}`'s body: a JSON merge patch (RFC 7396) of a
/// product, the fields to change, each as [`ProductFields`] has it. `null` would remove a
/// field, which leaves no valid product (422), so a field is a value or absent. Only a
/// schema: the handler merges the patch as JSON and reads the result as a [`ProductBody`].
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "a schema of the merge patch, which is read as JSON"
)]
pub(crate) struct ProductPatch {
    /// The new name: not blank, at most 200 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    name: String,
    /// The new price: at most two decimals.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9999999999999.99, multiple_of = 0.01)]
    price: f64,
}

impl<'de> Deserialize<'de> for ProductBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectOnly;

        impl<'de> Visitor<'de> for ObjectOnly {
            type Value = ProductFields;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object with `name` and `price`")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ProductFields, A::Error> {
                ProductFields::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer.deserialize_map(ObjectOnly).map(Self)
    }
}

impl ProductBody {
    pub(crate) fn validate(self) -> Result<NewProduct, Problem> {
        NewProduct::new(self.0.name, self.0.price).map_err(Problem::invalid)
    }
}

/// The query of `GET /products`: `limit` and `after`, each at most once, nothing else.
/// Read as sent, not percent-decoded: like a product's URL, a page has one spelling.
#[derive(Debug, Default)]
pub(crate) struct PageQuery {
    limit: Option<String>,
    after: Option<String>,
}

impl PageQuery {
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, Problem> {
        let mut parsed = Self::default();
        let Some(query) = query else {
            return Ok(parsed);
        };
        let bad = |detail: String| Problem::new(StatusCode::BAD_REQUEST, detail);
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "limit" => &mut parsed.limit,
                "after" => &mut parsed.after,
                _ => {
                    return Err(bad(format!(
                        "Unknown query parameter {name:?}: the list takes `limit` and `after`."
                    )));
                }
            };
            if slot.replace(value.to_owned()).is_some() {
                return Err(bad(format!("`{name}` is given more than once.")));
            }
        }
        Ok(parsed)
    }
}

impl PageQuery {
    pub(crate) fn page(self) -> Result<PageRequest, Problem> {
        let max = PageRequest::MAX_LIMIT;
        let limit = match self.limit {
            None => PageRequest::DEFAULT_LIMIT,
            Some(text) => canonical_integer(&text)
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        format!("`limit` must be an integer from 1 to {max}, not {text:?}."),
                    )
                })?,
        };
        let after = match self.after {
            None => 0,
            Some(text) => canonical_integer(&text)
                .filter(|id| (MIN_ID..=MAX_ID).contains(id))
                .ok_or_else(|| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "`after` must be a product id, an integer from {MIN_ID} to \
                             {MAX_ID}, not {text:?}."
                        ),
                    )
                })?,
        };
        Ok(PageRequest { after, limit })
    }
}

/// A positive integer written in plain decimal digits with no leading zero: the one
/// spelling that names an id or a count in a URL.
fn canonical_integer(text: &str) -> Option<i64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    canonical.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn product_bodies() {
        let ok: ProductBody = serde_json::from_value(json!({
            "id": 3, "name": "Lamp", "price": 12.5, "version": 2,
            "updated_at": "2026-11-25T14:03:07.123456Z"
        }))
        .unwrap();
        assert_eq!(ok.validate().unwrap().price.cents(), 1250);
        assert!(
            serde_json::from_value::<ProductBody>(
                json!({"name": "Lamp", "price": 1, "colour": "red"})
            )
            .is_err()
        );
        assert!(serde_json::from_value::<ProductBody>(json!({"name": "Lamp"})).is_err());
        assert!(
            serde_json::from_value::<ProductBody>(json!({"name": "Lamp", "price": "1.00"}))
                .is_err()
        );
        // Only an object is a product body, never its fields in order nor a scalar.
        for not_an_object in [
            json!(["Lamp", 12]),
            json!(["Lamp", 12, 3, 1, "2026-11-25T14:03:07.123456Z"]),
            json!("Lamp"),
            json!(12),
            json!(true),
            json!(null),
        ] {
            let err = serde_json::from_value::<ProductBody>(not_an_object.clone()).unwrap_err();
            assert!(
                err.to_string().contains("a JSON object"),
                "{not_an_object}: {err}"
            );
        }
        let err = serde_json::from_str::<ProductBody>("[\"Lamp\", 12]").unwrap_err();
        assert!(err.is_data(), "{err}");
    }

    /// The class `[^...]` of a schema's `pattern`, written as `\uXXXX` and `\uXXXX-\uXXXX`.
    fn excluded(pattern: &str) -> Vec<(u32, u32)> {
        let class = pattern
            .strip_prefix("[^")
            .and_then(|p| p.strip_suffix(']'))
            .expect("a negated class");
        let code = |s: &str| u32::from_str_radix(s.strip_prefix("\\u").expect(s), 16).unwrap();
        let mut ranges = Vec::new();
        let mut rest = class;
        while !rest.is_empty() {
            let (first, tail) = rest.split_at(6);
            let first = code(first);
            match tail.strip_prefix('-') {
                Some(tail) => {
                    ranges.push((first, code(&tail[..6])));
                    rest = &tail[6..];
                }
                None => {
                    ranges.push((first, first));
                    rest = tail;
                }
            }
        }
        ranges
    }

    /// The schemas say what the server checks: the name's pattern excludes exactly the
    /// characters `trim` removes (so a name matches it exactly when it is not blank), and
    /// the bounds are the model's.
    #[test]
    fn the_body_schemas_are_what_is_checked() {
        use utoipa::PartialSchema;
        for schema in [ProductFields::schema(), ProductPatch::schema()] {
            let schema = serde_json::to_value(schema).unwrap();
            let name = &schema["properties"]["name"];
            let ranges = excluded(name["pattern"].as_str().unwrap());
            for c in (0..=0x10FFFF).filter_map(char::from_u32) {
                let in_class = ranges.iter().any(|&(a, b)| (a..=b).contains(&u32::from(c)));
                assert_eq!(in_class, c.is_whitespace(), "{c:?}");
            }
            assert_eq!(name["maxLength"], NewProduct::MAX_NAME_CHARS);
            assert_eq!(name["minLength"], 1);
            let price = &schema["properties"]["price"];
            assert_eq!(price["minimum"], 0);
            assert_eq!(
                price["maximum"]
                    .as_f64()
                    .map(|p| crate::model::Price::from_json(p).unwrap().cents()),
                Some(crate::model::Price::MAX_CENTS)
            );
            assert_eq!(price["multipleOf"], 0.01);
            assert_eq!(schema["additionalProperties"], false);
        }
    }

    #[test]
    fn page_queries() {
        let page = |q: Option<&str>| PageQuery::parse(q).and_then(PageQuery::page);
        let ok = |q: Option<&str>| page(q).unwrap();
        assert_eq!(
            ok(None),
            PageRequest {
                after: 0,
                limit: 100
            }
        );
        assert_eq!(ok(Some("limit=5")), PageRequest { after: 0, limit: 5 });
        assert_eq!(
            ok(Some("after=42&limit=1000")),
            PageRequest {
                after: 42,
                limit: 1000
            }
        );
        for bad in [
            "",
            "limit",
            "limit=",
            "limit=0",
            "limit=1001",
            "limit=05",
            "limit=%35",
            "limit=+5",
            "limit=5&limit=5",
            "after=0",
            "after=-1",
            "after=x",
            "after=9007199254740992",
            "Limit=5",
            "limit=5&",
            "page=2",
        ] {
            let problem = page(Some(bad)).unwrap_err();
            assert_eq!(problem.status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[test]
    fn only_the_canonical_spelling_of_an_id_names_a_product() {
        assert_eq!(ProductId::parse("1").unwrap(), ProductId(1));
        assert_eq!(ProductId::parse("42").unwrap(), ProductId(42));
        assert_eq!(
            ProductId::parse("9007199254740991").unwrap(),
            ProductId(MAX_ID)
        );
        for alias in [
            "01", "+1", "%2B1", "%31", "1%20", " 1", "-1", "0", "00", "", "1.0", "1e0",
        ] {
            let problem = ProductId::parse(alias).unwrap_err();
            assert_eq!(problem.status, StatusCode::NOT_FOUND, "{alias:?}");
        }
        for beyond in ["9007199254740992", "99999999999999999999"] {
            let problem = ProductId::parse(beyond).unwrap_err();
            assert_eq!(problem.status, StatusCode::NOT_FOUND);
            assert!(
                problem.detail.contains("from 1 to 9007199254740991"),
                "{problem:?}"
            );
        }
    }
}
