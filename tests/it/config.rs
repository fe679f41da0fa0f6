//! The configuration's layers, as an operator meets them: every setting that
//! `relais config example` prints can be set from the file and from a `RELAIS_*`
//! variable and takes; flags win over variables, which win over the file; a mistake
//! is one sentence naming the key and where its value came from; and every
//! subcommand reads its settings the same way.
//!
//! The variables are given to the loader as a list, or to a child process: the test
//! process's own environment is never changed.

use std::path::Path;
use std::process::{Command, Output};

use relais::config::{Config, Flags};
use serde_json::Value as Json;

use crate::common::{fixture_flows, repo_path};

/// One setting as the example prints it.
struct Printed {
    path: Vec<String>,
    value: toml::Value,
    /// Printed commented: unset by default, the value is an example.
    commented: bool,
}

/// `relais config example`, as the binary prints it.
fn example_from_the_binary() -> String {
    let output = relais(&["config", "example"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// Every setting of the example, the commented ones (`# key = value`) included.
fn printed_settings(example: &str) -> Vec<Printed> {
    let mut text = String::new();
    let mut commented = Vec::new();
    let mut section = String::new();
    for line in example.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        }
        let uncommented = line.strip_prefix("# ").filter(|rest| {
            let key = rest.split(" = ").next().unwrap_or("");
            !key.is_empty()
                && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && toml::from_str::<toml::Table>(rest).is_ok()
        });
        match uncommented {
            Some(setting) => {
                let key = setting.split(" = ").next().unwrap();
                let mut path: Vec<String> = section
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                path.push(key.to_string());
                commented.push(path);
                text.push_str(setting);
            }
            None => text.push_str(line),
        }
        text.push('\n');
    }
    let table: toml::Table = toml::from_str(&text).expect("the example is TOML");
    let mut out = Vec::new();
    fn walk(
        table: &toml::Table,
        path: &mut Vec<String>,
        commented: &[Vec<String>],
        out: &mut Vec<Printed>,
    ) {
        for (key, value) in table {
            path.push(key.clone());
            match value {
                toml::Value::Table(inner) => walk(inner, path, commented, out),
                value => out.push(Printed {
                    path: path.clone(),
                    value: value.clone(),
                    commented: commented.contains(path),
                }),
            }
            path.pop();
        }
    }
    walk(&table, &mut Vec::new(), &commented, &mut out);
    out
}

/// Every leaf of the defaults, `None` ones included, as JSON pointers.
fn leaves(value: &Json, pointer: String, out: &mut Vec<(String, Json)>) {
    match value {
        Json::Object(map) => {
            for (key, inner) in map {
                leaves(inner, format!("{pointer}/{key}"), out);
            }
        }
        other => out.push((pointer, other.clone())),
    }
}

/// Another valid value of the same kind as `value`, the way an operator would change it.
fn changed(value: &toml::Value) -> toml::Value {
    match value {
        toml::Value::Integer(n) => toml::Value::Integer(n + 1),
        toml::Value::Boolean(b) => toml::Value::Boolean(!b),
        toml::Value::String(s) => match s.parse::<std::net::SocketAddr>() {
            Ok(mut address) => {
                address.set_port(address.port() + 1);
                toml::Value::String(address.to_string())
            }
            Err(_) => toml::Value::String(format!("{s}-autre")),
        },
        // An address is a valid element of both kinds of list (logins, proxies).
        toml::Value::Array(_) => toml::Value::Array(vec![toml::Value::String("127.0.0.2".into())]),
        other => panic!("no setting takes {other:?} yet: teach this test how to change it"),
    }
}

fn env_name(path: &[String]) -> String {
    let upper: Vec<String> = path.iter().map(|p| p.to_ascii_uppercase()).collect();
    format!("RELAIS_{}", upper.join("__"))
}

fn pointer(path: &[String]) -> String {
    format!("/{}", path.join("/"))
}

fn json(value: &toml::Value) -> Json {
    serde_json::to_value(value).unwrap()
}

/// The defaults with one setting changed.
fn defaults_with(path: &[String], value: &toml::Value) -> Json {
    let mut expected = serde_json::to_value(Config::default()).unwrap();
    *expected.pointer_mut(&pointer(path)).unwrap() = json(value);
    expected
}

fn relais(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relais"));
    command.args(args).current_dir(repo_path(""));
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_example_prints_every_setting_once_and_those_unset_commented() {
    let example = example_from_the_binary();
    assert_eq!(example, Config::example());
    let printed = printed_settings(&example);
    let mut defaults = Vec::new();
    leaves(
        &serde_json::to_value(Config::default()).unwrap(),
        String::new(),
        &mut defaults,
    );
    let mut printed_pointers: Vec<String> = printed.iter().map(|p| pointer(&p.path)).collect();
    printed_pointers.sort();
    let mut setting_pointers: Vec<String> = defaults.iter().map(|(p, _)| p.clone()).collect();
    setting_pointers.sort();
    assert_eq!(printed_pointers, setting_pointers, "every setting, once");
    for (pointer_of, default) in &defaults {
        let setting = printed
            .iter()
            .find(|p| &pointer(&p.path) == pointer_of)
            .unwrap();
        // Unset by default exactly when printed commented; otherwise printed at its default.
        assert_eq!(setting.commented, default.is_null(), "{pointer_of}");
        if !setting.commented {
            assert_eq!(&json(&setting.value), default, "{pointer_of}");
        }
        // Each says what it does, on the line above it (above "Unset by default").
        let (section, key) = setting.path.split_at(setting.path.len() - 1);
        let lines: Vec<&str> = example.lines().collect();
        let start = lines
            .iter()
            .position(|l| section.is_empty() || *l == format!("[{}]", section.join(".")))
            .unwrap();
        let line = start
            + lines[start..]
                .iter()
                .position(|l| {
                    l.starts_with(&format!("{} = ", key[0]))
                        || l.starts_with(&format!("# {} = ", key[0]))
                })
                .unwrap();
        let above = lines[line - if setting.commented { 2 } else { 1 }];
        assert!(
            above.starts_with("# ") && above.len() > 12,
            "{pointer_of} has no description: {above:?}"
        );
    }
    let unset = printed.iter().filter(|p| p.commented).count();
    assert!(
        unset >= 5,
        "the settings unset by default are printed ({unset})"
    );
}

#[test]
fn every_setting_the_example_prints_is_set_by_its_variable_and_by_the_file() {
    let printed = printed_settings(&example_from_the_binary());
    assert!(
        printed.len() >= 70,
        "the settings are found ({})",
        printed.len()
    );
    let dir = tempfile::tempdir().unwrap();
    for setting in &printed {
        let value = if setting.commented {
            setting.value.clone()
        } else {
            changed(&setting.value)
        };
        let expected = defaults_with(&setting.path, &value);
        let name = env_name(&setting.path);
        // As an operator writes it in a shell: text bare, anything else as TOML.
        let mut spellings = vec![match &value {
            toml::Value::String(text) => text.clone(),
            other => other.to_string(),
        }];
        if value.is_str() {
            spellings.push(value.to_string());
        }
        for text in spellings {
            let config = Config::load(None, [(name.clone(), text.clone())])
                .unwrap_or_else(|e| panic!("{name}={text}: {e}"));
            assert_eq!(
                serde_json::to_value(&config).unwrap(),
                expected,
                "{name}={text} did not take, or changed something else"
            );
        }
        let (section, key) = setting.path.split_at(setting.path.len() - 1);
        let file = dir.path().join("relais.toml");
        let header = if section.is_empty() {
            String::new()
        } else {
            format!("[{}]\n", section.join("."))
        };
        std::fs::write(&file, format!("{header}{} = {value}\n", key[0])).unwrap();
        let config = Config::load(Some(&file), std::iter::empty())
            .unwrap_or_else(|e| panic!("{}: {e}", setting.path.join(".")));
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            expected,
            "{} in the file did not take",
            setting.path.join(".")
        );
    }
}

#[test]
fn an_empty_variable_unsets_what_the_file_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relais.toml");
    std::fs::write(
        &file,
        "[handoff]\nurgent_webhook = \"https://pager.example.org/relais\"\n",
    )
    .unwrap();
    let from_file = Config::load(Some(&file), std::iter::empty()).unwrap();
    assert_eq!(
        from_file.handoff.urgent_webhook.as_deref(),
        Some("https://pager.example.org/relais")
    );
    let unset = Config::load(
        Some(&file),
        [("RELAIS_HANDOFF__URGENT_WEBHOOK".to_string(), String::new())],
    )
    .unwrap();
    assert_eq!(unset.handoff.urgent_webhook, None);
}

