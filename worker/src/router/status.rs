//! What this process knows of each deployment, for `GET /api/v1/providers`.

use tokio::time::Instant;

use super::{Router, breaker::BreakerState};

/// What ops see of a deployment, as this process knows it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct DeploymentStatus {
    pub name: String,
    pub kind: String,
    pub model: String,
    pub breaker: BreakerState,
    pub success_rate: Option<f64>,
}

impl Router {
    /// Publishes this process's view of every deployment to Redis every few seconds, for
    /// `GET /api/v1/providers`; entries of a stopped process expire on their own.
    pub async fn publish_status(
        &self,
        backplane: &bacowr_shared::backplane::Backplane,
        namespace: &str,
        owner: &str,
    ) {
        for status in self.status() {
            let key = format!("{namespace}:providers:{}:{owner}", status.name);
            let Ok(value) = serde_json::to_string(&status) else {
                continue;
            };
            let result = backplane
                .set_ex(&key, &value, std::time::Duration::from_secs(30))
                .await;
            if let Err(e) = result {
                tracing::debug!(error = %e, "could not publish provider status");
            }
        }
    }

    pub fn status(&self) -> Vec<DeploymentStatus> {
        let breakers = self.breakers.lock().expect("breaker lock");
        let now = Instant::now();
        self.deployments
            .iter()
            .map(|d| {
                let b = &breakers[&d.name];
                DeploymentStatus {
                    name: d.name.clone(),
                    kind: d.settings.kind.as_str().to_owned(),
                    model: d.settings.model.clone(),
                    breaker: b.state(now),
                    success_rate: b.success_rate(),
                }
            })
            .collect()
    }
}
