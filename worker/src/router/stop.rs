//! Stopping a job's provider calls from outside: its batch was cancelled, or its lease went to
//! another worker. The router checks before every call and wakes from every wait.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::time::Instant;

use crate::provider::{ErrorClass, ProviderError};

#[derive(Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

/// How often a waiting router looks at the flag.
const GRAIN: Duration = Duration::from_millis(200);

impl Stop {
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleeps until `until`, or less if the flag is set meanwhile. Returns whether it was.
    pub async fn sleep_until(&self, until: Instant) -> bool {
        loop {
            if self.is_set() {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            tokio::time::sleep_until(until.min(now + GRAIN)).await;
        }
    }

    pub async fn sleep(&self, delay: Duration) -> bool {
        self.sleep_until(Instant::now() + delay).await
    }
}

/// What a stopped generation answers; the pipeline sees the flag and records why.
pub(super) fn stopped() -> ProviderError {
    ProviderError::new(
        ErrorClass::Connection,
        None,
        "stopped: the batch was cancelled or the job's lease moved to another worker",
    )
}
