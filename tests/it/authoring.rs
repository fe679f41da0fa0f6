//! Issue 22, flow authors catch every mistake before a youth sees it, through the
//! real `relais` command: the review's new theme as its author wrote it gets every
//! problem from `flows check`; the authors' essais pass (and a failing one fails
//! `check`); the language server, driven over stdio, gives a typo's diagnostic with
//! its range, completes node names after `-> ` and jumps to a node (and block names
//! after `@inclure `, to their block); translations
//! survive a French-locale Excel file (`;`, Windows-1252) and an older CSV imported
//! over a newer translation; the shipped blocks of buttons are ordinary buttons for
//! `flows try` and `flows graph` and one translation row each; the help is French,
//! English with `--lang en`.

use crate::common;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use common::{copy_dir, fixture_flows, repo_path, PATIENCE};

fn relais(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A copy of the shipped flows with the review's theme added as its author did:
/// the file, a menu item, an item under « Il se passe quelque chose avec moi », and
/// a route in `raconter`.
fn flows_with_the_review_theme() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_path("flows"), dir.path());
    std::fs::copy(
        repo_path("tests/scripts/review/rencontre.flow"),
        dir.path().join("rencontre.flow"),
    )
    .unwrap();
    let welcome = dir.path().join("accueil.flow");
    let text = std::fs::read_to_string(&welcome).unwrap();
    let text = text
        .replacen(
            "* Jeunes des Premières Nations et Inuit -> autochtones",
            "* Rencontrer quelqu'un connu en ligne -> rencontre #id:menu_rencontre\n* Jeunes des Premières Nations et Inuit -> autochtones",
            1,
        )
        .replacen(
            "* On me menace de partager mes images -> sextorsion",
            "* Je vais rencontrer quelqu'un connu en ligne -> rencontre #id:sit_rencontre\n* On me menace de partager mes images -> sextorsion",
            1,
        );
    std::fs::write(&welcome, text).unwrap();
    dir
}

#[test]
fn the_review_theme_gets_every_problem_from_check_with_a_fix() {
    let dir = flows_with_the_review_theme();
    let path = dir.path().display().to_string();
    let (ok, out, _) = relais(&["flows", "check", "--dir", &path]);
    assert!(!ok, "a tenth menu choice is an error now:\n{out}");
    // F1: the menu rule the tests had alone, with its fix.
    assert!(
        out.contains("erreur: Le menu a 10 choix : garde-en de 5 à 9"),
        "{out}"
    );
    // Errors come first.
    let first_warning = out.find("avertissement").unwrap_or(out.len());
    assert!(out.find("erreur").unwrap() < first_warning, "{out}");
    // F4: the 40 untranslated lines are one line, with the command that fixes them.
    assert!(
        out.contains("rencontre.flow: avertissement: 40 lignes ne sont pas traduites en « en » : lance « relais flows translations export --lang en --only missing »."),
        "{out}"
    );
    assert!(!out.contains("« renc_intro » n'est pas traduite"), "{out}");
    // The theme's nodes lack the danger button every theme node has.
    for node in ["rencontre", "renc_avant", "renc_securite", "renc_annuler"] {
        assert!(
            out.contains(&format!(
                "avertissement: Le nœud de thème « {node} » n'a pas de bouton vers « urgence »"
            )),
            "{node}: {out}"
        );
    }
    // `--errors-only` keeps the one error.
    let (_, out, _) = relais(&["flows", "check", &path, "--errors-only"]);
    assert!(!out.contains("avertissement:"), "{out}");
    assert!(out.contains("Le menu a 10 choix"), "{out}");

    // F2: a phone number written in a line is refused, with where it belongs.
    let file = dir.path().join("rencontre.flow");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "appelle le **911**. #id:renc_sec_911",
            "appelle le **911**, ou Tel-jeunes au 1 800 263-2266. #id:renc_sec_911",
        ),
    )
    .unwrap();
    let (_, out, _) = relais(&["flows", "check", &path, "--errors-only"]);
    assert!(
        out.contains("rencontre.flow:35:1: erreur: Un numéro est écrit dans le message. Mets-le dans ressources.toml"),
        "{out}"
    );
}

