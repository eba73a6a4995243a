//! Configuration tests: defaults, overrides, validation, deployments.

// figment's Jail API fixes the closure's error type; its size is not ours to choose.
#![allow(clippy::result_large_err)]
use super::*;

#[test]
fn defaults_load_and_env_overrides() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("BACOWR_WORKER__CONCURRENCY", "9");
        jail.set_env("BACOWR_REDIS__NAMESPACE", "t1");
        let s = Settings::from_figment(Settings::figment(None)).unwrap();
        assert_eq!(s.worker.concurrency, 9);
        assert_eq!(s.redis.namespace, "t1");
        assert_eq!(s.api.max_links_per_batch, 1000);
        Ok(())
    });
}

#[test]
fn deployments_and_chain() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "bacowr.toml",
            r#"
            [router]
            chain = ["claude", "gpt"]
            [deployments.claude]
            kind = "anthropic"
            model = "claude-sonnet-4-5"
            api_key_env = "TEST_ANTHROPIC_KEY"
            rpm = 50
            [deployments.gpt]
            kind = "openai"
            model = "gpt-4o-mini"
            "#,
        )?;
        jail.set_env("TEST_ANTHROPIC_KEY", "sk-ant");
        let s = Settings::from_figment(Settings::figment(Some("bacowr.toml".into()))).unwrap();
        let chain = s.chain();
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0].1.key(), "sk-ant");
        assert_eq!(chain[0].1.base_url(), "https://api.anthropic.com");
        assert_eq!(chain[1].1.price_provider(), "openai");

        jail.set_env("BACOWR_ROUTER__CHAIN", "[\"nope\"]");
        let err = Settings::from_figment(Settings::figment(Some("bacowr.toml".into())))
            .err()
            .unwrap();
        assert!(err.to_string().contains("router.chain"), "{err}");
        Ok(())
    });
}

/// The README's worked example is a configuration that loads.
#[test]
fn the_readme_example_loads() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("A worked example")
        .expect("the README has the example");
    let block = readme[start..]
        .split("```toml")
        .nth(1)
        .expect("a toml block");
    let toml = block.split("```").next().unwrap().to_owned();
    figment::Jail::expect_with(|jail| {
        jail.create_file("example.toml", &toml)?;
        jail.set_env("ANTHROPIC_API_KEY", "a");
        let s = Settings::from_figment(Settings::figment(Some("example.toml".into()))).unwrap();
        let names: Vec<String> = s.chain().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["claude", "gpt", "gemini"]);
        assert_eq!(s.chain()[0].1.key(), "a");
        Ok(())
    });
}

#[test]
fn invalid_values_name_the_field() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("BACOWR_WORKER__CONCURRENCY", "0");
        let err = Settings::from_figment(Settings::figment(None)).unwrap_err();
        assert!(err.to_string().contains("worker.concurrency"), "{err}");
        Ok(())
    });
}

#[test]
fn unknown_models_are_refused_unless_priced_or_free() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("BACOWR_PROVIDER__MODEL", "house-model");
        let table = crate::pricing::PriceTable::embedded();
        let today = chrono::Utc::now().date_naive();
        let s = Settings::from_figment(Settings::figment(None)).unwrap();
        let refused = s.check_prices(&table, today).unwrap_err();
        assert!(
            refused.contains("\"openai\"") && refused.contains("house-model"),
            "names the deployment and model: {refused}"
        );
        jail.set_env("BACOWR_PROVIDER__PRICE_INPUT_PER_MTOK", "1.5");
        jail.set_env("BACOWR_PROVIDER__PRICE_OUTPUT_PER_MTOK", "9.5");
        let s = Settings::from_figment(Settings::figment(None)).unwrap();
        s.check_prices(&table, today).unwrap();
        let (name, d) = &s.chain()[0];
        assert_eq!(d.price(name, &table, today).unwrap().output, 9.5);
        jail.set_env("BACOWR_ROUTER__CHAIN", "[\"local\"]");
        jail.set_env("BACOWR_DEPLOYMENTS__LOCAL__KIND", "openai");
        jail.set_env("BACOWR_DEPLOYMENTS__LOCAL__MODEL", "llama3");
        let s = Settings::from_figment(Settings::figment(None)).unwrap();
        assert!(
            s.check_prices(&table, today)
                .unwrap_err()
                .contains("\"local\"")
        );
        jail.set_env("BACOWR_DEPLOYMENTS__LOCAL__FREE", "true");
        let s = Settings::from_figment(Settings::figment(None)).unwrap();
        s.check_prices(&table, today).unwrap();
        Ok(())
    });
}

