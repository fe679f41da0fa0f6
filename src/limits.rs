//! Limits on what one client can ask: client keys (a keyed hash of the address's
//! network — an IPv6 /64 or /56, an IPv4 address — with a salt made at start, held
//! in memory only and rotated daily), rate limiters built on governor and read on
//! the server's one [`Clock`] (so paused tests move them), ceilings for everyone
//! together on what costs, and the count of open youth sockets.

use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::config::LimitsConfig;

/// A rate limiter for one thing (a session's frames, everyone's logins), on the
/// server's clock.
pub(crate) type DirectLimiter =
    RateLimiter<NotKeyed, InMemoryState, Clock, NoOpMiddleware<Duration>>;

/// A rate limiter with one budget per key (a client key, a token), on the server's
/// clock.
pub(crate) type KeyedLimiter<K> =
    RateLimiter<K, DefaultKeyedStateStore<K>, Clock, NoOpMiddleware<Duration>>;

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
    /// New sessions per client key, and for everyone together.
    pub sessions: KeyedLimiter<ClientKey>,
    pub sessions_global: DirectLimiter,
    /// Login attempts per client key, and for everyone together.
    pub logins: KeyedLimiter<ClientKey>,
    pub logins_global: DirectLimiter,
    /// Reports per client key, and for everyone together.
    pub reports: KeyedLimiter<ClientKey>,
    pub reports_global: DirectLimiter,
    /// Requests for a person (not urgent) for everyone together.
    pub handoffs_global: DirectLimiter,
    /// Receipt look-ups by keys that already made one this hour: a pool of their
    /// own, so they cannot take the room of keys that have not.
    pub receipts_again: DirectLimiter,
    receipts_seen: KeyedLimiter<ClientKey>,
    /// Console API calls per token key.
    pub api_calls: KeyedLimiter<[u8; 32]>,
    /// Receipt look-ups per client key, and for everyone together.
    pub receipts: KeyedLimiter<ClientKey>,
    pub receipts_global: DirectLimiter,
    /// Open sockets per client key.
    sockets: Mutex<std::collections::HashMap<ClientKey, usize>>,
    /// Places for console sockets, for everyone together.
    pub console_sockets: std::sync::Arc<tokio::sync::Semaphore>,
}

/// A limiter for one thing on `clock`.
fn direct(clock: Clock, quota: Quota) -> DirectLimiter {
    RateLimiter::direct_with_clock(quota, clock)
}

/// A limiter with one budget per key on `clock`.
fn keyed<K: Hash + Eq + Clone>(clock: Clock, quota: Quota) -> KeyedLimiter<K> {
    RateLimiter::dashmap_with_clock(quota, clock)
}

fn per_minute(count: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(count.max(1)).expect("at least one"))
}

