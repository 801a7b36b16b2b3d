//! What `#[derive(Versioned)]` computes: the ETag from the `#[version]` field, and
//! Last-Modified from `#[last_modified]` or from a timestamp version.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use etag_runtime::version::VersionValue;
use etag_runtime::{ETag, Versioned};

fn at(secs: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(secs, nanos)
}

#[derive(Versioned)]
struct Counter {
    #[version]
    version: i64,
    #[allow(dead_code)]
    name: String,
}

#[test]
fn an_integer_version_gives_a_strong_tag_and_no_last_modified() {
    let c = Counter {
        version: 42,
        name: "x".into(),
    };
    assert_eq!(c.etag(), ETag::from_version(&42_i64));
    assert_eq!(c.etag().to_string(), "\"42\"");
    assert!(!c.etag().is_weak());
    assert_eq!(c.last_modified(), None);
}

#[derive(Versioned)]
struct Named {
    #[version]
    slug: String,
}

#[test]
fn a_string_version_is_encoded_safely() {
    let n = Named {
        slug: "a \"b\"".into(),
    };
    assert_eq!(n.etag().to_string(), "\"a%20%22b%22\"");
}

#[derive(Versioned)]
struct Stamped {
    #[version]
    updated_at: SystemTime,
}

#[test]
fn a_timestamp_version_also_gives_last_modified() {
    let t = at(1_700_000_000, 123_456_789);
    let s = Stamped { updated_at: t };
    assert_eq!(s.last_modified(), Some(t));
    assert_eq!(s.etag().to_string(), "\"1700000000123456789\"");
}

/// Other derives' attributes on the same fields are left alone.
#[derive(serde::Serialize, Versioned)]
struct Both {
    #[serde(rename = "v")]
    #[version]
    version: u32,
    #[last_modified]
    #[serde(skip)]
    changed: DateTime<Utc>,
}

#[test]
fn last_modified_comes_from_its_own_field_with_chrono() {
    let changed = DateTime::from_timestamp(1_700_000_000, 5).unwrap();
    let b = Both {
        version: 3,
        changed,
    };
    assert_eq!(b.etag().to_string(), "\"3\"");
    assert_eq!(b.last_modified(), Some(at(1_700_000_000, 5)));
    assert_eq!(b.validators().last_modified(), Some(at(1_700_000_000, 5)));
    assert_eq!(serde_json::to_string(&b).unwrap(), r#"{"v":3}"#);
}

#[derive(Versioned)]
struct StampedOverride {
    #[version]
    version: SystemTime,
    #[last_modified]
    shown: Option<SystemTime>,
}

#[test]
fn a_last_modified_field_wins_over_a_timestamp_version_even_when_empty() {
    let v = StampedOverride {
        version: at(10, 0),
        shown: None,
    };
    assert_eq!(v.last_modified(), None);
    let v = StampedOverride {
        version: at(10, 0),
        shown: Some(at(20, 0)),
    };
    assert_eq!(v.last_modified(), Some(at(20, 0)));
}

#[derive(Versioned)]
#[versioned(weak)]
struct Weak(#[version] u8, #[last_modified] SystemTime);

#[test]
fn weak_tuple_struct() {
    let w = Weak(7, at(5, 0));
    assert!(w.etag().is_weak());
    assert_eq!(w.etag().to_string(), "W/\"7\"");
    assert_eq!(w.last_modified(), Some(at(5, 0)));
}

#[derive(Versioned)]
struct Generic<T, V>
where
    V: VersionValue,
{
    #[allow(dead_code)]
    item: T,
    #[version]
    version: V,
}

#[test]
fn generic_version_field() {
    let g = Generic {
        item: vec![1, 2],
        version: 9_u64,
    };
    assert_eq!(g.etag().to_string(), "\"9\"");
    let g = Generic {
        item: (),
        version: at(1, 0),
    };
    assert_eq!(g.last_modified(), Some(at(1, 0)));
}

/// A crate that re-exports the runtime under another name, as a facade crate would.
mod facade {
    pub(crate) use etag_runtime as rt;
}

#[derive(Versioned)]
#[versioned(crate = "facade::rt")]
struct ThroughFacade {
    #[version]
    version: i32,
}

#[test]
fn crate_path_override() {
    assert_eq!(ThroughFacade { version: -1 }.etag().to_string(), "\"-1\"");
}

#[test]
fn collections_of_derived_models_are_versioned() {
    let list = vec![
        Counter {
            version: 1,
            name: String::new(),
        },
        Counter {
            version: 2,
            name: String::new(),
        },
    ];
    let changed = vec![
        Counter {
            version: 1,
            name: String::new(),
        },
        Counter {
            version: 3,
            name: String::new(),
        },
    ];
    assert_ne!(list.etag(), changed.etag());
}

/// A list's tag is the same from every process and across releases: a fixed list has a
/// fixed tag. A change here changes every list tag a client holds; say so in the changelog.
#[test]
fn a_list_tag_is_stable() {
    #[derive(Versioned)]
    struct Row {
        #[version]
        version: i64,
        #[last_modified]
        at: SystemTime,
    }
    #[derive(Versioned)]
    struct Named {
        #[version]
        name: String,
    }
    let t = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_764_079_387_123_456_789);
    let rows: Vec<Row> = (1..=3).map(|version| Row { version, at: t }).collect();
    let named: Vec<Named> = ["a", "b c"]
        .iter()
        .map(|n| Named {
            name: (*n).to_owned(),
        })
        .collect();
    assert_eq!(rows.etag().to_string(), "\"n-AdxI2YXwj80Hs4Vs38xA\"");
    assert_eq!(named.etag().to_string(), "\"PQs5Hh6LpLMKD5QoVxU86g\"");
    assert_eq!(
        Vec::<Row>::new().etag().to_string(),
        "\"smVWA520w0VUfRTcmYoKLA\""
    );
    #[derive(Versioned)]
    struct Stamped {
        #[version]
        at: SystemTime,
    }
    let stamped: Vec<Stamped> = (0..3)
        .map(|s| Stamped {
            at: t + Duration::from_secs(s),
        })
        .collect();
    assert_eq!(stamped.etag().to_string(), "\"cqfANp-kC4t7xOU1h0tL0Q\"");
    // A derived member feeds its version alone: its `#[last_modified]` time is not read.
    let later: Vec<Row> = (1..=3)
        .map(|version| Row {
            version,
            at: t + Duration::from_secs(60),
        })
        .collect();
    assert_eq!(later.etag(), rows.etag());
}
