//! The README, followed as a newcomer follows it: its runnable blocks run in order, in
//! a fresh folder, against a real server they start themselves, and the test fails when
//! a command fails or prints something other than what the README shows. The other
//! guides' examples are checked here too (`flows/README.md`'s commands, the frames of
//! `docs/protocol.md`, the settings and trees `PRIVACY.md` names).
//!
//! # Marking a block runnable
//!
//! A fenced block runs when its info string has the word `readme-test`; every other
//! block is prose to this test (add sections and blocks freely). More words say how:
//!
//! - ```` ```sh readme-test ````: shell commands, run one by one with bash (a command may
//!   go on over lines ending in `\`). Comment lines `# => …` under a command are what it
//!   prints (one `# =>` line per line of output); a command without them is checked
//!   only for its exit status. Variables a command sets (`TOKEN=$(…)`) are kept for the
//!   next ones, in every later block.
//! - ```` ```sh readme-test serve ````: its one command starts the server, left running in
//!   the background for the blocks that follow (the test waits for its
//!   `relais listening on http://…` line).
//! - ```` ```sh readme-test stopped ````: the server is stopped (SIGINT, as Ctrl-C) before
//!   this block and started again after it, with the same command.
//! - ```` ```console readme-test session=NAME ````: a terminal that stays open, such as a
//!   WebSocket client: `$ command` starts it, `> line` is typed into it, `< line` is a
//!   line it must print. A `< line` waits for the first printed line that matches it
//!   (lines in between, such as frames the README leaves out, are skipped); the test
//!   fails if none comes in time. Later blocks with the same NAME go on in the same
//!   terminal.
//!
//! # Matching and placeholders
//!
//! - In what a command prints, `…` stands for any text (also none), and runs of spaces
//!   and tabs count as one space.
//! - In a command, `…` is the password a person types (the README shows `"password":"…"`);
//!   every command also gets that password, and a newline, on its standard input, which
//!   is what a person types when `relais intervenor add` asks.
//! - In a typed `> line`, `$NAME` is replaced by the value of the shell variable NAME
//!   (a person pastes it: `echo $TOKEN`).
//! - `localhost:8080` and `127.0.0.1:8080` become the address the test's server got from
//!   the OS (it listens on port 0 through `RELAIS_LISTEN`).
//! - `cargo run --release --` runs the `relais` binary that `cargo test` built
//!   (`CARGO_BIN_EXE_relais`): a release build would take minutes. Any other `cargo`
//!   command fails the test.
//!
//! Everything runs in a temporary folder holding a copy of `flows/` and a link to `web/`,
//! so `./data`, `en.csv` or `relais.toml` never land in the repository.
//!
//! Tool choice: `trycmd` checks one-shot command examples but cannot keep a server
//! running, shell variables between commands, or two WebSocket terminals open, and
//! would need the README rewritten as `$ relais …` transcripts; so this is a small
//! harness of its own, with `pulldown-cmark` to find the blocks.

use crate::common;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

use common::{copy_dir, repo_path, PATIENCE};

/// What the harness types when a password is asked (12 characters or more).
const PASSWORD: &str = "un mot de passe de test";

/// A fenced block of a Markdown file.
struct Block {
    /// `README.md:42` (the opening fence), for the failure messages.
    place: String,
    file: String,
    line: usize,
    words: Vec<String>,
    text: String,
}

impl Block {
    /// Where the block's `n`th line (from 1) is.
    fn at(&self, n: usize) -> String {
        format!("{}:{}", self.file, self.line + n)
    }

    fn runnable(&self) -> bool {
        self.words.iter().any(|w| w == "readme-test")
    }

    fn has(&self, word: &str) -> bool {
        self.words.iter().any(|w| w == word)
    }

    fn session(&self) -> Option<&str> {
        self.words.iter().find_map(|w| w.strip_prefix("session="))
    }
}

/// The fenced code blocks of a Markdown file, in order.
fn fenced_blocks(path: &Path) -> Vec<Block> {
    let source = std::fs::read_to_string(path).unwrap();
    let name = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string();
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (event, range) in Parser::new(&source).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let line = source[..range.start].lines().count() + 1;
                current = Some(Block {
                    place: format!("{name}:{line}"),
                    file: name.clone(),
                    line,
                    words: info.split_whitespace().map(str::to_string).collect(),
                    text: String::new(),
                });
            }
            Event::Text(text) => {
                if let Some(block) = current.as_mut() {
                    block.text.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            _ => {}
        }
    }
    blocks
}

