//! The products the API serves, and the values they are made of.

use std::fmt;
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use etag_runtime::groups::CacheGroups;
use etag_runtime::{ETag, Versioned};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

/// A product as the API shows it.
///
/// Its `ETag` is its version (`"3"`) and its `Last-Modified` is `updated_at`, both given by
/// `#[derive(Versioned)]`; its cache group (RFC 9875) is `product/<id>`, and the list's is
/// `product`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Versioned, ToSchema)]
#[versioned(group = "product")]
pub struct Product {
    /// The product's id, its URL is `/products/{id}`.
    #[schema(example = 1, minimum = 1, maximum = 9_007_199_254_740_991_i64)]
    #[group_key]
    pub id: i64,
    /// The product's name.
    #[schema(example = "Wireless Mouse")]
    pub name: String,
    /// The price, a JSON number with at most two decimals.
    #[schema(value_type = f64, example = 29.99)]
    pub price: Price,
    /// 1 when created, one more on every change.
    #[version]
    pub version: i64,
    /// When the product last changed, to the microsecond.
    #[last_modified]
    #[serde(serialize_with = "rfc3339_micros")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-25T14:03:07.123456Z")]
    pub updated_at: DateTime<Utc>,
}

/// The part of a product its validators come from: what `GET /products/{id}` reads first,
/// to answer 304 or 412 without loading the rest of the row.
///
/// It derives `Versioned` from the same field types as [`Product`], so both give the same
/// validators for the same row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Versioned)]
pub struct ProductStamp {
    /// The product's version.
    #[version]
    pub version: i64,
    /// When the product last changed.
    #[last_modified]
    pub updated_at: DateTime<Utc>,
}

impl From<&Product> for ProductStamp {
    fn from(product: &Product) -> Self {
        Self {
            version: product.version,
            updated_at: product.updated_at,
        }
    }
}

/// The state of the whole collection: `revision` goes up by one on every create, change and
/// delete, in the same transaction as the write, and `modified_at` is the time of that write.
///
/// These are the validators a conditional `POST /products` is evaluated against; they
/// change whenever any member does, including when the newest member is deleted. Each page
/// of `GET /products` has validators of its own ([`PageStamp`]), with `modified_at` as its
/// `Last-Modified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Versioned)]
pub struct CollectionState {
    /// The number of writes so far (plus one).
    #[version]
    pub revision: i64,
    /// When the collection last changed.
    #[last_modified]
    pub modified_at: DateTime<Utc>,
}

/// Which page of the list: the products with an id above `after`, by id, at most `limit`
/// of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// The last id of the page before; 0 for the first page.
    pub after: i64,
    /// The most products on the page.
    pub limit: i64,
}

impl PageRequest {
    /// The page size when the request names none.
    pub const DEFAULT_LIMIT: i64 = 100;
    /// The largest page size a request may ask for.
    pub const MAX_LIMIT: i64 = 1000;
}

/// What a page's validators are computed from: the collection's `modified_at`, and of the
/// products on the page their count, the last one's id and the highest `revision` (the
/// collection revision each product was last written at); whether a page follows it. One
/// aggregate row, read by one query before the page itself is loaded, whatever the page
/// size.
///
/// Why these four name one state of the page: every write sets its product's `revision` to
/// the collection revision it bumped, which is above every revision any row holds. Take
/// two reads of the page, the first at time t1, with the same stamp. No product on the
/// second page was written after t1 (it would hold a revision above every one at t1, so
/// above the first page's highest), so each was on the table at t1 as it is now, with an
/// id in the page's range (after `after`, up to the same last id). At t1 the first page
/// held every product in that range, as many as the second holds: so the same ones, with
/// the same contents. A product added or changed raises the highest revision; one deleted
/// lowers the count or, when the next one moves up into the page, moves the last id.
///
/// `Last-Modified` is the collection's: a page's own rows cannot give it, since deleting a
/// product from the page moves no remaining row's `updated_at`. So `If-Modified-Since`
/// revalidates a page only while nothing at all has changed; `If-None-Match` is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageStamp {
    /// When the collection last changed.
    pub modified_at: DateTime<Utc>,
    /// How many products are on the page.
    pub count: i64,
    /// The id of the page's last product; `None` when the page is empty.
    pub last_id: Option<i64>,
    /// The highest collection revision any product on the page was written at (0 for an
    /// empty page).
    pub revision: i64,
    /// Whether there are products after the page's last one.
    pub has_next: bool,
}

impl PageStamp {
    /// The id the next page starts after, when there is one.
    pub fn next_after(&self) -> Option<i64> {
        self.last_id.filter(|_| self.has_next)
    }
}