#[test]
fn flags_win_over_variables_which_win_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relais.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:7001\"\nstart_node = \"fichier\"\ndata_dir = \"/fichier\"\n",
    )
    .unwrap();
    let vars = || {
        [
            ("RELAIS_LISTEN".to_string(), "127.0.0.1:7002".to_string()),
            ("RELAIS_START_NODE".to_string(), "variable".to_string()),
        ]
    };
    let flags = Flags {
        listen: Some("127.0.0.1:7003".parse().unwrap()),
        start_node: Some("drapeau".into()),
        flows_dir: Some("/drapeau".into()),
        ..Flags::default()
    };
    let config = Config::load_with(Some(&file), vars(), &flags).unwrap();
    assert_eq!(config.listen.port(), 7003);
    assert_eq!(config.start_node, "drapeau");
    assert_eq!(config.flows_dir, Path::new("/drapeau"));
    assert_eq!(
        config.data_dir,
        Path::new("/fichier"),
        "the file, where nothing else says"
    );
    let config = Config::load_with(Some(&file), vars(), &Flags::default()).unwrap();
    assert_eq!(config.listen.port(), 7002);
    assert_eq!(config.start_node, "variable");
    let config = Config::load_with(Some(&file), std::iter::empty(), &Flags::default()).unwrap();
    assert_eq!(config.listen.port(), 7001);
    assert_eq!(config.web_dir, Config::default().web_dir);
}

