//! `relais-bench`: measures relais against a bare WebSocket echo floor.

fn main() {}
