//! The write step and the read step (`Conditions::write`, `Conditions::read`) against a
//! store whose state another writer changes between the step's read and its write: a
//! 412 only against a state that was current when read (RFC 9110 section 13.1.1), a 200
//! whose strong tag names its own body (section 8.8.1).

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::response::IntoResponse;
use etag_runtime::write::Guard;
use etag_runtime::{Conditions, ETag, Precondition, Versioned};
use http::{HeaderMap, Method, StatusCode};

#[derive(Debug, Clone, PartialEq)]
struct Note {
    text: String,
    version: i64,
    modified: SystemTime,
}

impl Versioned for Note {
    fn etag(&self) -> ETag {
        ETag::from_version(&self.version)
    }
    fn last_modified(&self) -> Option<SystemTime> {
        Some(self.modified)
    }
}

fn at(version: i64) -> Note {
    Note {
        text: format!("text {version}"),
        version,
        modified: UNIX_EPOCH + Duration::from_secs(1_000_000 + version as u64),
    }
}

/// One row, and what the step did to it. `race` runs between each read and the write
/// that follows it: another writer's statement landing in between.
struct Row {
    note: RefCell<Option<Note>>,
    reads: RefCell<usize>,
    writes: RefCell<usize>,
    guards: RefCell<Vec<&'static str>>,
}

impl Row {
    fn new(note: Option<Note>) -> Self {
        Self {
            note: RefCell::new(note),
            reads: RefCell::new(0),
            writes: RefCell::new(0),
            guards: RefCell::new(Vec::new()),
        }
    }

    fn read(&self) -> Option<Note> {
        *self.reads.borrow_mut() += 1;
        self.note.borrow().clone()
    }

    /// The guarded statement: `UPDATE ... WHERE id = 1 [AND version = $2]` or
    /// `INSERT ... ON CONFLICT DO NOTHING`; `None` when it found no row to write.
    fn write(&self, guard: Guard<Note>, text: &str) -> Option<Note> {
        *self.writes.borrow_mut() += 1;
        let mut row = self.note.borrow_mut();
        let next = |v: i64| Note {
            text: text.into(),
            ..at(v + 1)
        };
        let written = match (&*row, &guard) {
            (None, Guard::Absent) => next(0),
            (Some(now), Guard::Exists(_)) => next(now.version),
            (Some(now), Guard::Unchanged(read)) if now.version == read.version => next(now.version),
            _ => return None,
        };
        self.guards.borrow_mut().push(match guard {
            Guard::Absent => "absent",
            Guard::Exists(_) => "exists",
            Guard::Unchanged(_) => "unchanged",
        });
        *row = Some(written.clone());
        Some(written)
    }

    /// Another writer's change, landing between a read and a write.
    fn bump(&self) {
        let mut row = self.note.borrow_mut();
        let v = row.as_ref().map_or(0, |n| n.version);
        *row = Some(at(v + 1));
    }
}

