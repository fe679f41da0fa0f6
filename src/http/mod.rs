//! HTTP plumbing the features share, below them all: the API's extractors (a JSON
//! body whose mistakes answer the API's error, the staff member behind a bearer
//! token) and the WebSocket helpers of both sockets. It takes what it needs from
//! any state through `FromRef`, so it depends on no feature's state and no feature
//! depends on `server` for it (`server` wires the features; nothing wires `server`).

pub(crate) mod extract;
pub(crate) mod ws_util;

pub(crate) use extract::{ApiJson, Authed};
