//! One Redis pub/sub connection per API process, shared by every live subscriber of the
//! process. The hub subscribes to a topic's channel while at least one local client watches
//! it, and wakes that topic's subscribers through a tokio broadcast. Wake-ups carry only the
//! event's stream id: each subscriber then reads the stream after its own cursor (see
//! `feed`), so ordering, resume, lag and reconnects all have one answer, and pub/sub may drop
//! or reorder messages without anyone losing an event.
//!
//! Channels are per topic (batch, or lone job) rather than one per deployment: a replica then
//! receives only the events of the batches its own clients watch, and a PUBLISH reaches only
//! the replicas watching that batch, so traffic grows with what is watched, not with
//! replicas × everything the fleet does.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use futures::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{broadcast, mpsc};

use bacowr_shared::{
    backplane::Local,
    events::{StreamId, Topic},
};

/// A reason to look at the stream.
#[derive(Debug, Clone, Copy)]
pub enum Wake {
    /// An event with this id was published.
    Event(StreamId),
    /// The hub (re)subscribed: anything may have been published meanwhile.
    Resync,
}

/// Cheap to clone; the hub task ends when the last clone is dropped.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    namespace: String,
    buffer: usize,
    topics: Mutex<HashMap<String, TopicEntry>>,
    commands: mpsc::UnboundedSender<Command>,
}

struct TopicEntry {
    tx: broadcast::Sender<Wake>,
    subscribers: usize,
}

enum Command {
    Subscribe(String),
    Unsubscribe(String),
}

/// A subscriber's wake-ups for one topic; unsubscribes the hub when the last one is dropped.
pub struct Subscription {
    pub rx: broadcast::Receiver<Wake>,
    hub: Weak<Inner>,
    channel: String,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(inner) = self.hub.upgrade() else {
            return;
        };
        let mut topics = inner.topics.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = topics.get_mut(&self.channel) {
            entry.subscribers -= 1;
            if entry.subscribers == 0 {
                topics.remove(&self.channel);
                let _ = inner
                    .commands
                    .send(Command::Unsubscribe(self.channel.clone()));
            }
        }
    }
}

impl Hub {
    /// Starts the hub task on the current runtime.
    pub fn start(client: redis::Client, namespace: &str, buffer: usize) -> Self {
        let (hub, rx) = Self::new(namespace, buffer);
        tokio::spawn(run(client, Arc::downgrade(&hub.inner), rx));
        hub
    }