fn conditions(method: Method, fields: &[(&'static str, &str)]) -> Conditions {
    let mut h = HeaderMap::new();
    for (name, value) in fields {
        h.append(*name, value.parse().unwrap());
    }
    Conditions::from_headers(&method, &h)
}

/// Runs the write step over `row`, with `race` run after each of the first `races` reads.
fn put(c: &Conditions, row: &Row, races: usize) -> Result<Note, Precondition> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let raced = RefCell::new(0);
    rt.block_on(c.write(
        || async {
            let read = row.read();
            if *raced.borrow() < races {
                *raced.borrow_mut() += 1;
                row.bump();
            }
            Ok(read)
        },
        |guard| async move { Ok(row.write(guard, "mine")) },
    ))
}

/// RFC 9110 section 13.1.1: `If-Match: *` holds as long as the resource exists. The guard
/// asks only that it exists, so a concurrent change of version loses no race at all.
#[test]
fn if_match_star_writes_over_a_concurrent_change_without_a_second_read() {
    let row = Row::new(Some(at(1)));
    let c = conditions(Method::PUT, &[("if-match", "*")]);
    let written = put(&c, &row, 1).unwrap();
    assert_eq!(written.version, 3, "written over the concurrent version 2");
    assert_eq!(*row.reads.borrow(), 1);
    assert_eq!(*row.guards.borrow(), ["exists"]);
}

/// RFC 9110 section 13.1.1: an `If-Match` list holds when any member matches. The
/// version read moves between the read and the write; the list names the new one too,
/// so the step reads and decides again once and writes: no 412.
#[test]
fn an_if_match_list_naming_the_new_tag_is_decided_again_after_a_lost_race() {
    let row = Row::new(Some(at(1)));
    let c = conditions(Method::PUT, &[("if-match", "\"1\", \"2\"")]);
    let written = put(&c, &row, 1).unwrap();
    assert_eq!(written.version, 3);
    assert_eq!(*row.reads.borrow(), 2, "one re-evaluation");
    assert_eq!(*row.writes.borrow(), 2, "the first statement missed");
    assert_eq!(*row.guards.borrow(), ["unchanged"]);
}

/// RFC 9110 section 13.1.1: a tag that no longer matches the state read again is a 412,
/// and its problem details name the current tag.
#[test]
fn a_lost_race_with_one_tag_is_a_412_naming_the_current_tag() {
    let row = Row::new(Some(at(1)));
    let c = conditions(Method::PUT, &[("if-match", "\"1\"")]);
    let refused = put(&c, &row, 1).unwrap_err();
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(refused.current_etag(), Some(&ETag::from_version(&2_i64)));
    assert_eq!(
        row.note.borrow().as_ref().unwrap().version,
        2,
        "nothing written"
    );
    let res = refused.into_response();
    let body = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(axum::body::to_bytes(res.into_body(), 4096))
        .unwrap();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["current_etag"], "\"2\"");
    assert_eq!(problem["status"], 412);
}

/// RFC 9110 section 13.1.4: `If-Unmodified-Since` holds while the resource has not
/// changed after the date; the statement checks the version read, and a lost race is
/// decided again against the new modification time.
#[test]
fn if_unmodified_since_is_decided_against_the_state_written_over() {
    let c = conditions(
        Method::PUT,
        &[("if-unmodified-since", "Mon, 12 Jan 1970 13:46:42 GMT")],
    );
    // Version 1 was modified at second 1,000,001 (before the date), version 2 at
    // 1,000,002: the date is 1,000,002, so both hold.
    let row = Row::new(Some(at(1)));
    assert_eq!(put(&c, &row, 1).unwrap().version, 3);
    assert_eq!(*row.reads.borrow(), 2);
    // Version 3 is after the date: the second read decides 412.
    let row = Row::new(Some(at(2)));
    assert_eq!(put(&c, &row, 1).unwrap_err().status(), 412);
    assert_eq!(*row.reads.borrow(), 2);
}

/// RFC 9110 section 13.1.2: `If-None-Match: *` creates only where nothing exists. A
/// create that lands first makes the guarded insert miss; read again, the resource
/// exists: 412, and the other writer's resource is kept.
#[test]
fn a_create_only_write_that_loses_the_race_is_a_412() {
    let row = Row::new(None);
    let c = conditions(Method::PUT, &[("if-none-match", "*")]);
    let refused = put(&c, &row, 1).unwrap_err();
    assert_eq!(refused.status(), 412);
    assert_eq!(row.note.borrow().as_ref().unwrap().text, "text 1");
    let row = Row::new(None);
    assert_eq!(put(&c, &row, 0).unwrap().version, 1);
    assert_eq!(*row.guards.borrow(), ["absent"]);
}

