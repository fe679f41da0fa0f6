//! Blocks after abuse. An intervenor ends a conversation as `abusive`; from then,
//! for `operations.abuse_block_hours` (24 h by default), that session and the client
//! key it last came from are refused a person: a request for one gets the neutral
//! "nobody can answer here now" with the resources, exactly what a youth sees when
//! nobody is on call. The flows stay open, and an urgent request is never refused.
//!
//! How it holds with anonymity: the session is blocked by its key (the SHA-256 of
//! its token, already what the store keeps), in the `blocks` tree, so the block
//! survives a restart and ends with the session. The client key is the daily-salted
//! hash of the address (`crate::limits`): the link from a session to the client key
//! it asked from is kept in memory only, and so is the block on the client key. It
//! therefore ends at the latest when the salt changes (each day) or the server
//! restarts: it stops the same phone opening a new conversation at once, and
//! cannot follow anyone across days. A supervisor lists the blocks (by the
//! conversation that caused them) and lifts one with `DELETE /api/blocks/{handoff}`.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Clock;
use crate::limits::ClientKey;
use crate::store::records::BlockRecord;
use crate::store::{SessionKey, Store, StoreError};

/// Most session → client links kept in memory (the oldest go first).
const MAX_LINKS: usize = 50_000;

pub(crate) use crate::protocol::BlockItem;

pub struct Blocks {
    store: Store,
    clock: Clock,
    hours: u64,
    /// The client key each session last asked for a person from (memory only).
    links: Mutex<HashMap<SessionKey, (ClientKey, u64)>>,
    /// Blocked client keys: key → (handoff, until ms) (memory only).
    clients: Mutex<HashMap<ClientKey, (u64, u64)>>,
}

impl Blocks {
    pub(crate) fn open(store: &Store, clock: Clock, hours: u64) -> Result<Self, StoreError> {
        Ok(Self {
            store: store.clone(),
            clock,
            hours,
            links: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// Remembers, in memory, which client key a session asks from.
    pub(crate) fn note_client(&self, session: &SessionKey, client: &ClientKey) {
        let now = self.clock.now_ms();
        let mut links = self.links.lock().expect("links lock poisoned");
        if links.len() >= MAX_LINKS {
            if let Some(oldest) = links.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| *k) {
                links.remove(&oldest);
            }
        }
        links.insert(*session, (client.clone(), now));
    }

    /// Whether a session, or the client it asks from, is refused a person now.
    pub(crate) fn refuses(&self, session: &SessionKey, client: &ClientKey) -> bool {
        let now = self.clock.now_ms();
        let by_client = self
            .clients
            .lock()
            .expect("blocks lock poisoned")
            .get(client)
            .is_some_and(|(_, until)| *until > now);
        by_client
            || match self.store.block(session) {
                Ok(block) => block.is_some_and(|b| b.until_ms > now),
                Err(e) => {
                    // Not refusing is the safe side: a person is never withheld on a
                    // store error.
                    tracing::error!(error = %e, "a block could not be read; the session is not refused");
                    false
                }
            }
    }

    /// Blocks the session of a conversation ended as abusive, and its client key.
    pub(crate) fn block(
        &self,
        session: &SessionKey,
        handoff: u64,
        by: &str,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let until = now + self.hours.max(1) * 3_600_000;
        self.store.put_block(
            session,
            &BlockRecord {
                handoff,
                since_ms: now,
                until_ms: until,
                by: by.to_string(),
            },
        )?;
        let client = self
            .links
            .lock()
            .expect("links lock poisoned")
            .remove(session);
        if let Some((client, _)) = client {
            self.clients
                .lock()
                .expect("blocks lock poisoned")
                .insert(client, (handoff, until));
        }
        Ok(())
    }

    /// The blocks in force, soonest to end first; expired ones are dropped.
    pub(crate) fn list(&self) -> Result<Vec<BlockItem>, StoreError> {
        let now = self.clock.now_ms();
        let mut out: Vec<BlockItem> = self
            .store
            .retain_blocks(|block| block.until_ms > now)?
            .into_iter()
            .map(|block| BlockItem {
                handoff: block.handoff,
                since: block.since_ms,
                until: block.until_ms,
                by: block.by,
            })
            .collect();
        self.clients
            .lock()
            .expect("blocks lock poisoned")
            .retain(|_, (_, until)| *until > now);
        out.sort_by_key(|b| b.until);
        Ok(out)
    }

    /// Lifts the block a conversation caused (session and client key); whether one was.
    pub(crate) fn lift(&self, handoff: u64) -> Result<bool, StoreError> {
        let found = self.store.remove_blocks_of(handoff)?;
        let mut clients = self.clients.lock().expect("blocks lock poisoned");
        let before = clients.len();
        clients.retain(|_, (id, _)| *id != handoff);
        Ok(found || clients.len() != before)
    }
}

/// Tells a blocked youth, neutrally, that nobody can answer here now, with the
/// resources of the request: what they would see with nobody on call.
pub(crate) fn refuse(
    stats: &crate::stats::Stats,
    sessions: &crate::session::Sessions,
    key: &SessionKey,
    request: &crate::flow::engine::HandoffRequest,
    lang: &str,
) -> Option<crate::protocol::Control> {
    use crate::protocol::{Event, HandoffStatus, ResourceWire};
    stats.add("handoffs_refused", "abusive", 1);
    let resources = request.resources.iter().map(ResourceWire::from).collect();
    let event = Event::Handoff {
        status: HandoffStatus::Unavailable,
        urgent: false,
        position: None,
        resources: Some(resources),
        name: None,
        message: Some(crate::messages::say(lang, crate::messages::Text::HandoffUnavailable).into()),
    };
    if let Err(e) = sessions.with(key, |ctx| ctx.push(&event)) {
        tracing::error!(error = %e, "could not answer a blocked request");
    }
    None
}