#[test]
fn the_shipped_essais_pass_and_a_failing_essai_fails_check() {
    let flows = repo_path("flows");
    let sources = relais::flow::load::read_folder(&flows).unwrap();
    let set = relais::flow::load::build(sources, "accueil").flows.unwrap();
    let essais = std::fs::read_dir(flows.join("essais")).unwrap().count();
    assert!(essais >= 1, "flows/essais holds the authors' tests");
    let failures: Vec<String> = relais::flow::essais::run_folder(&flows, &set)
        .iter()
        .map(|d| d.render("fr"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_flows(), dir.path());
    std::fs::create_dir_all(dir.path().join("essais")).unwrap();
    std::fs::write(
        dir.path().join("essais/pression.toml"),
        "[[essai]]\ndepuis = \"pression\"\ndire = \"il veut une photo\"\nattendu = \"images\"\n\n[[essai]]\ndepuis = \"pression\"\ndire = \"il veut de l'argent\"\nattendu = \"images\"\n",
    )
    .unwrap();
    let (ok, out, _) = relais(&["flows", "check", &dir.path().display().to_string()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("essais/pression.toml:6:1: erreur: Essai raté : « il veut de l'argent » devait mener à « images », il mène à « sextorsion »."),
        "{out}"
    );
    assert!(!out.contains("essais/pression.toml:1:1"), "{out}");
}

/// A language server over stdio, read by a thread.
struct Lsp {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    messages: mpsc::Receiver<serde_json::Value>,
    next_id: i64,
}

impl Lsp {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
            .args(["flows", "lsp", "--dir", &dir.display().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(n) = header.strip_prefix("Content-Length: ") {
                        length = n.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        let mut lsp = Self {
            child,
            stdin,
            messages,
            next_id: 1,
        };
        let uri = uri_of(dir);
        lsp.request(
            "initialize",
            serde_json::json!({ "capabilities": {}, "rootUri": uri }),
        );
        lsp.notify("initialized", serde_json::json!({}));
        lsp
    }

    fn send(&mut self, message: serde_json::Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: serde_json::Value) {
        self.send(serde_json::json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and waits for its answer.
    fn request(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(
            serde_json::json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }),
        );
        loop {
            let message = self.messages.recv_timeout(PATIENCE).expect("an answer");
            if message["id"] == id {
                return message["result"].clone();
            }
        }
    }

    /// Waits for the diagnostics of a file.
    fn diagnostics(&mut self, uri: &str) -> Vec<serde_json::Value> {
        loop {
            let message = self.messages.recv_timeout(PATIENCE).expect("diagnostics");
            if message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
            {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[test]
fn the_language_server_diagnoses_completes_and_jumps_as_the_author_types() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_flows(), dir.path());
    let dir_path = dir.path().canonicalize().unwrap();
    let file = dir_path.join("accueil.flow");
    let uri = uri_of(&file);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lsp = Lsp::start(&dir_path);

    // The author opens the file with a typo: `-> menuu` on line 9 (8 from 0).
    let typo = text.replace("-> menu\n", "-> menuu\n");
    lsp.notify(
        "textDocument/didOpen",
        serde_json::json!({ "textDocument": { "uri": uri, "languageId": "relais-flow", "version": 1, "text": typo } }),
    );
    let diagnostics = lsp.diagnostics(&uri);
    let typo_diagnostic = diagnostics
        .iter()
        .find(|d| d["code"] == "unknown_target")
        .unwrap_or_else(|| panic!("{diagnostics:#?}"));
    assert_eq!(typo_diagnostic["severity"], 1);
    assert_eq!(
        typo_diagnostic["range"],
        serde_json::json!({ "start": { "line": 8, "character": 3 }, "end": { "line": 8, "character": 8 } })
    );
    let message = typo_diagnostic["message"].as_str().unwrap();
    assert!(
        message.contains("Le nœud « menuu » n'existe dans aucun fichier")
            && message.contains("Voulais-tu dire « menu » (accueil.flow:11) ?"),
        "{message}"
    );

    // The fix clears it, as the author types.
    lsp.notify(
        "textDocument/didChange",
        serde_json::json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": text }] }),
    );
    let diagnostics = lsp.diagnostics(&uri);
    assert!(
        diagnostics.iter().all(|d| d["severity"] != 1),
        "{diagnostics:#?}"
    );

    // Completion after `-> ` lists the node names.
    let with_arrow = text.replace("-> menu\n", "-> \n");
    lsp.notify(
        "textDocument/didChange",
        serde_json::json!({ "textDocument": { "uri": uri, "version": 3 }, "contentChanges": [{ "text": with_arrow }] }),
    );
    let _ = lsp.diagnostics(&uri);
    let items = lsp.request(
        "textDocument/completion",
        serde_json::json!({ "textDocument": { "uri": uri }, "position": { "line": 8, "character": 3 } }),
    );
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    for node in ["menu", "comprendre", "parler", "urgence", "fin"] {
        assert!(labels.contains(&node), "{node} not in {labels:?}");
    }

    // Go to definition from a target to its node, and its first line on hover.
    lsp.notify(
        "textDocument/didChange",
        serde_json::json!({ "textDocument": { "uri": uri, "version": 4 }, "contentChanges": [{ "text": text }] }),
    );
    let _ = lsp.diagnostics(&uri);
    let line = text
        .lines()
        .position(|l| l.contains("-> comprendre"))
        .unwrap();
    let character = text.lines().nth(line).unwrap().find("comprendre").unwrap() + 2;
    let at = serde_json::json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } });
    let definition = lsp.request("textDocument/definition", at.clone());
    let header = text.lines().position(|l| l == "=== comprendre").unwrap();
    assert_eq!(definition["uri"], uri);
    assert_eq!(definition["range"]["start"]["line"], header);
    let hover = lsp.request("textDocument/hover", at);
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("L'exploitation sexuelle, c'est quand"),
        "{hover}"
    );
    let _ = lsp.request("shutdown", serde_json::Value::Null);
    lsp.notify("exit", serde_json::Value::Null);
}

#[test]
fn the_language_server_completes_block_names_and_jumps_to_a_block() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_flows(), dir.path());
    let dir_path = dir.path().canonicalize().unwrap();
    let blocks = dir_path.join("boutons.flow");
    std::fs::write(
        &blocks,
        "// Les boutons de fin de thème.\n=== @bloc boutons_fin\n* Parler à une personne -> parler #id:bloc_parler\n* Retour au menu -> menu #id:bloc_menu\n",
    )
    .unwrap();
    let file = dir_path.join("essai.flow");
    let uri = uri_of(&file);
    let mut lsp = Lsp::start(&dir_path);

    // A typo in the block's name: the diagnostic names the block that exists.
    let typo = "=== essai_blocs\nUn essai. #id:essai_1\n@inclure boutons_fni\n";
    lsp.notify(
        "textDocument/didOpen",
        serde_json::json!({ "textDocument": { "uri": uri, "languageId": "relais-flow", "version": 1, "text": typo } }),
    );
    let diagnostics = lsp.diagnostics(&uri);
    let unknown = diagnostics
        .iter()
        .find(|d| d["code"] == "unknown_block")
        .unwrap_or_else(|| panic!("{diagnostics:#?}"));
    assert_eq!(
        unknown["range"],
        serde_json::json!({ "start": { "line": 2, "character": 9 }, "end": { "line": 2, "character": 20 } })
    );
    let message = unknown["message"].as_str().unwrap();
    assert!(
        message.contains("Voulais-tu dire « boutons_fin » (boutons.flow:2) ?"),
        "{message}"
    );

    // Completion after `@inclure ` lists the blocks, with their buttons.
    let typing = "=== essai_blocs\nUn essai. #id:essai_1\n@inclure \n";
    lsp.notify(
        "textDocument/didChange",
        serde_json::json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": typing }] }),
    );
    let _ = lsp.diagnostics(&uri);
    let items = lsp.request(
        "textDocument/completion",
        serde_json::json!({ "textDocument": { "uri": uri }, "position": { "line": 2, "character": 9 } }),
    );
    let item = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "boutons_fin")
        .unwrap_or_else(|| panic!("boutons_fin not in {items:#}"));
    assert!(
        item["detail"]
            .as_str()
            .unwrap()
            .contains("Retour au menu -> menu"),
        "{item}"
    );

    // Go to definition from the include to the block, and its buttons on hover.
    let fixed = "=== essai_blocs\nUn essai. #id:essai_1\n@inclure boutons_fin\n";
    lsp.notify(
        "textDocument/didChange",
        serde_json::json!({ "textDocument": { "uri": uri, "version": 3 }, "contentChanges": [{ "text": fixed }] }),
    );
    let diagnostics = lsp.diagnostics(&uri);
    assert!(
        diagnostics.iter().all(|d| d["severity"] != 1),
        "{diagnostics:#?}"
    );
    let at = serde_json::json!({ "textDocument": { "uri": uri }, "position": { "line": 2, "character": 12 } });
    let definition = lsp.request("textDocument/definition", at.clone());
    assert_eq!(definition["uri"], uri_of(&blocks));
    assert_eq!(definition["range"]["start"]["line"], 1);
    let hover = lsp.request("textDocument/hover", at);
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(
        shown.contains("@bloc boutons_fin") && shown.contains("Parler à une personne -> parler"),
        "{hover}"
    );
    let _ = lsp.request("shutdown", serde_json::Value::Null);
    lsp.notify("exit", serde_json::Value::Null);
}