#[test]
fn events_settings_are_validated() {
    figment::Jail::expect_with(|jail| {
        let s = Settings::from_figment(Settings::figment(None)).unwrap();
        assert!(s.events.enabled);
        assert_eq!(s.events.retention_secs, 86400);
        for (var, value, field) in [
            (
                "BACOWR_EVENTS__STREAM_MAX_LEN",
                "10",
                "events.stream_max_len",
            ),
            (
                "BACOWR_EVENTS__RETENTION_SECS",
                "5",
                "events.retention_secs",
            ),
            (
                "BACOWR_EVENTS__PUBLISH_TIMEOUT_MS",
                "0",
                "events.publish_timeout_ms",
            ),
            (
                "BACOWR_EVENTS__HEARTBEAT_SECS",
                "0",
                "events.heartbeat_secs",
            ),
            (
                "BACOWR_EVENTS__SUBSCRIBER_BUFFER",
                "1",
                "events.subscriber_buffer",
            ),
        ] {
            jail.set_env(var, value);
            let err = Settings::from_figment(Settings::figment(None))
                .err()
                .unwrap_or_else(|| panic!("{var}={value} accepted"));
            assert!(err.to_string().contains(field), "{err}");
            jail.clear_env();
        }
        Ok(())
    });
}

#[test]
fn webhook_retry_schedule_and_validation() {
    figment::Jail::expect_with(|jail| {
        let s = Settings::from_figment(Settings::figment(None)).unwrap();
        let w = &s.webhooks;
        assert_eq!(w.retry_delay(1), Some(Duration::from_secs(5)));
        assert_eq!(w.retry_delay(7), Some(Duration::from_secs(36000)));
        assert_eq!(w.retry_delay(8), None, "eight attempts in all");
        assert_eq!(w.retry_delay(0), None);
        jail.set_env("BACOWR_WEBHOOKS__RETRY_SCHEDULE_SECS", "[1, 2]");
        let s = Settings::from_figment(Settings::figment(None)).unwrap();
        assert_eq!(s.webhooks.retry_schedule_secs, [1, 2]);
        jail.set_env("BACOWR_WEBHOOKS__REDISPATCH_AFTER_SECS", "5");
        let err = Settings::from_figment(Settings::figment(None)).unwrap_err();
        assert!(
            err.to_string().contains("webhooks.redispatch_after_secs"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn public_url_is_an_http_base_or_empty() {
    figment::Jail::expect_with(|jail| {
        let s = Settings::from_figment(Settings::figment(None)).unwrap();
        assert_eq!(s.api.public_base(), "");
        jail.set_env("BACOWR_API__PUBLIC_URL", "https://bacowr.example.com/");
        let s = Settings::from_figment(Settings::figment(None)).unwrap();
        assert_eq!(s.api.public_base(), "https://bacowr.example.com");
        jail.set_env("BACOWR_API__PUBLIC_URL", "ftp://x");
        let err = Settings::from_figment(Settings::figment(None)).unwrap_err();
        assert!(err.to_string().contains("api.public_url"), "{err}");
        Ok(())
    });
}

/// The README's Configuration table lists every key of the embedded defaults, each as
/// `section.key` with its `BACOWR_SECTION__KEY` variable. `[deployments]` is a map of named
/// tables, documented by its own row.
#[test]
fn readme_documents_every_default_key() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("read README.md");
    let defaults: toml::Table = toml::from_str(DEFAULTS).expect("default.toml parses");
    let mut missing = Vec::new();
    let mut keys = 0;
    for (section, value) in &defaults {
        if section == "deployments" {
            continue;
        }
        let table = value
            .as_table()
            .unwrap_or_else(|| panic!("[{section}] is a table"));
        for key in table.keys() {
            keys += 1;
            let name = format!("`{section}.{key}`");
            let env = format!("BACOWR_{}__{}", section.to_uppercase(), key.to_uppercase());
            if !readme.contains(&name) {
                missing.push(name);
            }
            if !readme.contains(&env) {
                missing.push(env);
            }
        }
    }
    assert!(keys > 0, "no keys found in DEFAULTS");
    assert!(
        missing.is_empty(),
        "README.md's Configuration table lacks {} of {keys} default keys' entries:\n{}",
        missing.len(),
        missing.join("\n")
    );
}