    fn new(namespace: &str, buffer: usize) -> (Self, mpsc::UnboundedReceiver<Command>) {
        let (commands, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            namespace: namespace.to_owned(),
            buffer: buffer.max(16),
            topics: Mutex::new(HashMap::new()),
            commands,
        });
        (Self { inner }, rx)
    }

    /// The embedded build's hub: the wake-ups come from the in-process backplane's publishes
    /// instead of a Redis subscription, everything else is the same.
    pub fn start_local(local: &Arc<Local>, namespace: &str, buffer: usize) -> Self {
        let (hub, rx) = Self::new(namespace, buffer);
        tokio::spawn(run_local(local.subscribe(), Arc::downgrade(&hub.inner), rx));
        hub
    }

    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// Wake-ups for `topic` from now on. The caller reads the stream afterwards: whatever was
    /// published before the subscription took effect is found there (the hub also sends a
    /// `Resync` once Redis confirms it).
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let channel = topic.channel(&self.inner.namespace);
        let mut topics = self.inner.topics.lock().unwrap_or_else(|p| p.into_inner());
        let entry = topics.entry(channel.clone()).or_insert_with(|| {
            let _ = self
                .inner
                .commands
                .send(Command::Subscribe(channel.clone()));
            TopicEntry {
                tx: broadcast::channel(self.inner.buffer).0,
                subscribers: 0,
            }
        });
        entry.subscribers += 1;
        Subscription {
            rx: entry.tx.subscribe(),
            hub: Arc::downgrade(&self.inner),
            channel,
        }
    }

    /// Topics with local subscribers (for metrics and tests).
    pub fn watched(&self) -> usize {
        self.inner
            .topics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

fn wake(inner: &Inner, channel: &str, wake: Wake) {
    let topics = inner.topics.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(entry) = topics.get(channel) {
        // No receiver left is fine: the subscription is being dropped.
        let _ = entry.tx.send(wake);
    }
}

fn wake_all(inner: &Inner) {
    let topics = inner.topics.lock().unwrap_or_else(|p| p.into_inner());
    for entry in topics.values() {
        let _ = entry.tx.send(Wake::Resync);
    }
}

const PING_EVERY: Duration = Duration::from_secs(10);
const PING_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Connects, subscribes to every watched channel and relays messages, reconnecting with
/// backoff whenever the connection fails or stops answering pings.
async fn run(
    client: redis::Client,
    inner: Weak<Inner>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if inner.strong_count() == 0 {
            return;
        }
        match client.get_async_pubsub().await {
            Ok(pubsub) => {
                let (sink, stream) = pubsub.split();
                match relay(&inner, sink, stream, &mut commands, &mut backoff).await {
                    Ended::HubDropped => return,
                    Ended::ConnectionLost(why) => {
                        tracing::warn!(why, "live events: Redis pub/sub connection lost");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "live events: cannot connect to Redis pub/sub"),
        }
        let jitter = Duration::from_millis(rand::random::<u64>() % 100);
        tokio::time::sleep(backoff + jitter).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

enum Ended {
    HubDropped,
    ConnectionLost(String),
}

async fn relay(
    inner: &Weak<Inner>,
    mut sink: PubSubSink,
    mut stream: PubSubStream,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    backoff: &mut Duration,
) -> Ended {
    let lost = |e: redis::RedisError| Ended::ConnectionLost(e.to_string());
    let Some(hub) = inner.upgrade() else {
        return Ended::HubDropped;
    };
    let channels: Vec<String> = hub
        .topics
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .keys()
        .cloned()
        .collect();
    if !channels.is_empty()
        && let Err(e) = sink.subscribe(&channels).await
    {
        return lost(e);
    }
    // Whatever was published while we were away is in the streams.
    wake_all(&hub);
    drop(hub);
    *backoff = Duration::from_millis(100);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return Ended::HubDropped };
                let Some(hub) = inner.upgrade() else { return Ended::HubDropped };
                match command {
                    Command::Subscribe(channel) => {
                        if let Err(e) = sink.subscribe(&channel).await {
                            return lost(e);
                        }
                        wake(&hub, &channel, Wake::Resync);
                    }
                    Command::Unsubscribe(channel) => {
                        // Re-watched meanwhile: its Subscribe command follows; stay subscribed.
                        let watched = hub.topics.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&channel);
                        if !watched && let Err(e) = sink.unsubscribe(&channel).await {
                            return lost(e);
                        }
                    }
                }
            }
            message = stream.next() => {
                let Some(message) = message else {
                    return Ended::ConnectionLost("stream ended".into());
                };
                let Some(hub) = inner.upgrade() else { return Ended::HubDropped };
                let channel = message.get_channel_name().to_owned();
                let id = serde_json::from_slice::<IdOnly>(message.get_payload_bytes())
                    .ok()
                    .and_then(|m| m.id);
                wake(&hub, &channel, id.map_or(Wake::Resync, Wake::Event));
            }
            _ = ping.tick() => {
                match tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return lost(e),
                    Err(_) => return Ended::ConnectionLost("ping timed out".into()),
                }
            }
        }
    }
}

/// Relays the in-process publishes to the watching subscribers until the hub is dropped.
async fn run_local(
    mut published: broadcast::Receiver<(String, StreamId)>,
    inner: Weak<Inner>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return };
                let Some(hub) = inner.upgrade() else { return };
                // Nothing to subscribe to: every publish arrives here.
                if let Command::Subscribe(channel) = command {
                    wake(&hub, &channel, Wake::Resync);
                }
            }
            message = published.recv() => {
                let Some(hub) = inner.upgrade() else { return };
                match message {
                    Ok((channel, id)) => wake(&hub, &channel, Wake::Event(id)),
                    // Fell behind: every watcher re-reads its stream.
                    Err(broadcast::error::RecvError::Lagged(_)) => wake_all(&hub),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    }
}

#[derive(serde::Deserialize)]
struct IdOnly {
    id: Option<StreamId>,
}