fn export_csv(dir: &str) -> String {
    let (ok, csv, err) = relais(&[
        "flows",
        "translations",
        "export",
        "--lang",
        "en",
        "--dir",
        dir,
    ]);
    assert!(ok, "{err}");
    csv
}

fn import(dir: &str, file: &Path) -> String {
    let (ok, out, err) = relais(&[
        "flows",
        "translations",
        "import",
        "--lang",
        "en",
        &file.display().to_string(),
        "--dir",
        dir,
    ]);
    assert!(ok, "{out}{err}");
    out
}

#[test]
fn a_french_excel_file_with_semicolons_and_windows_1252_is_imported() {
    let flows = tempfile::tempdir().unwrap();
    copy_dir(&fixture_flows(), flows.path());
    let dir = flows.path().display().to_string();
    // Forget one translation, then translate it in a French-locale Excel file.
    let table_path = flows.path().join("traductions/en.txt");
    let table = std::fs::read_to_string(&table_path).unwrap();
    let kept: String = table
        .lines()
        .filter(|l| !l.starts_with("comp_faute "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&table_path, kept).unwrap();
    let csv = export_csv(&dir);
    let row = csv.lines().find(|l| l.starts_with("comp_faute,")).unwrap();
    assert!(row.contains(",missing,"), "{row}");
    let semicolons = "id;source;translation;status;file;node;line\r\ncomp_faute;Ce n'est **jamais** de ta faute.;It is **never** your fault, café.;missing;accueil.flow;comprendre;22\r\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(semicolons);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file is not UTF-8"
    );
    let file = flows.path().join("excel-fr.csv");
    std::fs::write(&file, &bytes).unwrap();
    let out = import(&dir, &file);
    assert!(out.contains("Windows-1252"), "{out}");
    assert!(out.contains("points-virgules"), "{out}");
    assert!(out.contains("1 ligne(s) ajoutée(s)"), "{out}");
    let table = std::fs::read_to_string(&table_path).unwrap();
    assert!(
        table.contains("comp_faute [") && table.contains("] It is **never** your fault, café."),
        "{table}"
    );
    std::fs::remove_file(&file).unwrap();
    let (ok, out, _) = relais(&["flows", "check", &dir]);
    assert!(ok && !out.contains("traduit"), "{out}");
}

