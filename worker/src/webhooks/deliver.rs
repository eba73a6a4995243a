//! The webhook task handler: claim the delivery, POST it signed, record the attempt, and
//! decide: delivered on a 2xx; failed (and the endpoint disabled) on 410 Gone; otherwise the
//! next attempt per `webhooks.retry_schedule_secs`, or failed once it runs out. Like the
//! article handler it returns `Ok` for every delivery outcome (apalis-redis' own retries are
//! not to be relied on); only a Postgres error is an `Err`.

use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use sea_orm::{DatabaseConnection, EntityTrait};
use tracing::Instrument;

use bacowr_shared::{
    config::WebhookSettings, entities::webhook_endpoint, ids::WebhookDeliveryId,
    webhooks::queue::DeliverWebhook,
};

use super::{
    send::Sender,
    store::{self, AttemptRecord, Next},
};

pub struct WebhookState {
    pub db: DatabaseConnection,
    pub sender: Sender,
    pub settings: WebhookSettings,
}

impl WebhookState {
    pub fn new(db: DatabaseConnection, settings: &WebhookSettings) -> Result<Self, String> {
        Ok(Self {
            db,
            sender: Sender::new(settings)?,
            settings: settings.clone(),
        })
    }
}

pub async fn handle(
    task: DeliverWebhook,
    state: Data<Arc<WebhookState>>,
) -> Result<(), BoxDynError> {
    let delivery_id = task.delivery_id();
    let span = tracing::info_span!("deliver_webhook", %delivery_id);
    deliver(&state, delivery_id)
        .instrument(span)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "webhook delivery aborted by a database error");
            e.into()
        })
}

async fn deliver(state: &WebhookState, id: WebhookDeliveryId) -> Result<(), sea_orm::DbErr> {
    // Held past the request timeout, so a live attempt is never taken over.
    let hold = state.settings.timeout() * 2 + std::time::Duration::from_secs(5);
    let Some(delivery) = store::claim(&state.db, id, hold).await? else {
        tracing::debug!("delivery already sent, not due, or being sent elsewhere");
        return Ok(());
    };
    let endpoint = webhook_endpoint::Entity::find_by_id(delivery.endpoint_id)
        .one(&state.db)
        .await?;
    let (attempt, next) = match endpoint {
        Some(endpoint) if endpoint.enabled => {
            let body = serde_json::to_vec(&delivery.payload).unwrap_or_default();
            let attempt = state
                .sender
                .post(&endpoint.url, &endpoint.secret, &id.to_string(), &body)
                .await;
            let next = decide(&state.settings, delivery.attempts, attempt.status_code);
            (attempt, next)
        }
        // Disabled (by a user or a 410) after the event: nothing is sent, the delivery fails
        // and can be retried once the endpoint is enabled again.
        _ => (
            AttemptRecord {
                started_at: chrono::Utc::now(),
                duration_ms: 0,
                status_code: None,
                error: Some("the endpoint is disabled".into()),
                response_body: None,
            },
            Next::Failed { disable: None },
        ),
    };
    tracing::info!(
        attempt = delivery.attempts,
        status = attempt.status_code,
        error = attempt.error.as_deref(),
        ?next,
        "webhook attempt"
    );
    if !store::finish(&state.db, &delivery, attempt, next).await? {
        tracing::warn!("the delivery's claim lapsed before its attempt was recorded");
    }
    Ok(())
}

/// The delivery's next step after attempt number `attempts` answered `status`.
pub fn decide(settings: &WebhookSettings, attempts: i32, status: Option<u16>) -> Next {
    match status {
        Some(s) if (200..300).contains(&s) => Next::Delivered,
        Some(410) => Next::Failed {
            disable: Some("the receiver answered 410 Gone".into()),
        },
        _ => match settings.retry_delay(attempts) {
            Some(delay) => Next::Retry(delay),
            None => Next::Failed { disable: None },
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings() -> WebhookSettings {
        bacowr_shared::config::Settings::from_figment(bacowr_shared::config::Settings::figment(
            None,
        ))
        .unwrap()
        .webhooks
    }

    #[test]
    fn retries_follow_the_schedule_then_fail() {
        let s = settings();
        assert_eq!(decide(&s, 1, Some(204)), Next::Delivered);
        assert_eq!(
            decide(&s, 1, Some(500)),
            Next::Retry(Duration::from_secs(5))
        );
        assert_eq!(decide(&s, 2, None), Next::Retry(Duration::from_secs(300)));
        assert_eq!(
            decide(&s, 7, Some(429)),
            Next::Retry(Duration::from_secs(36000))
        );
        assert_eq!(decide(&s, 8, Some(500)), Next::Failed { disable: None });
        assert!(matches!(
            decide(&s, 1, Some(410)),
            Next::Failed { disable: Some(_) }
        ));
        assert_eq!(
            decide(&s, 1, Some(301)),
            Next::Retry(Duration::from_secs(5)),
            "redirects are not followed"
        );
    }
}
