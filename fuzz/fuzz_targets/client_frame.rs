//! Fuzzes the youth frame decoder with any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = relais::protocol::decode_client_frame(text);
    }
});
