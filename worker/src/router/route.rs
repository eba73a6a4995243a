//! One job's way through the chain across its generations: which deployments it may use (the
//! batch's own chain, else all), and which have already given it unusable output, so that a
//! regeneration continues down the chain from where the job is instead of asking again the
//! deployment that could not answer.

use crate::provider::{ErrorClass, ProviderError};

#[derive(Debug, Default, Clone)]
pub struct Route {
    /// A batch's chosen deployments, in its order.
    pub only: Option<Vec<String>>,
    /// Deployments that gave unusable output to this job, with what each did.
    spent: Vec<(String, ErrorClass)>,
}

impl Route {
    pub fn new(only: Option<Vec<String>>) -> Self {
        Self {
            only,
            spent: Vec::new(),
        }
    }

    pub fn is_spent(&self, deployment: &str) -> bool {
        self.spent.iter().any(|(d, _)| d == deployment)
    }

    pub fn spend(&mut self, deployment: &str, class: ErrorClass) {
        if !self.is_spent(deployment) {
            self.spent.push((deployment.to_owned(), class));
        }
    }

    /// The job's error once every deployment of its chain gave unusable output: what each did.
    pub fn exhausted(&self) -> ProviderError {
        let each: Vec<String> = self
            .spent
            .iter()
            .map(|(d, class)| format!("{d}: {}", class.as_str()))
            .collect();
        let last = self
            .spent
            .last()
            .map_or(ErrorClass::Unparseable, |(_, c)| *c);
        ProviderError::new(
            last,
            Some(200),
            format!(
                "every deployment of the chain gave unusable output ({})",
                each.join(", ")
            ),
        )
    }

    pub fn spent(&self) -> &[(String, ErrorClass)] {
        &self.spent
    }
}