#[test]
fn an_older_csv_never_replaces_a_newer_translation() {
    let flows = tempfile::tempdir().unwrap();
    copy_dir(&fixture_flows(), flows.path());
    let dir = flows.path().display().to_string();
    let old_csv = flows.path().join("old.csv");
    std::fs::write(&old_csv, export_csv(&dir)).unwrap();

    // The French changes; a translator translates the new French.
    let file = flows.path().join("accueil.flow");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "Ce n'est **jamais** de ta faute.",
            "Ce n'est **jamais**, jamais de ta faute.",
        ),
    )
    .unwrap();
    let csv = export_csv(&dir);
    let stale = csv.lines().find(|l| l.starts_with("comp_faute,")).unwrap();
    assert!(stale.contains(",stale,"), "{stale}");
    let new_csv = flows.path().join("new.csv");
    std::fs::write(
        &new_csv,
        csv.replace(
            "It is **never** your fault.,stale",
            "\"It is **never**, never your fault.\",stale",
        ),
    )
    .unwrap();
    import(&dir, &new_csv);
    let (ok, out, _) = relais(&["flows", "check", &dir]);
    assert!(ok && !out.contains("comp_faute"), "{out}");

    // Then the first CSV comes back by mistake: the newer translation stays.
    let out = import(&dir, &old_csv);
    assert!(
        out.contains("comp_faute : traduction plus récente gardée"),
        "{out}"
    );
    let table = std::fs::read_to_string(flows.path().join("traductions/en.txt")).unwrap();
    assert!(
        table.contains("It is **never**, never your fault."),
        "{table}"
    );
    let (ok, out, _) = relais(&["flows", "check", &dir]);
    assert!(
        ok && !out.contains("comp_faute"),
        "nothing turned stale: {out}"
    );
    std::fs::remove_file(&old_csv).unwrap();
    std::fs::remove_file(&new_csv).unwrap();
}

