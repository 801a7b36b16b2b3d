use std::time::{Duration, SystemTime};

use etag_runtime::Versioned;

#[derive(Versioned)]
struct Counter(String, #[version] u32);

#[derive(Versioned)]
#[versioned(weak)]
struct Stamp(#[version] SystemTime, #[last_modified] Option<SystemTime>);

fn main() {
    assert_eq!(Counter("a".into(), 7).etag().to_string(), "\"7\"");
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(9);
    let stamp = Stamp(t, None);
    assert!(stamp.etag().is_weak());
    assert_eq!(stamp.last_modified(), None);
    assert_eq!(Stamp(t, Some(t)).last_modified(), Some(t));
}
