//! Property tests: the youth frame decoder and the script parser take any bytes
//! without panicking and without memory out of proportion to their input.

use proptest::prelude::*;
use relais::flow::parse::parse_file;
use relais::protocol::decode_client_frame;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_frame_decoder_takes_any_text(text in any::<String>()) {
        let _ = decode_client_frame(&text);
    }

    #[test]
    fn the_frame_decoder_takes_near_valid_json(
        kind in prop::sample::select(vec!["hello", "choose", "text", "restart", "forget", "x", ""]),
        field in prop::sample::select(vec!["id", "text", "lang", "resume", "type", "token"]),
        value in prop::sample::select(vec!["1", "null", "[]", "{}", "\"a\"", "{\"token\":1}", "[[[[[[]]]]]]", "-0.5e99"]),
        depth in 0usize..300,
    ) {
        let nested = "[".repeat(depth) + &"]".repeat(depth);
        let frame = format!(r#"{{"type":"{kind}","{field}":{value},"deep":{nested}}}"#);
        let _ = decode_client_frame(&frame);
    }

    #[test]
    fn the_parser_takes_any_text(text in any::<String>()) {
        let parsed = parse_file("p.flow", &text);
        // Bounded: never more diagnostics than lines, never more nodes than lines.
        let lines = text.lines().count();
        prop_assert!(parsed.diagnostics.len() <= lines * 3 + 1);
        prop_assert!(parsed.nodes.len() <= lines + 1);
    }

    #[test]
    fn the_parser_takes_script_shaped_noise(
        lines in prop::collection::vec(
            (prop::sample::select(vec!["=== ", "* ", "? ", "@quand ", "@sinon ", "@personne ", "@ressource ", "~ ", "-> ", "{si ", "", "  ~ ", "@fin", "#id:"]),
             "[a-zé_ *\"{},=>#:!-]{0,40}"),
            0..60),
    ) {
        let text: String = lines.iter().map(|(head, tail)| format!("{head}{tail}\n")).collect();
        let parsed = parse_file("p.flow", &text);
        for diagnostic in &parsed.diagnostics {
            prop_assert!(diagnostic.pos.line >= 1 && diagnostic.pos.line as usize <= lines.len());
            prop_assert!(!diagnostic.problem.message("fr").is_empty());
        }
    }
}