impl Versioned for PageStamp {
    fn etag(&self) -> ETag {
        let mut bytes = [0u8; 42];
        bytes[..17].copy_from_slice(b"products page v2\0");
        bytes[17..25].copy_from_slice(&self.count.to_le_bytes());
        bytes[25..33].copy_from_slice(&self.last_id.unwrap_or(0).to_le_bytes());
        bytes[33..41].copy_from_slice(&self.revision.to_le_bytes());
        bytes[41] = u8::from(self.has_next);
        ETag::digest(&bytes)
    }

    fn last_modified(&self) -> Option<SystemTime> {
        Some(SystemTime::from(self.modified_at))
    }

    /// The page's cache group, known before the page is loaded, so that its 304 names the
    /// same groups as its 200: the collection's, which every write of a product
    /// invalidates. (The stamp is one aggregate row: it does not know the products' ids.)
    fn cache_groups(&self, out: &mut CacheGroups) {
        out.add_collection::<Product>();
    }
}

/// What a client may set on a product: its name and price, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    /// The name: not blank, at most [`NewProduct::MAX_NAME_CHARS`] characters.
    pub name: String,
    /// The price.
    pub price: Price,
}

impl NewProduct {
    /// The longest name accepted, in characters.
    pub const MAX_NAME_CHARS: usize = 200;

    /// Validates a name and a JSON price.
    ///
    /// # Errors
    ///
    /// What is wrong with the input, in a sentence for the client.
    pub fn new(name: String, price: f64) -> Result<Self, String> {
        if name.trim().is_empty() {
            return Err("`name` must not be blank".into());
        }
        if name.chars().count() > Self::MAX_NAME_CHARS {
            return Err(format!(
                "`name` must be at most {} characters",
                Self::MAX_NAME_CHARS
            ));
        }
        let price = Price::from_json(price).map_err(|e| format!("`price` {e}"))?;
        Ok(Self { name, price })
    }
}

/// An amount of money in cents, shown in JSON as a number with at most two decimals.
///
/// Stored as integer cents, so that no arithmetic rounds it, and printed as the number of
/// cents divided by 100, which JSON serialization writes exactly (`29.99`, not
/// `29.990000000000002`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(i64);

/// Why a JSON number is not a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceError {
    /// NaN or infinite.
    NotFinite,
    /// Below zero.
    Negative,
    /// More than two decimals.
    TooPrecise,
    /// Above [`Price::MAX_CENTS`].
    TooLarge,
}

impl fmt::Display for PriceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFinite => "must be a finite number",
            Self::Negative => "must not be negative",
            Self::TooPrecise => "must have at most two decimals",
            Self::TooLarge => "is too large (at most 9999999999999.99)",
        })
    }
}

impl std::error::Error for PriceError {}

impl Price {
    /// The largest price, in cents: 15 digits, so that every price is printed exactly.
    pub const MAX_CENTS: i64 = 999_999_999_999_999;

    /// A price of `cents` cents.
    ///
    /// # Errors
    ///
    /// Negative or above [`Price::MAX_CENTS`].
    pub fn from_cents(cents: i64) -> Result<Self, PriceError> {
        if cents < 0 {
            Err(PriceError::Negative)
        } else if cents > Self::MAX_CENTS {
            Err(PriceError::TooLarge)
        } else {
            Ok(Self(cents))
        }
    }

    /// The price in cents.
    pub fn cents(self) -> i64 {
        self.0
    }

    /// Reads a JSON number by its shortest decimal form: `29.99` is 2999 cents, `30` is
    /// 3000, and `29.999` is refused rather than rounded.
    ///
    /// # Errors
    ///
    /// Not finite, negative, more than two decimals, or too large.
    pub fn from_json(value: f64) -> Result<Self, PriceError> {
        if !value.is_finite() {
            return Err(PriceError::NotFinite);
        }
        if value < 0.0 {
            return Err(PriceError::Negative);
        }
        // `Display` writes the shortest decimal that reads back as the same f64, never in
        // exponent form; -0.0 is written "-0".
        let text = format!("{}", value.abs());
        let (units, decimals) = text.split_once('.').unwrap_or((&text, ""));
        if decimals.len() > 2 {
            return Err(PriceError::TooPrecise);
        }
        let units: i64 = units.parse().map_err(|_| PriceError::TooLarge)?;
        let mut fraction: i64 = decimals.parse().unwrap_or(0);
        if decimals.len() == 1 {
            fraction *= 10;
        }
        let cents = units
            .checked_mul(100)
            .and_then(|c| c.checked_add(fraction))
            .ok_or(PriceError::TooLarge)?;
        Self::from_cents(cents)
    }

    /// The price as the JSON number it is shown as.
    pub fn to_json(self) -> f64 {
        // Exact: cents below 2^53 are exact in an f64, and the division is correctly
        // rounded to the f64 nearest to the two-decimal value, which prints as that value.
        self.0 as f64 / 100.0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_json())
    }
}

/// RFC 3339 in UTC with exactly six decimals: `2026-11-25T14:03:07.123456Z`.
pub fn format_timestamp(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn rfc3339_micros<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_timestamp(time))
}

