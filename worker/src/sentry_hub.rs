//! A Sentry hub per task. apalis' `SentryLayer` configures "the current hub"'s scope; tasks
//! run on spawned futures that would otherwise all share the process hub, so one task's job,
//! organization and event processors would leak into every other task's events (and pile up
//! for the life of the process). This layer, outermost, gives each task its own hub forked
//! from the process one.

use std::task::{Context, Poll};

use sentry::{Hub, SentryFuture, SentryFutureExt};
use tower::{Layer, Service};

#[derive(Clone, Copy, Debug, Default)]
pub struct HubPerTask;

impl<S> Layer<S> for HubPerTask {
    type Service = HubPerTaskService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HubPerTaskService { inner }
    }
}

#[derive(Clone, Debug)]
pub struct HubPerTaskService<S> {
    inner: S,
}

impl<S, R> Service<R> for HubPerTaskService<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = SentryFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let hub = std::sync::Arc::new(Hub::new_from_top(Hub::main()));
        self.inner.call(request).bind_hub(hub)
    }
}