#[test]
fn identical_french_is_suggested_and_route_words_are_translatable() {
    let flows = tempfile::tempdir().unwrap();
    copy_dir(&fixture_flows(), flows.path());
    let dir = flows.path().display().to_string();
    // A new node repeats a translated button.
    let file = flows.path().join("accueil.flow");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "* Retour au menu -> menu #id:comp_menu",
            "* Retour au menu -> menu #id:comp_menu\n* Voir les ressources d'aide -> ressources #id:comp_ressources",
        ),
    )
    .unwrap();
    let csv = export_csv(&dir);
    let suggested = csv
        .lines()
        .find(|l| l.starts_with("comp_ressources,"))
        .unwrap();
    assert!(suggested.contains(",suggested,"), "{suggested}");
    let menu_english = csv
        .lines()
        .find(|l| l.starts_with("menu_ressources,"))
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .to_string();
    assert!(suggested.contains(&menu_english), "{suggested}");
    // The route words are a row; translated, they route an English answer.
    let route = csv
        .lines()
        .find(|l| l.starts_with("pression.quand.2,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(route.contains("argent, payer"), "{route}");
    let (_, only, _) = relais(&[
        "flows",
        "translations",
        "export",
        "--lang",
        "en",
        "--dir",
        &dir,
        "--only",
        "missing",
    ]);
    assert!(
        only.lines().skip(1).all(|l| l.contains(",missing,")),
        "{only}"
    );
    assert!(only.contains("pression.quand.2,"), "{only}");

    let filled = flows.path().join("routes.csv");
    std::fs::write(
        &filled,
        format!(
            "id,source,translation,status,file,node,line\npression.quand.2,\"{}\",\"cash, wants bitcoin\",missing,accueil.flow,pression,0\n",
            route.split(',').nth(1).map(|_| "argent, payer, paye*, money, pay*").unwrap()
        ),
    )
    .unwrap();
    let out = import(&dir, &filled);
    assert!(out.contains("1 ligne(s) ajoutée(s)"), "{out}");
    let input = flows.path().join("input.txt");
    std::fs::write(&input, "he wants bitcoin\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args([
            "flows", "try", "--dir", &dir, "--lang", "en", "--from", "pression",
        ])
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    let transcript = String::from_utf8(output.stdout).unwrap();
    assert!(transcript.contains("[sextorsion]"), "{transcript}");
}