/// A caller's favourite products: `GET /me/favorites` and `PUT /me/favorites`, shown as a
/// JSON array of product ids.
///
/// Its `ETag` is its version, sealed for the caller by `#[etag(per_user = ...)]`: 0 before
/// the first write, one more on each. The row is never deleted, so a version never repeats
/// for one caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Versioned)]
pub struct Favorites {
    /// The product ids, in the caller's order.
    pub ids: Vec<i64>,
    /// 0 before the first write, one more on each.
    #[version]
    pub version: i64,
}

/// The body is the list itself.
impl Serialize for Favorites {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.ids.serialize(serializer)
    }
}

impl Favorites {
    /// The most ids a list may hold.
    pub const MAX_IDS: usize = 1000;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_exactly() {
        let ok = |v: f64| Price::from_json(v).map(Price::cents);
        assert_eq!(ok(29.99), Ok(2999));
        assert_eq!(ok(30.0), Ok(3000));
        assert_eq!(ok(0.1), Ok(10));
        assert_eq!(ok(0.07), Ok(7));
        assert_eq!(ok(0.0), Ok(0));
        assert_eq!(ok(-0.0), Ok(0));
        assert_eq!(ok(1.005), Err(PriceError::TooPrecise));
        assert_eq!(ok(29.999), Err(PriceError::TooPrecise));
        assert_eq!(ok(1e-7), Err(PriceError::TooPrecise));
        assert_eq!(ok(-0.01), Err(PriceError::Negative));
        assert_eq!(ok(f64::NAN), Err(PriceError::NotFinite));
        assert_eq!(ok(f64::INFINITY), Err(PriceError::NotFinite));
        assert_eq!(ok(1e300), Err(PriceError::TooLarge));
        assert_eq!(ok(9_999_999_999_999.99), Ok(Price::MAX_CENTS));
        assert_eq!(ok(10_000_000_000_000.0), Err(PriceError::TooLarge));
    }

    #[test]
    fn prices_print_exactly_and_read_back() {
        let samples = (0..20_000)
            .chain([
                99_999,
                123_456_789,
                Price::MAX_CENTS - 1,
                Price::MAX_CENTS,
                2_999,
                1_000_000_001,
            ])
            .chain((0..2_000).map(|i| Price::MAX_CENTS - i * 7_919));
        for cents in samples {
            let price = Price::from_cents(cents).unwrap();
            let json = serde_json::to_string(&price).unwrap();
            let expected = if cents % 100 == 0 {
                format!("{}.0", cents / 100)
            } else {
                let s = format!("{}.{:02}", cents / 100, cents % 100);
                s.trim_end_matches('0').to_owned()
            };
            assert_eq!(json, expected, "{cents} cents");
            let back: f64 = serde_json::from_str(&json).unwrap();
            assert_eq!(Price::from_json(back), Ok(price), "{json}");
        }
    }

    #[test]
    fn product_json_shape() {
        let product = Product {
            id: 1,
            name: "Wireless Mouse".into(),
            price: Price::from_cents(2999).unwrap(),
            version: 1,
            updated_at: DateTime::from_timestamp_micros(1_795_615_387_123_456).unwrap(),
        };
        assert_eq!(
            serde_json::to_value(&product).unwrap(),
            serde_json::json!({
                "id": 1,
                "name": "Wireless Mouse",
                "price": 29.99,
                "version": 1,
                "updated_at": "2026-11-25T14:03:07.123456Z",
            })
        );
        let whole = DateTime::from_timestamp_micros(1_795_615_387_000_000).unwrap();
        assert_eq!(format_timestamp(&whole), "2026-11-25T14:03:07.000000Z");
    }

    #[test]
    fn item_validators_are_the_stamps() {
        let product = Product {
            id: 7,
            name: "Desk Lamp".into(),
            price: Price::from_cents(4_550).unwrap(),
            version: 12,
            updated_at: DateTime::from_timestamp_micros(1_795_615_387_654_321).unwrap(),
        };
        let stamp = ProductStamp::from(&product);
        assert_eq!(stamp.validators(), product.validators());
        assert_eq!(product.etag().to_string(), "\"12\"");
        assert!(!product.etag().is_weak());
        assert_eq!(
            product.last_modified(),
            Some(std::time::SystemTime::from(product.updated_at))
        );
        let changed = ProductStamp {
            version: 13,
            ..stamp
        };
        assert_ne!(changed.validators(), product.validators());
    }

    #[test]
    fn names_are_checked() {
        assert!(NewProduct::new("Lamp".into(), 1.0).is_ok());
        assert!(NewProduct::new("  ".into(), 1.0).is_err());
        assert!(NewProduct::new("x".repeat(201), 1.0).is_err());
        assert!(NewProduct::new("é".repeat(200), 1.0).is_ok());
        assert_eq!(
            NewProduct::new("Lamp".into(), 1.234).unwrap_err(),
            "`price` must have at most two decimals"
        );
    }
}
