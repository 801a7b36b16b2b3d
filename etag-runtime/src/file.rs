//! A file as a response body: streamed whole, or read only for the ranges asked for.

use std::fs;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{self, HeaderValue};

/// How much of a file one read brings in while it is streamed whole.
const CHUNK: usize = 64 * 1024;

/// A file with a known length, as a response body. Under `#[etag]` it is streamed whole for
/// a 200, and for a `Range` request only the bytes of the ranges are read (RFC 9110 section
/// 14): resuming a download of a large file costs what is resumed, not the file.
///
/// It does not choose its validators: return it as [`WithValidators`](crate::WithValidators)
/// with the file's version or modification time, checked first with
/// [`Conditions::check`](crate::Conditions::check). Its `Content-Type` is
/// `application/octet-stream` unless the handler sets another.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use axum::routing::get;
/// use etag_runtime::response::File;
/// use etag_runtime::{Conditions, ETag, Precondition, Validators, WithValidators, etag};
///
/// let path = std::env::temp_dir().join(format!("etag-file-doc-{}", std::process::id()));
/// std::fs::write(&path, b"0123456789")?;
///
/// #[etag]
/// async fn export(conditions: Conditions) -> Result<WithValidators<File>, Precondition> {
///     let path = std::env::temp_dir().join(format!("etag-file-doc-{}", std::process::id()));
///     let checked = conditions.check(Validators::new().with_etag(ETag::from_version(&1_u8)))?;
///     let file = File::open(&path).await.expect("the file");
///     Ok(checked.respond(file))
/// }
///
/// use tower::ServiceExt as _;
/// let app = axum::Router::new().route("/export", get(export));
/// let req = http::Request::get("/export").header("range", "bytes=2-4").body(axum::body::Body::empty()).unwrap();
/// let res = app.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), 206);
/// assert_eq!(res.headers()["content-range"], "bytes 2-4/10");
/// # std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "fs")))]
#[derive(Debug)]
pub struct File {
    file: fs::File,
    len: u64,
}

impl File {
    /// Opens the file at `path` for reading, and takes its length.
    ///
    /// # Errors
    ///
    /// The file cannot be opened or its metadata read.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let missing = etag_runtime::response::File::open("/no/such/file").await;
    /// assert!(missing.is_err());
    /// # }
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = tokio::fs::File::open(path).await?.into_std().await;
        let len = file.metadata()?.len();
        Ok(Self { file, len })
    }
}

/// What the range step needs of a file response: the file, to read the ranges from.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    file: Arc<fs::File>,
    pub(crate) len: u64,
}

impl Source {
    /// Reads the inclusive range `first..=last`, and nothing else.
    pub(crate) async fn read(&self, first: u64, last: u64) -> io::Result<Bytes> {
        let file = Arc::clone(&self.file);
        tokio::task::spawn_blocking(move || {
            let mut file = &*file;
            file.seek(SeekFrom::Start(first))?;
            let mut buf = Vec::with_capacity(usize::try_from(last - first + 1).unwrap_or(0));
            file.take(last - first + 1).read_to_end(&mut buf)?;
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(io::Error::other)?
    }
}

/// The whole file, streamed; the file itself rides along in the response's extensions for
/// the range step.
impl IntoResponse for File {
    fn into_response(self) -> Response {
        let Self { file, len } = self;
        let source = match file.try_clone() {
            Ok(clone) => Source {
                file: Arc::new(clone),
                len,
            },
            Err(e) => {
                return (http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
            }
        };
        let reader = tokio::fs::File::from_std(file);
        let stream = tokio_util::io::ReaderStream::with_capacity(reader, CHUNK);
        let mut res = Response::new(Body::from_stream(stream));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        res.extensions_mut().insert(source);
        res
    }
}
