//! Per-URL cache in Redis: a batch often repeats a publisher or a target. Failures are cached
//! briefly so a down site is not hammered by every job of a batch, but recovers soon.

use bacowr_shared::backplane::Backplane;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Cached<T> {
    Ok { value: T },
    Failed { reason: String },
}

pub fn key(namespace: &str, kind: &str, url: &str) -> String {
    format!(
        "{namespace}:{kind}:{}",
        hex::encode(Sha256::digest(url.as_bytes()))
    )
}

async fn get<T: DeserializeOwned>(backplane: &Backplane, key: &str) -> Option<Cached<T>> {
    let raw = backplane.get(key).await.ok()?;
    serde_json::from_str(&raw?).ok()
}

async fn put<T: Serialize>(backplane: &Backplane, key: &str, value: &Cached<T>, ttl_secs: u64) {
    let Ok(raw) = serde_json::to_string(value) else {
        return;
    };
    let ttl = std::time::Duration::from_secs(ttl_secs.max(1));
    if let Err(e) = backplane.set_ex(key, &raw, ttl).await {
        // A cache that can't write only costs a refetch.
        tracing::debug!(error = %e, "context cache write failed");
    }
}

/// The cached answer for `key`, or `fetch`'s, cached for `ttl_secs` (or `failure_ttl_secs`
/// when it failed).
pub async fn through<T, F>(
    backplane: &Backplane,
    key: &str,
    ttl_secs: u64,
    failure_ttl_secs: u64,
    fetch: F,
) -> Result<T, String>
where
    T: Serialize + DeserializeOwned,
    F: Future<Output = Result<T, String>>,
{
    match get::<T>(backplane, key).await {
        Some(Cached::Ok { value }) => return Ok(value),
        Some(Cached::Failed { reason }) => return Err(reason),
        None => {}
    }
    match fetch.await {
        Ok(value) => {
            let cached = Cached::Ok { value };
            put(backplane, key, &cached, ttl_secs).await;
            let Cached::Ok { value } = cached else {
                unreachable!()
            };
            Ok(value)
        }
        Err(reason) => {
            put::<T>(
                backplane,
                key,
                &Cached::Failed {
                    reason: reason.clone(),
                },
                failure_ttl_secs,
            )
            .await;
            Err(reason)
        }
    }
}
