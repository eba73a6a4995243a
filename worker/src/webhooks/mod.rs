//! Webhook delivery (#6). Event sources record deliveries in their own transactions
//! (`bacowr_shared::webhooks::outbox`, called from [`events`]); the active dispatcher pushes
//! the due ones to a Redis queue of their own ([`dispatch`]); workers send them, signed, with
//! their own concurrency and timeout, and record every attempt ([`deliver`], [`store`]).
//! A receiver that is slow or down only ever holds webhook slots, never article work.

pub mod deliver;
pub mod dispatch;
pub mod events;
mod send;
pub mod store;

pub use deliver::{WebhookState, handle};