/// `relais` with some standard input and environment.
fn relais_with(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(args)
        .env_remove("RELAIS_LANG")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_help_is_in_french_and_in_english_with_lang_en() {
    let help = |args: &[&str], env: &[(&str, &str)]| {
        let (ok, out, err) = relais_with(args, "", env);
        assert!(ok, "{args:?}: {err}");
        out
    };
    let french = help(&["--help"], &[]);
    for words in [
        "Un clavardage d'aide anonyme",
        "Utilisation : relais",
        "Commandes",
        "Les outils des auteur·e·s de flux.",
        "Affiche l'aide",
    ] {
        assert!(french.contains(words), "{words} not in:\n{french}");
    }
    assert!(!french.contains("Print help"), "{french}");
    let english = help(&["--lang", "en", "--help"], &[]);
    for words in [
        "Usage: relais",
        "Commands:",
        "Tools for flow authors.",
        "Print help",
    ] {
        assert!(english.contains(words), "{words} not in:\n{english}");
    }
    assert_eq!(help(&["--help"], &[("RELAIS_LANG", "en")]), english);

    // Every `flows` command, in both languages.
    let commands: [(&str, &str, &str); 11] = [
        (
            "check",
            "Vérifie les flux et leurs essais",
            "Checks the flows and their essais",
        ),
        (
            "ids",
            "Trouve les lignes sans « #id: »",
            "Finds the lines without \"#id:\"",
        ),
        (
            "preview",
            "Sert la page des auteur·e·s",
            "Serves the authors' page",
        ),
        ("lsp", "Le serveur de langage", "The language server"),
        (
            "try",
            "Joue une conversation dans le terminal",
            "Plays a conversation in the terminal",
        ),
        ("graph", "Le flux en graphe", "The flow as a graph"),
        (
            "history",
            "Chaque version que le serveur a chargée",
            "Every version the server loaded",
        ),
        (
            "rollback",
            "Remet une version précédente",
            "Puts an earlier version back",
        ),
        (
            "translations",
            "Les tableaux de traduction",
            "Translation tables",
        ),
        (
            "triggers",
            "Les déclencheurs urgents",
            "The urgent triggers",
        ),
        (
            "themes",
            "Les thèmes du texte libre",
            "The themes free text leads to",
        ),
    ];
    for (command, fr, en) in commands {
        let french = help(&["flows", command, "--help"], &[]);
        assert!(french.contains(fr), "flows {command}:\n{french}");
        assert!(
            french.contains("Affiche l'aide") && !french.contains("Print help"),
            "flows {command}:\n{french}"
        );
        let english = help(&["--lang", "en", "flows", command, "--help"], &[]);
        assert!(english.contains(en), "flows {command} (en):\n{english}");
        assert!(
            english.contains("Print help"),
            "flows {command} (en):\n{english}"
        );
    }
    let check = help(&["flows", "check", "--help"], &[]);
    assert!(
        check.contains("Le dossier des flux. [aussi : --dir]"),
        "{check}"
    );
    assert!(
        check.contains("[par défaut : fr] [valeurs : fr, en]"),
        "{check}"
    );
    let check = help(&["flows", "check", "--lang", "en", "--help"], &[]);
    assert!(check.contains("[alias: --dir]"), "{check}");

    // The command's own error sentences follow the language; the old option names
    // still work.
    let flows = repo_path("flows").display().to_string();
    let (ok, _, err) = relais_with(
        &["flows", "graph", "--dir", &flows, "--from", "nulle_part"],
        "",
        &[],
    );
    assert!(
        !ok && err.contains("le nœud « nulle_part » n'existe pas"),
        "{err}"
    );
    let (ok, _, err) = relais_with(
        &[
            "--lang",
            "en",
            "flows",
            "graph",
            "--flows-dir",
            &flows,
            "--from",
            "nulle_part",
        ],
        "",
        &[],
    );
    assert!(
        !ok && err.contains("the node \"nulle_part\" does not exist"),
        "{err}"
    );
}

#[test]
fn the_shipped_blocks_are_ordinary_buttons_for_try_graph_and_translations() {
    let flows = repo_path("flows").display().to_string();
    // `flows try`: a node that includes `boutons_fin` shows its three buttons, and
    // they lead where the block says.
    let (ok, out, err) = relais_with(
        &["flows", "try", "--dir", &flows, "--from", "leu_signes"],
        "3\n",
        &[],
    );
    assert!(ok, "{err}");
    for button in [
        "1) Quoi faire maintenant #leu_signes_quoi_faire",
        "2) Je suis en danger maintenant #bouton_danger",
        "3) Parler à une personne #bouton_parler",
        "4) Retour au menu #bouton_menu",
    ] {
        assert!(out.contains(button), "{button} not in:\n{out}");
    }
    assert!(out.contains("> 3\n[parler]"), "{out}");
    let (_, out, _) = relais_with(
        &[
            "flows",
            "try",
            "--dir",
            &flows,
            "--from",
            "leu_signes",
            "--lang",
            "en",
        ],
        "",
        &[],
    );
    assert!(out.contains("4) Back to the menu #bouton_menu"), "{out}");

    // `flows graph`: the block's buttons are edges of each node, or one badge.
    let (ok, out, err) = relais_with(&["flows", "graph", "--dir", &flows], "", &[]);
    assert!(ok, "{err}");
    assert!(
        out.contains("leu_signes -->|\"Retour au menu\"| menu"),
        "{out}"
    );
    let (_, out, _) = relais_with(
        &[
            "flows",
            "graph",
            "--dir",
            &flows,
            "--file",
            "leurre.flow",
            "--hide",
            "boutons_fin",
        ],
        "",
        &[],
    );
    assert!(out.contains("+ boutons_fin"), "{out}");
    assert!(!out.contains("leu_signes -->|\"Retour au menu\"|"), "{out}");

    // Translations: one row per line of a block, however many nodes include it.
    let csv = export_csv(&flows);
    let rows: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("bouton_menu,"))
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains("Back to the menu,ok,boutons.flow,@bloc parler_menu"),
        "{}",
        rows[0]
    );
}
