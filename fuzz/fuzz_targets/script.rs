//! Fuzzes the script parser and the whole-set checks with any bytes.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = relais::flow::parse::parse_file("f.flow", &text);
    let sources = BTreeMap::from([("f.flow".to_string(), text)]);
    let _ = relais::flow::load::build(sources, "accueil");
});
