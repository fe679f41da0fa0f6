//! The pager webhook (`handoff.urgent_webhook`): a JSON POST for "urgent request
//! waiting", "request waiting longer than N minutes" and "nobody on call", signed
//! with HMAC-SHA256 so the receiver can check it came from this server. Sent off the
//! request path by its own tasks, retried with backoff until the receiver answers
//! 2xx; never carries anything a youth wrote (counts, urgency, a request number).
//! The payload and a verification example are in `docs/protocol.md`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::Sha256;

use crate::clock::Clock;

/// Attempts before a delivery is given up (waits 1, 2, 4, 8, 16, 32 s between).
pub(crate) const ATTEMPTS: u32 = 7;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WebhookKind {
    /// An urgent request waits unclaimed (after `webhook_after_secs`, or at once
    /// when nobody is on call).
    UrgentWaiting,
    /// A request has waited longer than `long_wait_mins`.
    LongWait,
    /// A request arrived and nobody is on call (once until someone is again).
    NobodyOnCall,
}

impl WebhookKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::UrgentWaiting => "urgent_waiting",
            Self::LongWait => "long_wait",
            Self::NobodyOnCall => "nobody_on_call",
        }
    }
}

/// What is sent: no youth content, ever.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WebhookEvent {
    pub event: WebhookKind,
    /// Unique per event; every retry of one event carries the same id.
    pub id: String,
    /// Unix seconds.
    pub at: u64,
    /// The request's number in the queue (as the console shows it), if about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff: Option<u64>,
    pub urgent: bool,
    /// Seconds the request has waited, if about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_secs: Option<u64>,
    /// Requests waiting now, and how many of them are urgent.
    pub waiting: usize,
    pub urgent_waiting: usize,
    /// Intervenors on call now.
    pub on_call: usize,
}

impl WebhookEvent {
    pub(crate) fn new(kind: WebhookKind, clock: &Clock) -> Self {
        let mut id = [0u8; 12];
        rand::rng().fill_bytes(&mut id);
        Self {
            event: kind,
            id: data_encoding::HEXLOWER.encode(&id),
            at: clock.now_secs(),
            handoff: None,
            urgent: false,
            waited_secs: None,
            waiting: 0,
            urgent_waiting: 0,
            on_call: 0,
        }
    }
}

/// The signature a receiver recomputes: hex HMAC-SHA256 of `timestamp.body`.
pub(crate) fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
}

/// The webhook's sender. Cheap to clone.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
    secret: String,
    client: reqwest::Client,
    clock: Clock,
}

impl Webhook {
    pub(crate) fn new(
        url: reqwest::Url,
        secret: String,
        client: reqwest::Client,
        clock: Clock,
    ) -> Self {
        Self {
            url,
            secret,
            client,
            clock,
        }
    }

    /// Sends an event in its own task, retried with backoff; returns at once.
    pub(crate) fn send(&self, event: WebhookEvent) {
        let this = self.clone();
        tokio::spawn(async move {
            this.deliver(event).await;
        });
    }

    /// Delivers one event; true once the receiver took it.
    pub(crate) async fn deliver(&self, event: WebhookEvent) -> bool {
        let body = crate::protocol::to_bytes(&event);
        let mut wait = Duration::from_secs(1);
        for attempt in 1..=ATTEMPTS {
            let timestamp = self.clock.now_secs();
            let sent = self
                .client
                .post(self.url.clone())
                .timeout(ATTEMPT_TIMEOUT)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-Relais-Event", event.event.as_str())
                .header("X-Relais-Delivery", &event.id)
                .header("X-Relais-Timestamp", timestamp.to_string())
                .header(
                    "X-Relais-Signature",
                    format!("sha256={}", signature(&self.secret, timestamp, &body)),
                )
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => return true,
                Ok(response) => tracing::warn!(
                    event = event.event.as_str(),
                    attempt,
                    status = response.status().as_u16(),
                    "the webhook refused an event"
                ),
                Err(e) => tracing::warn!(
                    event = event.event.as_str(),
                    attempt,
                    error = %e.without_url(),
                    "the webhook could not be reached"
                ),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        tracing::error!(
            event = event.event.as_str(),
            "the webhook never took an event"
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_and_body() {
        // Checked against: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", 1_700_000_000, br#"{"a":1}"#),
            "49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }
}
