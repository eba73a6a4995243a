//! One client's view of a topic: the stream's events after its cursor, in order, each once.
//! Wake-ups from the hub only say "look"; the events themselves always come from the stream,
//! read after the last id this client was sent. So a replay, a lagging subscriber, a hub
//! reconnect and two publishers' messages arriving out of order all end the same way: no
//! event lost, none sent twice, stream order kept. When the cursor has fallen off the stream
//! (trimmed or expired), the client gets a `Reset` instead of a silent hole.

use std::{collections::VecDeque, time::Duration};

use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use bacowr_shared::{
    backplane::Backplane,
    events::{
        LiveEvent, StreamId, Topic,
        read::{Cursor, read_page},
    },
    ids::JobId,
};

use super::hub::{Hub, Subscription, Wake};

/// Entries read per round trip: bounds the memory a long replay holds at once.
const PAGE: usize = 200;
const RETRY_READ: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub enum Item {
    Event(Box<LiveEvent>),
    /// Events after `after` may have been lost (the stream no longer holds it): re-read the
    /// batch, then carry on with the events that follow.
    Reset {
        after: StreamId,
    },
}

pub struct Feed {
    sub: Subscription,
    backplane: Backplane,
    key: String,
    only_job: Option<JobId>,
    cursor: Cursor,
    /// The stream may hold entries after the cursor that were not read yet.
    dirty: bool,
    ready: VecDeque<Item>,
}

impl Feed {
    /// Starts watching `topic` after `cursor` (`Cursor::Start`: everything still retained),
    /// keeping only `only_job`'s events when set.
    pub fn open(
        hub: &Hub,
        backplane: Backplane,
        topic: Topic,
        only_job: Option<JobId>,
        cursor: Cursor,
    ) -> Self {
        // Subscribe before the first read: anything published after the read wakes us.
        let sub = hub.subscribe(topic);
        Self {
            sub,
            backplane,
            key: topic.stream_key(hub.namespace()),
            only_job,
            cursor,
            dirty: true,
            ready: VecDeque::new(),
        }
    }

    /// The next event (or reset). Cancel-safe: callers race it against their heartbeat.
    pub async fn next(&mut self) -> Item {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return item;
            }
            if self.dirty {
                if let Err(e) = self.read().await {
                    tracing::warn!(error = %e, key = self.key, "live events: stream read failed; retrying");
                    tokio::time::sleep(RETRY_READ).await;
                }
                continue;
            }
            match self.sub.rx.recv().await {
                Ok(Wake::Event(id)) if self.cursor.covers(id) => {}
                Ok(_) | Err(RecvError::Lagged(_)) => self.dirty = true,
                // The hub is gone (the app is shutting down): nothing more will come.
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    /// Reads one page after the cursor.
    async fn read(&mut self) -> redis::RedisResult<()> {
        // Wake-ups queued so far are answered by this read.
        while let Ok(_) | Err(TryRecvError::Lagged(_)) = self.sub.rx.try_recv() {}
        let page = read_page(&self.backplane, &self.key, self.cursor, PAGE).await?;
        if page.gap
            && let Cursor::After(after) = self.cursor
        {
            self.ready.push_back(Item::Reset { after });
        }
        for event in page.events {
            if self.only_job.is_none() || event.job_id == self.only_job {
                self.ready.push_back(Item::Event(Box::new(event)));
            }
        }
        self.cursor = page.next;
        self.dirty = page.more;
        Ok(())
    }
}
