//! The youth chat: the socket that speaks the contract's section 1 and the conversation
//! it carries (sessions themselves are in `crate::session`).

pub mod conversation;
mod errors;
pub mod ws;

pub use crate::http::ws_util::{close_socket, origin_allowed};