impl Limits {
    /// Every limiter, empty, on `clock`.
    pub(crate) fn new(config: LimitsConfig, clock: Clock) -> Self {
        let now_secs = clock.now_secs();
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let per_hour = |count: u32| {
            let count = NonZeroU32::new(count.max(1)).expect("at least one");
            Quota::per_hour(count).allow_burst(count)
        };
        Self {
            sessions: keyed(clock, per_minute(config.sessions_per_minute)),
            sessions_global: direct(clock, per_minute(config.sessions_per_minute_all)),
            logins: keyed(clock, per_minute(30)),
            logins_global: direct(clock, per_minute(config.logins_per_minute_all)),
            reports: keyed(clock, per_hour(config.reports_per_hour)),
            reports_global: direct(clock, per_hour(config.reports_per_hour_all)),
            handoffs_global: direct(clock, per_minute(config.handoffs_per_minute_all)),
            receipts_again: direct(clock, per_minute(30)),
            receipts_seen: keyed(clock, Quota::per_hour(NonZeroU32::new(1).expect("nonzero"))),
            api_calls: keyed(clock, per_minute(config.api_calls_per_minute)),
            receipts: keyed(
                clock,
                Quota::per_hour(NonZeroU32::new(10).expect("nonzero"))
                    .allow_burst(NonZeroU32::new(5).expect("nonzero")),
            ),
            receipts_global: direct(clock, per_minute(60)),
            salt: Mutex::new(Salt {
                bytes,
                day: now_secs / 86_400,
            }),
            sockets: Mutex::new(Default::default()),
            console_sockets: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONSOLE_SOCKETS)),
            config,
        }
    }

    /// The key of an address; the salt is renewed when the day changes.
    pub(crate) fn client_key(&self, address: IpAddr, now_secs: u64) -> ClientKey {
        let mut salt = self.salt.lock().expect("salt lock poisoned");
        if salt.day != now_secs / 86_400 {
            rand::rng().fill_bytes(&mut salt.bytes);
            salt.day = now_secs / 86_400;
        }
        let mut hasher = Sha256::new();
        hasher.update(salt.bytes);
        hasher.update(network_of(address, self.config.ipv6_prefix).as_bytes());
        let digest = hasher.finalize();
        ClientKey(digest[..12].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The client's address: the peer, or the forwarded one when the peer is a
    /// trusted proxy.
    pub(crate) fn client_address(&self, parts: &Parts) -> IpAddr {
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
    pub(crate) fn open_socket(&self, client: &ClientKey) -> Option<SocketPlace<'_>> {
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

    /// Checks a receipt look-up: the client's own limit, then the pool for everyone
    /// — or, for a client that already looked one up this hour, a pool of its own,
    /// so repeated look-ups cannot use up the room of those who have not.
    pub(crate) fn check_receipt(&self, client: &ClientKey) -> Option<Duration> {
        if let Err(wait) = check_keyed(&self.receipts, client) {
            return Some(wait);
        }
        if check_keyed(&self.receipts_seen, client).is_ok() {
            check_direct(&self.receipts_global)
        } else {
            check_direct(&self.receipts_again)
        }
    }

    /// Forgets keys not seen lately (called periodically).
    pub(crate) fn evict_old_keys(&self) {
        for limiter in [
            &self.sessions,
            &self.logins,
            &self.receipts,
            &self.reports,
            &self.receipts_seen,
        ] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.api_calls.retain_recent();
        self.api_calls.shrink_to_fit();
    }
}

/// A socket's place in its client's count; given back when dropped.
pub(crate) struct SocketPlace<'a> {
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

/// The network an address is counted as: an IPv4 address (or an IPv4-mapped IPv6
/// one) as itself, an IPv6 address as its first `prefix` bits.
pub(crate) fn network_of(address: IpAddr, prefix: u8) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u32::from(prefix.clamp(16, 128));
                let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                let network = std::net::Ipv6Addr::from(u128::from(v6) & mask);
                format!("{network}/{prefix}")
            }
        },
    }
}

/// Reports a session may send: `reports_per_hour`.
pub(crate) fn session_report_limiter(config: &LimitsConfig, clock: Clock) -> DirectLimiter {
    let per_hour = NonZeroU32::new(config.reports_per_hour.max(1)).expect("nonzero");
    direct(clock, Quota::per_hour(per_hour).allow_burst(per_hour))
}

/// At most this many argon2id hashes at once (logins, receipts, reports), each on
/// a blocking thread with 19 MiB: a flood waits here instead of taking the
/// blocking pool the store's flushes need.
pub(crate) const ARGON2_AT_ONCE: usize = 2;

/// Console sockets open at once, for everyone together.
pub(crate) const MAX_CONSOLE_SOCKETS: usize = 256;

/// A place to run one argon2id hash; hold it while hashing.
pub(crate) async fn argon2_permit() -> tokio::sync::OwnedSemaphorePermit {
    static PLACES: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    PLACES
        .get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(ARGON2_AT_ONCE)))
        .clone()
        .acquire_owned()
        .await
        .expect("the argon2 semaphore is never closed")
}

/// Checks a keyed limiter; on refusal, how long to wait.
pub(crate) fn check_keyed<K: Hash + Eq + Clone>(
    limiter: &KeyedLimiter<K>,
    key: &K,
) -> Result<(), Duration> {
    limiter
        .check_key(key)
        .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
}

/// The client key of a request, as an extractor.
pub struct Client(pub ClientKey);