/// A mistake to make: the file's text, the variables, the French words and the English
/// words its sentence must hold.
type Case<'a> = (
    Option<&'a str>,
    Vec<(String, String)>,
    Vec<String>,
    Vec<String>,
);

/// Each mistake: its one sentence names the key and where the value came from, in
/// French, and in English when asked.
#[test]
fn a_mistake_names_its_key_and_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relais.toml");
    let file_name = file.display().to_string();
    let var = |name: &str, value: &str| vec![(name.to_string(), value.to_string())];
    let cases: Vec<Case> = vec![
        (
            None,
            var("RELAIS_LIMITS__MAX_QUEUE", "beaucoup"),
            vec![
                "RELAIS_LIMITS__MAX_QUEUE vaut \"beaucoup\"".into(),
                "nombre entier".into(),
            ],
            vec![
                "RELAIS_LIMITS__MAX_QUEUE is \"beaucoup\"".into(),
                "whole number".into(),
            ],
        ),
        (
            None,
            var("RELAIS_LIMITS__MAX_QUUE", "3"),
            vec![
                "RELAIS_LIMITS__MAX_QUUE n'est pas un réglage".into(),
                "voulais-tu dire RELAIS_LIMITS__MAX_QUEUE".into(),
            ],
            vec![
                "RELAIS_LIMITS__MAX_QUUE is not a relais setting".into(),
                "did you mean RELAIS_LIMITS__MAX_QUEUE".into(),
            ],
        ),
        (
            None,
            var("RELAIS_LIMITS__IPV6_PREFIX", "300"),
            vec!["RELAIS_LIMITS__IPV6_PREFIX".into(), "de 0 à 255".into()],
            vec!["RELAIS_LIMITS__IPV6_PREFIX".into(), "from 0 to 255".into()],
        ),
        (
            None,
            var("RELAIS_LISTEN", "partout"),
            vec!["RELAIS_LISTEN".into(), "une adresse et un port".into()],
            vec!["RELAIS_LISTEN".into(), "an address and a port".into()],
        ),
        (
            None,
            var("RELAIS_LIMITS__TRUSTED_PROXIES", "[\"le proxy\"]"),
            vec![
                "RELAIS_LIMITS__TRUSTED_PROXIES".into(),
                "une adresse IP".into(),
            ],
            vec![
                "RELAIS_LIMITS__TRUSTED_PROXIES".into(),
                "an IP address".into(),
            ],
        ),
        (
            None,
            var("RELAIS_CONSOLE__REQUIRE_TOTP", "oui"),
            vec![
                "RELAIS_CONSOLE__REQUIRE_TOTP vaut \"oui\"".into(),
                "true ou false".into(),
            ],
            vec![
                "RELAIS_CONSOLE__REQUIRE_TOTP is \"oui\"".into(),
                "true or false".into(),
            ],
        ),
        (
            None,
            var("RELAIS_LIMITS", "5"),
            vec!["RELAIS_LIMITS".into(), "section".into()],
            vec!["RELAIS_LIMITS".into(), "section".into()],
        ),
        (
            Some("[limits]\nmax_queue = \"beaucoup\"\n"),
            vec![],
            vec![format!("{file_name}:limits.max_queue vaut \"beaucoup\"")],
            vec![format!("{file_name}:limits.max_queue is \"beaucoup\"")],
        ),
        (
            Some("[handoff]\nurgent_webhok = \"https://pager.example.org\"\n"),
            vec![],
            vec![
                format!("{file_name}:handoff.urgent_webhok n'est pas un réglage"),
                "handoff.urgent_webhook".into(),
            ],
            vec![
                format!("{file_name}:handoff.urgent_webhok is not a relais setting"),
                "handoff.urgent_webhook".into(),
            ],
        ),
        (
            Some("[handoff.push]\nenabled = 1\n"),
            vec![],
            vec![format!("{file_name}:handoff.push.enabled vaut 1")],
            vec![format!("{file_name}:handoff.push.enabled is 1")],
        ),
        (
            Some("listen = \n"),
            vec![],
            vec![format!("{file_name} n'est pas du TOML valide, ligne 1")],
            vec![format!("{file_name} is not valid TOML at line 1")],
        ),
    ];
    for (text, vars, french, english) in cases {
        if let Some(text) = text {
            std::fs::write(&file, text).unwrap();
        }
        let path = text.map(|_| file.as_path());
        let error = Config::load(path, vars.clone()).unwrap_err();
        for (lang, words) in [("fr", &french), ("en", &english)] {
            let sentence = error.message(lang);
            for word in words {
                assert!(
                    sentence.contains(word.as_str()),
                    "{vars:?} {text:?} ({lang}): {sentence}"
                );
            }
            assert!(!sentence.contains('\n'), "one line: {sentence}");
            for dump in ["Error {", "Kind", "Some(", "metadata"] {
                assert!(!sentence.contains(dump), "no debug dump: {sentence}");
            }
        }
        assert_eq!(error.to_string(), error.message("fr"), "French first");
    }
    // The value the file got wrong is named even when a variable set another key.
    std::fs::write(&file, "[limits]\nmax_queue = -3\n").unwrap();
    let error = Config::load(
        Some(&file),
        [(
            "RELAIS_LIMITS__MAX_TEXT_CHARS".to_string(),
            "100".to_string(),
        )],
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("{file_name}:limits.max_queue")),
        "{error}"
    );
    // A variable that fixes the file's mistake wins, as it would with a good value.
    let config = Config::load(
        Some(&file),
        [("RELAIS_LIMITS__MAX_QUEUE".to_string(), "50".to_string())],
    )
    .unwrap();
    assert_eq!(config.limits.max_queue, 50);
}