/// A write that loses the race every time it is tried is not decided against any
/// state: 503 with Retry-After (RFC 9110 section 15.6.4), never a wrong 412.
#[test]
fn a_write_that_always_loses_the_race_is_a_503_with_retry_after() {
    let row = Row::new(Some(at(1)));
    let c = conditions(
        Method::PUT,
        &[("if-unmodified-since", "Fri, 31 Dec 9999 23:59:59 GMT")],
    );
    let refused = put(&c, &row, usize::MAX).unwrap_err();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(*row.reads.borrow(), 10);
    let res = refused.into_response();
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

/// RFC 9110 section 13.1.1: "the origin server MAY respond with a 2xx status code when
/// the requested change has already been applied". A retried write whose first answer
/// was lost finds its own change there.
#[test]
fn a_retry_whose_change_is_already_there_succeeds() {
    let row = &Row::new(Some(Note {
        text: "mine".into(),
        ..at(2)
    }));
    let c = conditions(Method::PUT, &[("if-match", "\"1\"")]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = rt.block_on(
        c.idempotent(|current: Option<Note>| current.filter(|n| n.text == "mine"))
            .write(
                || async { Ok::<_, Precondition>(row.read()) },
                |guard| async move { Ok(row.write(guard, "mine")) },
            ),
    );
    assert_eq!(answer.unwrap().version, 2);
    assert_eq!(*row.writes.borrow(), 0);
    // Someone else's change is not this request's: 412.
    let row = &Row::new(Some(at(2)));
    let answer = rt.block_on(
        c.idempotent(|current: Option<Note>| current.filter(|n| n.text == "mine"))
            .write(
                || async { Ok::<_, Precondition>(row.read()) },
                |guard| async move { Ok(row.write(guard, "mine")) },
            ),
    );
    assert_eq!(answer.unwrap_err().status(), 412);
}

/// A route that cannot create sees `Guard::Absent` and answers its own 404; an
/// `If-Match` on a missing resource is a 412 before that (RFC 9110 section 13.1.1).
#[test]
fn a_missing_resource_reaches_the_write_as_absent() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let patch = |c: Conditions| {
        rt.block_on(c.write(
            || async { Ok::<Option<Note>, axum::response::Response>(None) },
            |guard: Guard<Note>| async move {
                match guard {
                    Guard::Absent => Err(StatusCode::NOT_FOUND.into_response()),
                    _ => unreachable!(),
                }
            },
        ))
        .map(|_: Note| ())
        .unwrap_err()
        .status()
    };
    assert_eq!(patch(conditions(Method::PATCH, &[])), StatusCode::NOT_FOUND);
    assert_eq!(
        patch(conditions(Method::PATCH, &[("if-match", "\"1\"")])),
        StatusCode::PRECONDITION_FAILED
    );
}

/// RFC 9110 section 8.8.1: a strong tag names one representation. The read step checks
/// the cheap validators, loads, and when a write landed in between sends the loaded
/// body's validators, deciding again against them (304 if the client has the newer one).
#[test]
fn the_read_step_sends_the_validators_of_the_body_it_loaded() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let read = |c: &Conditions, checked: i64, loaded: i64| {
        rt.block_on(c.read(
            async { Ok::<_, Precondition>(at(checked).validators()) },
            || async { Ok(at(loaded)) },
        ))
    };
    let plain = conditions(Method::GET, &[]);
    let sent = read(&plain, 1, 2).unwrap();
    assert_eq!(sent.validators(), &at(2).validators());
    // The client has 2; 1 was checked (200), but 2 was loaded: 304 after all.
    let has_2 = conditions(Method::GET, &[("if-none-match", "\"2\"")]);
    assert_eq!(read(&has_2, 1, 2).unwrap_err().status(), 304);
    // The client has 1, the current one at the cheap read: 304 without a load.
    let has_1 = conditions(Method::GET, &[("if-none-match", "\"1\"")]);
    assert_eq!(read(&has_1, 1, 2).unwrap_err().status(), 304);
    assert_eq!(
        read(&has_1, 2, 2).unwrap().validators().etag(),
        Some(&ETag::from_version(&2_i64))
    );
}
