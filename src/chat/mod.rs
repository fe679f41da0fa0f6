//! The youth chat: the socket that speaks the contract's section 1 and the conversation
//! it carries (sessions themselves are in `crate::session`).

use std::sync::Arc;

use tokio::sync::{watch, Semaphore};

pub(crate) mod conversation;
mod errors;
pub(crate) mod ws;

pub(crate) use crate::http::ws_util::origin_allowed;

/// What the youth chat needs of the server's state, handles only (cheap to clone):
/// `server` builds it from its `AppState` (`FromRef`), so the chat knows nothing
/// of the server.
#[derive(Clone)]
pub(crate) struct ChatState {
    pub config: Arc<crate::config::Config>,
    pub clock: crate::clock::Clock,
    pub flows: Arc<crate::flow::FlowLibrary>,
    pub sessions: Arc<crate::session::Sessions>,
    pub handoffs: Arc<crate::handoff::Handoffs>,
    pub limits: Arc<crate::limits::Limits>,
    pub stats: Arc<crate::stats::Stats>,
    pub reports: Arc<crate::reports::Reports>,
    /// Youth sockets open now (`limits.max_youth_sockets` permits).
    pub youth_sockets: Arc<Semaphore>,
    pub shutdown: watch::Receiver<bool>,
    pub blocks: Arc<crate::abuse::Blocks>,
}
