//! The queue contract between the API and the workers. Redis carries only ids; Postgres holds
//! the work. Versioned so old and new workers can run side by side in a rolling deploy: add a
//! variant, never change one.

use serde::{Deserialize, Serialize};

use crate::ids::{JobId, OrgId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum GenerateArticle {
    #[serde(rename = "1")]
    V1 {
        job_id: JobId,
        org_id: OrgId,
        /// W3C trace context of the request that created the job.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traceparent: Option<String>,
    },
}

impl GenerateArticle {
    pub fn job_id(&self) -> JobId {
        match self {
            Self::V1 { job_id, .. } => *job_id,
        }
    }

    pub fn org_id(&self) -> OrgId {
        match self {
            Self::V1 { org_id, .. } => *org_id,
        }
    }
}

/// Names of the Redis queues under a deployment's namespace, so tests and several deployments
/// can share one Redis without collisions.
pub fn generate_article_queue(namespace: &str) -> String {
    format!("{namespace}:generate-article")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_stable() {
        let job_id = JobId::new();
        let org_id = OrgId::new();
        let task = GenerateArticle::V1 {
            job_id,
            org_id,
            traceparent: None,
        };
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"v": "1", "job_id": job_id.to_string(), "org_id": org_id.to_string()})
        );
        assert_eq!(
            serde_json::from_value::<GenerateArticle>(json).unwrap(),
            task
        );
    }
}