impl<S> FromRequestParts<S> for Client
where
    S: Send + Sync,
    std::sync::Arc<Limits>: axum::extract::FromRef<S>,
    crate::clock::Clock: axum::extract::FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::FromRef;
        let limits = std::sync::Arc::<Limits>::from_ref(state);
        let clock = crate::clock::Clock::from_ref(state);
        let address = limits.client_address(parts);
        Ok(Client(limits.client_key(address, clock.now_secs())))
    }
}

/// A per-session frame limiter: about `per_sec` frames a second with a burst.
pub(crate) fn frame_limiter(config: &LimitsConfig, clock: Clock) -> DirectLimiter {
    let quota = Quota::per_second(NonZeroU32::new(config.frames_per_sec.max(1)).expect("nonzero"))
        .allow_burst(NonZeroU32::new(config.frames_burst.max(1)).expect("nonzero"));
    direct(clock, quota)
}

/// A per-session limiter of requests for a human.
pub(crate) fn handoff_limiter(config: &LimitsConfig, clock: Clock) -> DirectLimiter {
    let per_hour = NonZeroU32::new(config.handoffs_per_hour.max(1)).expect("nonzero");
    direct(clock, Quota::per_hour(per_hour).allow_burst(per_hour))
}

/// How long a direct limiter asks to wait, or `None` when it lets the frame through.
pub(crate) fn check_direct(limiter: &DirectLimiter) -> Option<Duration> {
    limiter
        .check()
        .err()
        .map(|not_until| not_until.wait_time_from(limiter.clock().now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LimitsConfig {
        LimitsConfig {
            frames_per_sec: 5,
            frames_burst: 10,
            sessions_per_minute: 3,
            ..LimitsConfig::default()
        }
    }

    /// The limiters read the server's clock: a paused test moves them with
    /// `advance`, and the wait they ask for is the time that really frees a place.
    #[tokio::test(start_paused = true)]
    async fn a_burst_is_refused_then_allowed_once_time_moves() {
        let clock = Clock::system();
        let frames = frame_limiter(&config(), clock);
        for _ in 0..10 {
            assert_eq!(check_direct(&frames), None, "the burst goes through");
        }
        let wait = check_direct(&frames).expect("the eleventh frame is refused");
        assert_eq!(wait, Duration::from_millis(200), "one frame every 200 ms");
        tokio::time::advance(wait - Duration::from_millis(1)).await;
        assert!(check_direct(&frames).is_some(), "not before its time");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(check_direct(&frames), None, "allowed once the wait is over");
        assert!(check_direct(&frames).is_some(), "and only one");
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_key_has_its_own_budget_that_comes_back_with_time() {
        let clock = Clock::system();
        let limits = Limits::new(config(), clock);
        let one = limits.client_key(IpAddr::from([198, 51, 100, 1]), clock.now_secs());
        let other = limits.client_key(IpAddr::from([198, 51, 100, 2]), clock.now_secs());
        for _ in 0..3 {
            assert_eq!(check_keyed(&limits.sessions, &one), Ok(()));
        }
        let wait = check_keyed(&limits.sessions, &one).expect_err("a fourth session");
        assert_eq!(wait, Duration::from_secs(20), "three a minute");
        assert_eq!(
            check_keyed(&limits.sessions, &other),
            Ok(()),
            "others still may"
        );
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(check_keyed(&limits.sessions, &one), Ok(()));
        // A key quiet for long enough is forgotten, and starts again with its burst.
        tokio::time::advance(Duration::from_secs(3600)).await;
        limits.evict_old_keys();
        assert!(limits.sessions.is_empty());
        for _ in 0..3 {
            assert_eq!(check_keyed(&limits.sessions, &one), Ok(()));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn receipt_look_ups_are_five_then_one_every_six_minutes() {
        let clock = Clock::system();
        let limits = Limits::new(config(), clock);
        let client = limits.client_key(IpAddr::from([203, 0, 113, 9]), clock.now_secs());
        for _ in 0..5 {
            assert_eq!(limits.check_receipt(&client), None);
        }
        let wait = limits.check_receipt(&client).expect("the sixth is refused");
        assert_eq!(wait, Duration::from_secs(360), "ten an hour");
        tokio::time::advance(wait).await;
        assert_eq!(limits.check_receipt(&client), None);
    }
}
