//! The youth chat: sessions (records, frame logs, attached sockets) and the socket
//! that speaks the contract's section 1.

pub mod conversation;
mod errors;
pub mod session;
pub mod ws;

pub use crate::http::ws_util::{close_socket, origin_allowed};
