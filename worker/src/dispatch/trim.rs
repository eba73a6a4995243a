//! apalis-redis never cleans up: every finished task stays in `:done` or `:dead` with its data
//! and metadata, and its own `vacuum()` scans the whole data hash. Outcomes live
//! in Postgres, so finished tasks are removed here, a bounded number per tick.

use redis::{Script, aio::ConnectionManager};

const TRIM: &str = r#"
-- KEYS: done set, dead set, data hash, meta prefix. ARGV[1]: most to remove per set.
local removed = 0
for _, set in ipairs({KEYS[1], KEYS[2]}) do
    local ids = redis.call("SPOP", set, tonumber(ARGV[1]))
    for _, id in ipairs(ids) do
        redis.call("HDEL", KEYS[3], id)
        redis.call("DEL", KEYS[4] .. ":" .. id)
        removed = removed + 1
    end
end
return removed
"#;

pub async fn finished_tasks(
    redis: &mut ConnectionManager,
    config: &apalis_redis::Config,
    per_set: usize,
) -> redis::RedisResult<i64> {
    Script::new(TRIM)
        .key(config.done_jobs_set())
        .key(config.dead_jobs_set())
        .key(config.job_data_hash())
        .key(config.job_meta_hash())
        .arg(per_set.max(1))
        .invoke_async(redis)
        .await
}