/// The inline code spans of a Markdown file (`like this`), and code block lines.
fn code_spans(path: &Path) -> Vec<String> {
    let source = std::fs::read_to_string(path).unwrap();
    let mut spans = Vec::new();
    let mut in_block = false;
    for event in Parser::new(&source) {
        match event {
            Event::Code(code) => spans.push(code.to_string()),
            Event::Start(Tag::CodeBlock(_)) => in_block = true,
            Event::End(TagEnd::CodeBlock) => in_block = false,
            Event::Text(text) if in_block => spans.extend(text.lines().map(str::to_string)),
            _ => {}
        }
    }
    spans
}

/// A shell command of a block and the lines the README says it prints.
struct Step {
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// Splits a shell block into commands (joining `\` continuations) with their `# =>`
/// lines; other comments and blank lines are prose.
fn steps(block: &Block) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for (n, line) in block.text.lines().enumerate() {
        let trimmed = line.trim();
        if continued {
            let step = steps.last_mut().unwrap();
            step.command.push('\n');
            step.command.push_str(line);
            continued = trimmed.ends_with('\\');
            continue;
        }
        if let Some(output) = trimmed.strip_prefix("# =>") {
            let step = steps
                .last_mut()
                .unwrap_or_else(|| panic!("{}: `# =>` before any command", block.place));
            step.expected.push(output.trim().to_string());
        } else if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        } else {
            continued = trimmed.ends_with('\\');
            steps.push(Step {
                line: n + 1,
                command: line.to_string(),
                expected: Vec::new(),
            });
        }
    }
    steps
}

