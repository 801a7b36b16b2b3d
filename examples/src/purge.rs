//! The purge hook: what a write tells those it does not pass through. The other processes
//! on the same PostgreSQL database ([`Store::announce`]), for their requests that wait for
//! a change, and Varnish, when there is one.

use std::time::Duration;

use etag_runtime::groups::CacheGroups;
use etag_runtime::layer::{Purge, PurgeError};

use crate::store::Store;

/// The hook of the router's `CacheGroupsLayer`: the other processes first (one `NOTIFY`,
/// nothing on SQLite), then Varnish. A failure of either fails the purge, which the layer
/// tries again whole: the other processes may hear of a write twice, which costs their
/// waiters one more look.
#[derive(Debug, Clone)]
pub(crate) struct WritePurge {
    pub(crate) store: Store,
    pub(crate) varnish: Option<VarnishPurge>,
}

impl Purge for WritePurge {
    async fn purge(&self, groups: &CacheGroups) -> Result<(), PurgeError> {
        self.store
            .announce(groups)
            .await
            .map_err(|e| PurgeError::new(format!("NOTIFY: {e}")))?;
        match &self.varnish {
            Some(varnish) => varnish.purge(groups).await,
            None => Ok(()),
        }
    }
}

/// Sends `PURGE` to Varnish with the groups in `xkey-purge`, space-separated, which
/// deploy/varnish/default.vcl hands to the xkey vmod (`xkey.purge`), from a loopback
/// address its `purgers` ACL admits. One request per write, however many groups.
///
/// A Varnish that does not answer within two seconds counts as a failed purge
/// (`CacheGroupsLayer` tries again, then keeps the groups for the next write).
///
/// Other CDNs take the same groups, each with its own API: Fastly a `POST
/// /service/{id}/purge` with them in `Surrogate-Key`, Cloudflare a `POST
/// /zones/{id}/purge_cache` with `{"tags": [...]}`, CloudFront an invalidation by tag.
#[derive(Debug, Clone)]
pub struct VarnishPurge {
    client: reqwest::Client,
    url: String,
}

impl VarnishPurge {
    /// Purges through the Varnish at `url` (`http://127.0.0.1:6081/`).
    ///
    /// # Errors
    ///
    /// The HTTP client cannot be built.
    pub fn new(url: impl Into<String>) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("cannot build the purge client: {e}"))?;
        Ok(Self {
            client,
            url: url.into(),
        })
    }
}

impl Purge for VarnishPurge {
    async fn purge(&self, groups: &CacheGroups) -> Result<(), PurgeError> {
        let keys = groups.iter().collect::<Vec<_>>().join(" ");
        let method = reqwest::Method::from_bytes(b"PURGE").map_err(PurgeError::new)?;
        let reply = self
            .client
            .request(method, &self.url)
            .header("xkey-purge", keys)
            .send()
            .await
            .map_err(|e| PurgeError::new(format!("PURGE {}: {e}", self.url)))?;
        if reply.status().is_success() {
            Ok(())
        } else {
            Err(PurgeError::new(format!(
                "PURGE {} answered {}",
                self.url,
                reply.status()
            )))
        }
    }
}
