//! What this deployment can't check, said up front on every batch answer and estimate, so a
//! batch that ends in review for a reason of the set-up is not mistaken for bad writing.

use bacowr_shared::config::Settings;

pub fn for_settings(settings: &Settings) -> Vec<String> {
    let mut notices = Vec::new();
    if !settings.context.enabled {
        notices.push(
            "page context is off (context.enabled = false): target and publisher pages are not \
             read and no trust link can be verified, so articles that need one go to review \
             after their first draft"
                .to_owned(),
        );
    } else if !settings.context.simulate_web.is_empty() {
        notices.push(
            "the web is simulated (context.simulate_web): pages and trust links are checked \
             against simulated pages, not the real sites"
                .to_owned(),
        );
    }
    notices
}