/// Every subcommand that needs settings reads the same layers: a wrong variable stops
/// each with the same sentence, and `RELAIS_FLOWS_DIR`, the file's `flows_dir` and
/// the `--dir` flag choose the flows folder of each flows tool, the flag winning.
#[test]
fn every_subcommand_reads_its_settings_the_same_way() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let out = data.path().join("copie.relais");
    let commands: Vec<Vec<&str>> = vec![
        vec!["serve"],
        vec!["intervenor", "list"],
        vec!["report"],
        vec!["backup", "--out", out.to_str().unwrap()],
        vec!["flows", "check"],
        vec!["flows", "ids"],
        vec!["flows", "try"],
        vec!["flows", "graph"],
        vec!["flows", "history"],
        vec!["flows", "rollback", "abc"],
        vec!["flows", "preview"],
        vec!["flows", "translations", "export", "--lang", "en"],
        vec!["flows", "triggers", "why", "bonjour"],
        vec!["flows", "themes", "test"],
    ];
    for args in &commands {
        let mut with_data = args.clone();
        with_data.extend(["--data-dir", data_dir]);
        let output = relais(&with_data, &[("RELAIS_LIMITS__MAX_QUEUE", "beaucoup")]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "relais {args:?}: {}",
            stderr(&output)
        );
        assert_eq!(
            stderr(&output).trim_end(),
            "relais: RELAIS_LIMITS__MAX_QUEUE vaut \"beaucoup\", mais il faut un nombre entier, 0 ou plus",
            "relais {args:?}"
        );
    }
    // English where the command line is in English.
    let output = relais(
        &["flows", "check", "--lang", "en"],
        &[("RELAIS_LIMITS__MAX_QUEUE", "beaucoup")],
    );
    assert_eq!(
        stderr(&output).trim_end(),
        "relais: RELAIS_LIMITS__MAX_QUEUE is \"beaucoup\", but it must be a whole number, 0 or more"
    );

    // The flows folder: the variable, then the file, each heard by every flows tool.
    let nowhere = data.path().join("pas-de-flux");
    let nowhere_text = nowhere.to_str().unwrap();
    let file = data.path().join("relais.toml");
    std::fs::write(&file, format!("flows_dir = {:?}\n", nowhere_text)).unwrap();
    // A small folder, so that the tools that do read it are quick.
    let small = fixture_flows().display().to_string();
    let flows_tools: Vec<Vec<&str>> = vec![
        vec!["flows", "check"],
        vec!["flows", "ids"],
        vec!["flows", "try"],
        vec!["flows", "graph"],
        vec!["flows", "translations", "export", "--lang", "en"],
        vec!["flows", "triggers", "why", "bonjour"],
        vec!["flows", "themes", "test"],
    ];
    for args in &flows_tools {
        let by_variable = relais(args, &[("RELAIS_FLOWS_DIR", nowhere_text)]);
        let mut with_file = args.clone();
        with_file.extend(["--config", file.to_str().unwrap()]);
        let by_file = relais(&with_file, &[]);
        for (how, output) in [("RELAIS_FLOWS_DIR", by_variable), ("--config", by_file)] {
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                stderr(&output)
            );
            assert!(
                !output.status.success(),
                "relais {args:?} with {how}: {said}"
            );
            assert!(
                said.contains(nowhere_text),
                "relais {args:?} with {how} read another folder: {said}"
            );
        }
        // The flag wins over both.
        let mut with_flag = with_file.clone();
        with_flag.extend(["--dir", &small, "--data-dir", data_dir]);
        let output = relais(&with_flag, &[("RELAIS_FLOWS_DIR", nowhere_text)]);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(&output)
        );
        assert!(
            !said.contains(nowhere_text),
            "relais {with_flag:?}: the flag lost: {said}"
        );
    }
    // The start node too: `flows check` starts where the settings say, unless --start.
    let output = relais(
        &["flows", "check", "--dir", &small],
        &[("RELAIS_START_NODE", "nulle_part")],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("nulle_part"));
    let output = relais(
        &["flows", "check", "--dir", &small, "--start", "accueil"],
        &[("RELAIS_START_NODE", "nulle_part")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
