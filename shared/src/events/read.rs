//! Reading a topic's stream after a cursor, in order, and telling when the cursor has fallen
//! off the stream (trimmed by its length bound, or expired): events in between may be lost,
//! and the reader must say so instead of pretending continuity.

use super::{LiveEvent, StreamId};
use crate::backplane::Backplane;

/// Where a reader is in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Nothing read yet: everything the stream holds is new.
    Start,
    /// The last entry read; the next read continues right after it.
    After(StreamId),
}

impl Cursor {
    /// Whether an event id is at or before the cursor (already read).
    pub fn covers(&self, id: StreamId) -> bool {
        matches!(self, Self::After(last) if id <= *last)
    }
}

/// One read.
#[derive(Debug)]
pub struct Page {
    /// Entries after the cursor, in stream order.
    pub events: Vec<LiveEvent>,
    /// The cursor's entry is no longer in the stream: events after it may have been lost.
    pub gap: bool,
    /// Where the next read continues.
    pub next: Cursor,
    /// The page was full: read again for more.
    pub more: bool,
}

/// Reads up to `count` entries after `cursor`. The range starts AT the cursor's id so its
/// presence proves that nothing between it and the returned entries was trimmed.
pub async fn read_page(
    backplane: &Backplane,
    key: &str,
    cursor: Cursor,
    count: usize,
) -> redis::RedisResult<Page> {
    let count = count.max(1);
    let (start, ask) = match cursor {
        Cursor::Start => (None, count),
        Cursor::After(id) => (Some(id), count + 1),
    };
    let entries = range(backplane, key, start, ask).await?;
    let more = entries.len() == ask;
    let mut entries = entries.into_iter().peekable();
    let mut gap = false;
    if let Cursor::After(last) = cursor {
        match entries.peek() {
            Some((id, _)) if StreamId::parse(id).ok() == Some(last) => {
                entries.next();
            }
            _ => gap = true,
        }
    }
    let mut events = Vec::new();
    for (id, fields) in entries {
        let Ok(id) = StreamId::parse(&id) else {
            continue;
        };
        match fields.map(|b| serde_json::from_str::<LiveEvent>(&b)) {
            Some(Ok(mut event)) => {
                event.id = Some(id);
                events.push(event);
            }
            _ => tracing::warn!(%id, key, "unreadable live event skipped"),
        }
    }
    let next = match (events.last().and_then(|e| e.id), gap) {
        (Some(id), _) => Cursor::After(id),
        (None, false) => cursor,
        // Fell off an empty or expired stream, or a cursor beyond its end: continue after
        // whatever the stream ends with now, so nothing old is sent again.
        (None, true) => match last_id(backplane, key).await? {
            Some(id) => Cursor::After(id),
            None => Cursor::Start,
        },
    };
    Ok(Page {
        events,
        gap,
        next,
        more,
    })
}

/// `XRANGE key start + COUNT count`, as (id, the event's JSON if the entry has one).
async fn range(
    backplane: &Backplane,
    key: &str,
    start: Option<StreamId>,
    count: usize,
) -> redis::RedisResult<Vec<(String, Option<String>)>> {
    let conn = match backplane {
        Backplane::Redis(conn) => conn,
        Backplane::Local(local) => {
            return Ok(local
                .range(key, start, count)
                .into_iter()
                .map(|(id, body)| (id.to_string(), Some(body)))
                .collect());
        }
    };
    let start = start.map_or_else(|| "-".to_owned(), |id| id.to_string());
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(key)
        .arg(&start)
        .arg("+")
        .arg("COUNT")
        .arg(count)
        .query_async(&mut conn.clone())
        .await?;
    Ok(entries
        .into_iter()
        .map(|(id, fields)| {
            let body = fields
                .chunks(2)
                .find(|kv| kv[0] == "e")
                .and_then(|kv| kv.get(1).cloned());
            (id, body)
        })
        .collect())
}

/// The stream's newest entry id, if it has any.
pub async fn last_id(backplane: &Backplane, key: &str) -> redis::RedisResult<Option<StreamId>> {
    let conn = match backplane {
        Backplane::Redis(conn) => conn,
        Backplane::Local(local) => return Ok(local.last_id(key)),
    };
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut conn.clone())
        .await?;
    Ok(entries.first().and_then(|(id, _)| StreamId::parse(id).ok()))
}
