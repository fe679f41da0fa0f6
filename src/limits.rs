//! Limits on what one client can ask: client keys (a keyed hash of the address,
//! with a salt made at start, held in memory only and rotated daily), rate limiters
//! built on governor, and the count of open youth sockets.

use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::LimitsConfig;

/// A client, as the limits know it: a short keyed hash of its address. Never
/// stored, never logged; the salt changes every day, so it cannot follow anyone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(pub String);

struct Salt {
    bytes: [u8; 32],
    day: u64,
}

/// Every limiter of the server, keyed, in memory only.
pub struct Limits {
    config: LimitsConfig,
    salt: Mutex<Salt>,
    /// New sessions per client key.
    pub sessions: DefaultKeyedRateLimiter<ClientKey>,
    /// Login attempts per client key.
    pub logins: DefaultKeyedRateLimiter<ClientKey>,
    /// Console API calls per token key.
    pub api_calls: DefaultKeyedRateLimiter<[u8; 32]>,
    /// Receipt look-ups per client key, and for everyone together.
    pub receipts: DefaultKeyedRateLimiter<ClientKey>,
    pub receipts_global: governor::DefaultDirectRateLimiter,
    /// Open sockets per client key.
    sockets: Mutex<std::collections::HashMap<ClientKey, usize>>,
}

fn per_minute(count: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(count.max(1)).expect("at least one"))
}

impl Limits {
    pub fn new(config: LimitsConfig, now_secs: u64) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self {
            sessions: RateLimiter::keyed(per_minute(config.sessions_per_minute)),
            logins: RateLimiter::keyed(per_minute(30)),
            api_calls: RateLimiter::keyed(per_minute(config.api_calls_per_minute)),
            receipts: RateLimiter::keyed(
                Quota::per_hour(NonZeroU32::new(10).expect("nonzero"))
                    .allow_burst(NonZeroU32::new(5).expect("nonzero")),
            ),
            receipts_global: RateLimiter::direct(per_minute(60)),
            salt: Mutex::new(Salt {
                bytes,
                day: now_secs / 86_400,
            }),
            sockets: Mutex::new(Default::default()),
            config,
        }
    }

    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    /// The key of an address; the salt is renewed when the day changes.
    pub fn client_key(&self, address: IpAddr, now_secs: u64) -> ClientKey {
        let mut salt = self.salt.lock().expect("salt lock poisoned");
        if salt.day != now_secs / 86_400 {
            rand::rng().fill_bytes(&mut salt.bytes);
            salt.day = now_secs / 86_400;
        }
        let mut hasher = Sha256::new();
        hasher.update(salt.bytes);
        hasher.update(address.to_string().as_bytes());
        let digest = hasher.finalize();
        ClientKey(digest[..12].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The client's address: the peer, or the forwarded one when the peer is a
    /// trusted proxy.
    pub fn client_address(&self, parts: &Parts) -> IpAddr {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        if !self.config.trusted_proxies.contains(&peer) {
            return peer;
        }
        parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(peer)
    }

    /// Takes a socket place for a client; `None` when it has too many open.
    pub fn open_socket(&self, client: &ClientKey) -> Option<SocketPlace<'_>> {
        let mut sockets = self.sockets.lock().expect("socket lock poisoned");
        let count = sockets.entry(client.clone()).or_insert(0);
        if *count >= self.config.sockets_per_client {
            return None;
        }
        *count += 1;
        Some(SocketPlace {
            limits: self,
            client: client.clone(),
        })
    }

    /// Forgets keys not seen lately (called periodically).
    pub fn evict_old_keys(&self) {
        for limiter in [&self.sessions, &self.logins, &self.receipts] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.api_calls.retain_recent();
        self.api_calls.shrink_to_fit();
    }
}

/// A socket's place in its client's count; given back when dropped.
pub struct SocketPlace<'a> {
    limits: &'a Limits,
    client: ClientKey,
}

impl Drop for SocketPlace<'_> {
    fn drop(&mut self) {
        let mut sockets = self.limits.sockets.lock().expect("socket lock poisoned");
        if let Some(count) = sockets.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                sockets.remove(&self.client);
            }
        }
    }
}

/// Checks a keyed limiter; on refusal, how long to wait.
pub fn check_keyed<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), Duration> {
    limiter
        .check_key(key)
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

/// The client key of a request, as an extractor.
pub struct Client(pub ClientKey);

impl FromRequestParts<crate::server::AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::server::AppState,
    ) -> Result<Self, Self::Rejection> {
        let address = state.limits.client_address(parts);
        Ok(Client(
            state.limits.client_key(address, state.clock.now_secs()),
        ))
    }
}

/// A per-session frame limiter: about `per_sec` frames a second with a burst.
pub fn frame_limiter(config: &LimitsConfig) -> governor::DefaultDirectRateLimiter {
    let quota = Quota::per_second(NonZeroU32::new(config.frames_per_sec.max(1)).expect("nonzero"))
        .allow_burst(NonZeroU32::new(config.frames_burst.max(1)).expect("nonzero"));
    RateLimiter::direct(quota)
}

/// A per-session limiter of requests for a human.
pub fn handoff_limiter(config: &LimitsConfig) -> governor::DefaultDirectRateLimiter {
    let per_hour = NonZeroU32::new(config.handoffs_per_hour.max(1)).expect("nonzero");
    RateLimiter::direct(Quota::per_hour(per_hour).allow_burst(per_hour))
}

/// How long a direct limiter asks to wait, or `None` when it lets the frame through.
pub fn check_direct(limiter: &governor::DefaultDirectRateLimiter) -> Option<Duration> {
    limiter
        .check()
        .err()
        .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}
