//! The youth chat: the socket that speaks the contract's section 1 and the conversation
//! it carries (sessions themselves are in `crate::session`).

pub mod conversation;
mod errors;
pub mod ws;

pub(crate) use crate::http::ws_util::origin_allowed;