/// Runs of spaces and tabs as one space, each line trimmed, no trailing blank lines.
fn normalize(text: &str) -> String {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

/// Whether `text` matches `pattern`, where `…` stands for any text (also none).
fn matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// A terminal left open: its input, and the lines it prints.
struct Terminal {
    child: Child,
    input: std::process::ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fresh folder, the server and the terminals of one walk through a document.
struct Walk {
    dir: tempfile::TempDir,
    bin: PathBuf,
    state: PathBuf,
    server: Option<(Child, String)>,
    serve_command: Option<String>,
    terminals: BTreeMap<String, Terminal>,
}

impl Walk {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&repo_path("flows"), &dir.path().join("flows"));
        std::os::unix::fs::symlink(repo_path("web"), dir.path().join("web")).unwrap();
        // The guides' commands that read the test corpora (`flows triggers test`).
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        std::os::unix::fs::symlink(repo_path("tests/data"), dir.path().join("tests/data")).unwrap();
        // `cargo run --release --` and `relais` stand for the binary under test.
        let bin = dir.path().join(".bin");
        std::fs::create_dir(&bin).unwrap();
        let relais = env!("CARGO_BIN_EXE_relais");
        std::os::unix::fs::symlink(relais, bin.join("relais")).unwrap();
        let cargo = format!(
            "#!/bin/sh\n\
             if [ \"$1 $2 $3\" = 'run --release --' ]; then shift 3; exec '{relais}' \"$@\"; fi\n\
             echo \"readme test: only 'cargo run --release --' is run here, not cargo $*\" >&2\n\
             exit 2\n"
        );
        std::fs::write(bin.join("cargo"), cargo).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("cargo"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let state = dir.path().join(".bin/state.sh");
        std::fs::write(&state, "").unwrap();
        Self {
            dir,
            bin,
            state,
            server: None,
            serve_command: None,
            terminals: BTreeMap::new(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The README's addresses, pointed at the test's server; `…` as the password.
    fn rewrite(&self, command: &str) -> String {
        let mut command = command.replace('…', PASSWORD);
        if let Some((_, addr)) = &self.server {
            command = command
                .replace("localhost:8080", addr)
                .replace("127.0.0.1:8080", addr);
        }
        command
    }

    /// bash with the variables of the commands before, exporting what this one sets.
    fn bash(&self, script: &str) -> Command {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(format!(
                "set -o pipefail; set -a; . '{}'\n{script}",
                self.state.display()
            ))
            .current_dir(self.path())
            .env("PATH", path)
            .env_remove("RELAIS_LOG");
        command
    }

    fn run_step(&self, block: &Block, step: &Step) {
        let command = self.rewrite(&step.command);
        let script = format!(
            "{command}\nstatus=$?\nexport -p > '{}'\nexit $status",
            self.state.display()
        );
        let mut child = self
            .bash(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // A command that does not read its input may have ended already.
        let _ = writeln!(stdin, "{PASSWORD}");
        drop(stdin);
        let output = wait_with_patience(child, &step.command);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{}: `{}` failed ({}):\n{stdout}\n{stderr}",
            block.at(step.line),
            step.command,
            output.status
        );
        if !step.expected.is_empty() {
            let expected = normalize(&step.expected.join("\n"));
            let actual = normalize(&stdout);
            assert!(
                matches(&expected, &actual),
                "{}: `{}` printed\n{actual}\nbut the README shows\n{expected}\n{stderr}",
                block.at(step.line),
                step.command
            );
        }
    }

    fn start_server(&mut self, place: &str) {
        let command = self.serve_command.clone().expect("a serve block first");
        let mut child = self
            .bash(&format!("exec {command}"))
            .env("RELAIS_LISTEN", "127.0.0.1:0")
            .env("RELAIS_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = lines_of(child.stdout.take().unwrap());
        let line = lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("{place}: `{command}` did not say where it listens"));
        let addr = line
            .strip_prefix("relais listening on http://")
            .unwrap_or_else(|| panic!("{place}: `{command}` printed {line:?} first"))
            .trim()
            .to_string();
        std::thread::spawn(move || while lines.recv().is_ok() {});
        // The port is said before the store opens: one request answered means the
        // server serves, its admin socket included, before the next command runs.
        {
            use std::io::{Read, Write};
            let mut socket = std::net::TcpStream::connect(&addr).unwrap();
            socket.set_read_timeout(Some(PATIENCE)).unwrap();
            socket
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: relais\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            let _ = socket.read_to_string(&mut answer);
            assert!(
                answer.starts_with("HTTP/1.1 200"),
                "{place}: the server answers: {answer:?}"
            );
        }
        self.server = Some((child, addr));
    }

    /// Stops the server as Ctrl-C does, and waits for it.
    fn stop_server(&mut self) {
        if let Some((child, _)) = self.server.take() {
            // SAFETY: a signal to the server this walk started and still holds.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            let output = wait_with_patience(child, "the server's stop");
            assert!(
                output.status.success(),
                "the server stops cleanly on Ctrl-C: {}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    fn variable(&self, name: &str) -> String {
        let output = self
            .bash(&format!("printf '%s' \"${name}\""))
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    }

    fn run_session(&mut self, block: &Block, name: &str) {
        for (n, line) in block.text.lines().enumerate() {
            let place = block.at(n + 1);
            if let Some(command) = line.strip_prefix("$ ") {
                let command = self.rewrite(command);
                let mut child = self
                    .bash(&format!("exec {command}"))
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                let input = child.stdin.take().unwrap();
                let lines = lines_of(child.stdout.take().unwrap());
                self.terminals.insert(
                    name.to_string(),
                    Terminal {
                        child,
                        input,
                        lines,
                    },
                );
            } else if let Some(typed) = line.strip_prefix("> ") {
                let mut typed = self.rewrite(typed);
                while let Some(at) = typed.find('$') {
                    let end = typed[at + 1..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .map_or(typed.len(), |e| at + 1 + e);
                    let value = self.variable(&typed[at + 1..end]);
                    typed.replace_range(at..end, &value);
                }
                let terminal = self.terminal(name, &place);
                writeln!(terminal.input, "{typed}").unwrap();
                terminal.input.flush().unwrap();
            } else if let Some(wanted) = line.strip_prefix("< ") {
                let wanted = normalize(wanted);
                let terminal = self.terminal(name, &place);
                let mut seen = Vec::new();
                loop {
                    match terminal.lines.recv_timeout(PATIENCE) {
                        Ok(printed) if matches(&wanted, &normalize(&printed)) => break,
                        Ok(printed) => seen.push(printed),
                        Err(_) => panic!(
                            "{place}: the {name} terminal never printed\n{wanted}\nIt printed:\n{}",
                            seen.join("\n")
                        ),
                    }
                }
            } else if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
                panic!("{place}: a session line starts with `$ `, `> ` or `< `: {line}");
            }
        }
    }

    fn terminal(&mut self, name: &str, place: &str) -> &mut Terminal {
        self.terminals
            .get_mut(name)
            .unwrap_or_else(|| panic!("{place}: no `$ command` opened the {name} terminal"))
    }

    fn run_block(&mut self, block: &Block) {
        if let Some(name) = block.session() {
            return self.run_session(block, name);
        }
        if block.has("serve") {
            let steps = steps(block);
            assert_eq!(steps.len(), 1, "{}: one command serves", block.place);
            self.serve_command = Some(steps[0].command.clone());
            return self.start_server(&block.place);
        }
        let restart = block.has("stopped") && self.server.is_some();
        if restart {
            self.stop_server();
        }
        for step in steps(block) {
            self.run_step(block, &step);
        }
        if restart {
            self.start_server(&block.place);
        }
    }
}

impl Drop for Walk {
    fn drop(&mut self) {
        self.terminals.clear();
        if let Some((mut child, _)) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The lines a process prints, read on a thread.
fn lines_of(stdout: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a process, failing the test if it takes longer than a command should.
fn wait_with_patience(child: Child, what: &str) -> std::process::Output {
    let (tx, rx) = mpsc::channel();
    let id = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(PATIENCE * 3) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            // SAFETY: a signal to a process this test started and has not reaped.
            unsafe { libc::kill(id as i32, libc::SIGKILL) };
            panic!("`{what}` did not end within {:?}", PATIENCE * 3);
        }
    }
}

#[test]
fn the_readme_runs_as_written() {
    let blocks: Vec<Block> = fenced_blocks(&repo_path("README.md"))
        .into_iter()
        .filter(Block::runnable)
        .collect();
    assert!(
        blocks.iter().any(|b| b.has("serve")) && blocks.iter().any(|b| b.session().is_some()),
        "the README's walk is marked runnable"
    );
    for tool in ["curl", "jq"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(
            found.success(),
            "the README's walk uses {tool}: apt-get install -y curl jq"
        );
    }
    let mut walk = Walk::new();
    for block in &blocks {
        walk.run_block(block);
    }
    walk.terminals.clear();
    walk.stop_server();
}

#[test]
fn the_matching_rules_hold() {
    assert!(matches("a…c", "abbbc"));
    assert!(matches("a…", "a"));
    assert!(matches("…{\"id\":\"x\"…}…", "[{\"id\":\"x\",\"n\":1}]"));
    assert!(!matches("a…c", "abd"));
    assert!(!matches("ab…ba", "aba"));
    assert!(!matches("204", "404"));
    assert_eq!(
        normalize("alex\tsupervisor  -\tAlex\n\n"),
        "alex supervisor - Alex"
    );
    let block = Block {
        place: "x.md:1".into(),
        file: "x.md".into(),
        line: 1,
        words: vec!["sh".into(), "readme-test".into()],
        text: "# prose\nA=$(echo \\\n  1)\n# => \nfalse # comment\n".into(),
    };
    let steps = steps(&block);
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].command, "A=$(echo \\\n  1)");
    assert_eq!(steps[0].expected, vec![""]);
    assert_eq!(steps[1].command, "false # comment");
}

/// `flows/README.md`: every line of its code blocks that starts with `relais ` runs, in
/// order, in a fresh folder holding a copy of `flows/` (the guide's commands name it
/// `flows`), and must succeed. No marker is needed: the guide's blocks are otherwise
/// flow syntax and TOML, which never start with `relais `.
#[test]
fn the_flows_guide_commands_run() {
    let walk = Walk::new();
    let mut ran = 0;
    for block in fenced_blocks(&repo_path("flows/README.md")) {
        for (n, line) in block.text.lines().enumerate() {
            if line.trim_start().starts_with("relais ") {
                let step = Step {
                    line: n + 1,
                    command: line.trim().to_string(),
                    expected: Vec::new(),
                };
                walk.run_step(&block, &step);
                ran += 1;
            }
        }
    }
    assert!(ran >= 4, "the guide shows its commands ({ran} found)");
}

/// A frame of `docs/protocol.md` with its placeholders (`…`, `ID`) given a value of the
/// type its field takes.
fn filled(example: &str) -> String {
    let numbers = ["handoff", "report", "seq", "id", "last_seq", "at"];
    let mut out = String::new();
    let mut rest = example;
    while let Some(at) = rest.find(['…', 'I']) {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let placeholder = if after.starts_with('…') {
            '…'.len_utf8()
        } else if after.starts_with("ID") && out.ends_with(':') {
            2
        } else {
            out.push('I');
            rest = &after[1..];
            continue;
        };
        if out.ends_with('[') || out.ends_with('{') {
            // `[…]`, `{…}`: an empty list or object.
        } else {
            let field = out
                .trim_end_matches(':')
                .rsplit('"')
                .nth(1)
                .unwrap_or_default();
            out.push_str(if numbers.contains(&field) {
                "1"
            } else {
                "\"x\""
            });
        }
        rest = &after[placeholder..];
    }
    out.push_str(rest);
    out
}

/// One frame of every kind the server sends, every optional field filled: what the
/// contract's tables and examples are compared with.
fn server_frames() -> Vec<serde_json::Value> {
    use relais::protocol::ReportStatus;
    use relais::protocol::*;
    let card = ResourceWire {
        key: "k".into(),
        name: "n".into(),
        phone: Some("p".into()),
        text: Some("t".into()),
        text_body: Some("b".into()),
        url: Some("u".into()),
        hours: Some("h".into()),
        about: Some("a".into()),
    };
    let events = [
        Event::Bot {
            text: "t".into(),
            html: "h".into(),
            choices: vec![ChoiceWire {
                id: "i".into(),
                label: "l".into(),
            }],
            input: InputKind::Text,
            resources: vec![card.clone()],
        },
        Event::Handoff {
            status: HandoffStatus::Waiting,
            urgent: true,
            position: Some(1),
            resources: Some(vec![card]),
            name: Some("n".into()),
            message: Some("m".into()),
        },
        Event::Agent {
            text: "t".into(),
            name: "n".into(),
            erased: true,
            at: Some(1),
        },
        Event::Youth {
            text: "t".into(),
            at: 1,
        },
        Event::End {},
    ];
    let controls = [
        Control::Welcome {
            token: "t".into(),
            resumed: true,
            lang: "fr".into(),
            last_seq: 1,
        },
        Control::Error {
            code: ErrorCode::RateLimited,
            message: "m".into(),
            retry_after_ms: Some(1),
        },
        Control::Forgotten {},
        Control::Typing {},
        Control::ReportSummary {
            fields: vec![ReportFieldWire {
                field: "f".into(),
                value: "v".into(),
            }],
        },
        Control::ReportReceipt {
            receipt: "r".into(),
        },
        Control::ReportStatus {
            status: ReportStatus::New,
            messages: vec![],
        },
    ];
    let consoles = [
        ConsoleServerFrame::Reports { items: vec![] },
        ConsoleServerFrame::ReportAlert { report: 1 },
        ConsoleServerFrame::Roster { on_call: vec![] },
        ConsoleServerFrame::Queue { items: vec![] },
        ConsoleServerFrame::ReportChanged {
            item: ReportItem {
                id: 1,
                status: ReportStatus::New,
                danger: false,
                kind: "k".into(),
                lang: "fr".into(),
                created_at: 1,
                updated_at: 1,
                assigned_to: Some("a".into()),
            },
        },
        ConsoleServerFrame::MonitorMessage {
            handoff: 1,
            seq: 1,
            from: Speaker::Youth,
            text: "t".into(),
            at: 1,
        },
        ConsoleServerFrame::MonitorEnded { handoff: 1 },
        ConsoleServerFrame::Watched {
            handoff: 1,
            by: vec!["n".into()],
        },
        ConsoleServerFrame::Whisper {
            handoff: 1,
            name: "n".into(),
            text: "t".into(),
            at: 1,
        },
        ConsoleServerFrame::Typing { handoff: 1 },
    ];
    let mut frames: Vec<String> = events.iter().map(|e| e.to_frame(1)).collect();
    frames.extend(controls.iter().map(Control::to_frame));
    frames.extend(consoles.iter().map(ConsoleServerFrame::to_frame));
    frames
        .iter()
        .map(|f| serde_json::from_str(f).unwrap())
        .collect()
}

/// The field names a table cell lists: each backticked name outside parentheses
/// (inside are its values: `status` (`"waiting"`, …)), not the optional ones when
/// `required_only`.
fn fields_of(cell: &str, required_only: bool) -> Vec<String> {
    let mut fields = Vec::new();
    let (mut depth, mut rest) = (0usize, cell);
    while let Some(open) = rest.find(['`', '(', ')']) {
        let before = &rest[..open];
        match rest.as_bytes()[open] {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ => {
                let Some(close) = rest[open + 1..].find('`') else {
                    break;
                };
                let part = &rest[open + 1..open + 1 + close];
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                let whole = name.len() == part.len() || part[name.len()..].starts_with(':');
                let optional = before.ends_with("optional ");
                if depth == 0 && !name.is_empty() && whole && !(required_only && optional) {
                    fields.push(name);
                }
                rest = &rest[open + 1 + close + 1..];
                continue;
            }
        }
        rest = &rest[open + 1..];
    }
    fields
}

/// `docs/protocol.md`: every frame its tables name, and every JSON frame it shows,
/// is one the real wire types read (client frames) or write (server frames), with the
/// fields it lists.
#[test]
fn the_protocol_examples_are_real_frames() {
    let doc = std::fs::read_to_string(repo_path("docs/protocol.md")).unwrap();
    let server = server_frames();
    let server_frame = |kind: &str| server.iter().find(|f| f["type"] == kind);
    let console_client =
        |json: &str| serde_json::from_str::<relais::protocol::ConsoleClientFrame>(json).is_ok();
    let youth_client = |json: &str| relais::protocol::decode_client_frame(json).is_ok();
    let mut checked = 0;
    let mut heading = "";
    for line in doc.lines() {
        if line.starts_with('#') {
            heading = line;
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let in_frame_table = heading.contains("Client to server")
            || heading.contains("Server to client")
            || heading.contains("Youth frames");
        if !in_frame_table || cells.len() < 4 {
            continue;
        }
        let Some(kind) = cells[1].strip_prefix('`').and_then(|c| c.strip_suffix('`')) else {
            continue;
        };
        if heading.contains("Client to server") {
            let mut frame = serde_json::json!({ "type": kind });
            for field in fields_of(cells[2], true) {
                frame[field] = "x".into();
            }
            assert!(
                youth_client(&frame.to_string()),
                "docs/protocol.md: the chat does not read {frame}"
            );
        } else {
            let sample = server_frame(kind)
                .unwrap_or_else(|| panic!("docs/protocol.md: the server sends no `{kind}` frame"));
            for field in fields_of(cells[2], false) {
                assert!(
                    sample.get(&field).is_some(),
                    "docs/protocol.md: a `{kind}` frame has no `{field}`: {sample}"
                );
            }
        }
        checked += 1;
    }
    for span in code_spans(&repo_path("docs/protocol.md")) {
        if !span.starts_with("{\"type\":") {
            continue;
        }
        let json = filled(&span);
        let frame: serde_json::Value = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("docs/protocol.md: {span} is not JSON ({json}): {e}"));
        let kind = frame["type"].as_str().unwrap();
        let real = youth_client(&json)
            || console_client(&json)
            || server_frame(kind).is_some_and(|sample| {
                frame
                    .as_object()
                    .unwrap()
                    .keys()
                    .all(|k| sample.get(k).is_some())
            });
        assert!(
            real,
            "docs/protocol.md: {span} is no frame relais reads or sends"
        );
        checked += 1;
    }
    assert!(checked >= 20, "the contract's frames are found ({checked})");
}

/// `PRIVACY.md`: the settings it names are real settings, the trees of its inventory
/// are trees the store opens, the test it cites exists, and its commands exist.
#[test]
fn the_privacy_page_names_real_things() {
    let example: toml::Table = toml::from_str(&relais::config::Config::example()).unwrap();

    let page = repo_path("PRIVACY.md");
    let text = std::fs::read_to_string(&page).unwrap();
    let mut settings = 0;
    for span in code_spans(&page) {
        let parts: Vec<&str> = span.split('.').collect();
        let setting = parts.len() == 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        if setting && example.contains_key(parts[0]) {
            assert!(
                example[parts[0]].get(parts[1]).is_some(),
                "PRIVACY.md names `{span}`, which `relais config example` does not have"
            );
            settings += 1;
        }
        if let Some(words) = span.strip_prefix("relais ") {
            let status = Command::new(env!("CARGO_BIN_EXE_relais"))
                .args(words.split_whitespace())
                .arg("--help")
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(
                status.success(),
                "PRIVACY.md names `{span}`, no such command"
            );
        }
    }
    assert!(
        settings >= 3,
        "PRIVACY.md's settings are found ({settings})"
    );
    let inventory = &text[text.find("## Inventory").expect("an inventory")..];
    let mut trees = 0;
    let rows = inventory
        .lines()
        .skip_while(|l| !l.starts_with("| `"))
        .take_while(|l| l.starts_with("| `"));
    for line in rows {
        let tree = line[3..].split('`').next().unwrap();
        assert!(
            relais::store::TREES.contains(&tree),
            "PRIVACY.md lists a tree `{tree}` the store does not open"
        );
        trees += 1;
    }
    assert!(trees >= 5, "PRIVACY.md's inventory is found ({trees})");
    let privacy_test = std::fs::read_to_string(repo_path("tests/it/privacy.rs")).unwrap();
    assert!(text.contains("no_marker_is_left_on_disk_or_in_the_logs"));
    assert!(privacy_test.contains("fn no_marker_is_left_on_disk_or_in_the_logs"));
}

// ------------------------------------------------------------ the CLI's papercuts

/// `relais … | head`: a reader that goes away ends the command quietly, never with a
/// panic. The pipe's read end is closed before the command starts, so its first write
/// fails, every time.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let data = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 3] = [
        &["config", "example"],
        &["report", "--from", "2026-01-01", "--data-dir"],
        &["flows", "graph"],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut command = Command::new(env!("CARGO_BIN_EXE_relais"));
        command.args(args);
        if args[0] == "report" {
            command.arg(data.path());
        }
        let output = command
            .current_dir(repo_path(""))
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.is_empty(), "relais {args:?} | head said: {stderr}");
        assert!(
            output.status.success() || output.status.signal() == Some(libc::SIGPIPE),
            "relais {args:?} | head ended with {}",
            output.status
        );
    }
}

/// Every CLI error is one sentence on one line, without a Rust debug dump.
#[test]
fn cli_errors_are_sentences() {
    let data = tempfile::tempdir().unwrap();
    let held = relais::store::Store::open(data.path()).unwrap();
    let dir = data.path().to_str().unwrap();
    let cases: [&[&str]; 5] = [
        &["intervenor", "list", "--data-dir", dir],
        &["report", "--from", "2026-01-01", "--data-dir", dir],
        &["report", "--from", "hier", "--data-dir", "/nonexistent"],
        &["intervenor", "list", "--config", "/nonexistent.toml"],
        &["ws", "ws://127.0.0.1:1/chat"],
    ];
    for args in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_relais"))
            .args(args)
            .env("RELAIS_LIMITS__MAX_QUEUE", "100")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "relais {args:?}: {stderr}");
        let line = stderr.trim_end();
        assert!(
            line.starts_with("relais: ") && !line.contains('\n'),
            "relais {args:?}: {stderr}"
        );
        for dump in ["Os {", "kind:", "Error {", "panicked"] {
            assert!(!line.contains(dump), "relais {args:?}: {line}");
        }
    }
    let output = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["intervenor", "list", "--data-dir", dir])
        .env("RELAIS_LIMITS__MAX_QUEUE", "beaucoup")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("RELAIS_LIMITS__MAX_QUEUE"),
        "a bad variable is named: {stderr}"
    );
    drop(held);
}
