//! The `relais` command line: `serve`, `config example`, `intervenor …`, `flows …`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::flow::load;
use crate::handoff::accounts::Accounts;
use crate::store::records::Role;
use crate::store::Store;

mod ws;

#[derive(Parser)]
#[command(
    name = "relais",
    version,
    about = "An anonymous help chat for youths facing sexual exploitation."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Default)]
struct Common {
    /// A TOML configuration file (see `relais config example`).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Folder of the embedded store.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Folder of the flows.
    #[arg(long, global = true)]
    flows_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Folder of the pages.
        #[arg(long)]
        web_dir: Option<PathBuf>,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Intervenor accounts (run while the server is stopped: the store is locked).
    Intervenor {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: IntervenorCommand,
    },
    /// Tools for flow authors.
    Flows {
        #[command(subcommand)]
        command: FlowsCommand,
    },
    /// The anonymous impact report (run while the server is stopped).
    /// Writes the impact report: the plan's axes, each figure beside the previous period's.
    Report {
        #[command(flatten)]
        common: Common,
        /// First day, YYYY-MM-DD (default: the start of the period that holds --to).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today). The range covers whole periods.
        #[arg(long)]
        to: Option<String>,
        /// The last whole period before today (with --period quarter: the last quarter).
        #[arg(long, conflicts_with_all = ["from", "to"])]
        last: bool,
        /// day, week, month, quarter or year: how the range is broken down.
        #[arg(long, default_value = "month")]
        period: String,
        /// md, csv, json or html.
        #[arg(long, default_value = "md")]
        format: String,
        /// fr or en (French by default).
        #[arg(long, default_value = "fr")]
        lang: String,
    },
    /// A WebSocket client for trying the wire contract by hand: each line typed is
    /// sent as a frame, each frame received is printed on one line.
    Ws {
        /// ws://127.0.0.1:8080/chat (a youth) or ws://127.0.0.1:8080/console.
        url: String,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Prints an example configuration with every default.
    Example,
}

#[derive(Subcommand)]
enum IntervenorCommand {
    /// Creates an account; the password is read from the terminal or stdin.
    Add {
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "intervenor")]
        role: RoleArg,
    },
    /// Lists the accounts.
    List,
    /// Deletes an account and ends its logins.
    Remove { login: String },
    /// Sets a new password (read from the terminal or stdin) and ends every login.
    ResetPassword { login: String },
    /// Two-factor login with a TOTP app.
    Totp {
        #[command(subcommand)]
        command: TotpCommand,
    },
}

#[derive(Subcommand)]
enum TotpCommand {
    /// Turns TOTP on and prints the otpauth:// URI for the app.
    Enable { login: String },
    /// Turns TOTP off (a supervisor's decision, e.g. a lost phone).
    Disable { login: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Intervenor,
    Supervisor,
    Author,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Lang {
    Fr,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum FlowsCommand {
    /// Checks the flows and prints every problem with file:line:col.
    Check {
        /// The flows folder (default: the configured one, ./flows).
        dir: Option<PathBuf>,
        /// Language of the messages.
        #[arg(long, value_enum, default_value = "fr")]
        lang: Lang,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// The start node.
        #[arg(long, default_value = "accueil")]
        start: String,
    },
    /// Plays a conversation in the terminal, reading what the youth does from stdin:
    /// a number picks a choice, `#id` a choice by id, `/recommencer` starts again,
    /// anything else is free text.
    Try {
        #[arg(long, default_value = "flows")]
        dir: PathBuf,
        /// The conversation's language.
        #[arg(long, default_value = "fr")]
        lang: String,
        /// Start at this node instead of the start node.
        #[arg(long)]
        from: Option<String>,
    },
    /// The flow as a graph (Mermaid or Graphviz dot).
    Graph {
        #[arg(long, default_value = "flows")]
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "mermaid")]
        format: GraphFormat,
    },
    /// Every version the server loaded, oldest first.
    History {
        #[command(flatten)]
        common: Common,
    },
    /// Puts an earlier version back in the flows folder; a running server reloads it.
    Rollback {
        #[command(flatten)]
        common: Common,
        /// The version (its hash, or the start of it).
        version: String,
    },
    /// Translation tables: export a CSV for a translator, import it back.
    Translations {
        #[command(subcommand)]
        command: TranslationsCommand,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Subcommand)]
enum TranslationsCommand {
    /// Writes a CSV (id, source, translation, status, file, node, line).
    Export {
        /// The language to translate into (en, iu, cr, …).
        #[arg(long)]
        lang: String,
        /// The flows folder.
        #[arg(long, default_value = "flows")]
        dir: PathBuf,
        /// Where to write the CSV (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Reads a filled CSV into traductions/LANG.txt and reports conflicts.
    Import {
        #[arg(long)]
        lang: String,
        /// The filled CSV.
        file: PathBuf,
        #[arg(long, default_value = "flows")]
        dir: PathBuf,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        quiet_on_closed_pipe();
    }
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("relais: {}", sentence(&error));
            ExitCode::FAILURE
        }
    }
}

/// An error as one sentence: each cause once (a typed error that prints its source in
/// its own message would otherwise show it twice with anyhow's `{:#}`), and no Rust
/// debug dump where sled words a held lock with one.
fn sentence(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let mut part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        let locked = part.contains("could not acquire lock");
        if locked {
            part = "the store is held by another relais process (a running server?): stop it first"
                .into();
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
        if locked {
            break;
        }
    }
    text
}

/// `relais flows history | head`: when the reader of standard output goes away, a
/// one-shot command ends quietly, as `cat` or `grep` do, instead of panicking on the
/// write. (Rust ignores SIGPIPE by default; this puts the usual behaviour back. The
/// server keeps ignoring it: a closed pipe there is an error to log, not an end.)
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn load_config(common: &Common) -> anyhow::Result<Config> {
    let mut config = Config::load(common.config.as_deref(), std::env::vars())?;
    if let Some(dir) = &common.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(dir) = &common.flows_dir {
        config.flows_dir = dir.clone();
    }
    Ok(config)
}

/// A panic is logged with its place only: its message could carry data.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%place, "a task panicked");
        eprintln!("relais: a task panicked at {place}");
    }));
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RELAIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            common,
            listen,
            web_dir,
        } => {
            init_tracing();
            quiet_panics();
            let mut config = load_config(&common)?;
            if let Some(listen) = listen {
                config.listen = listen;
            }
            if let Some(dir) = web_dir {
                config.web_dir = dir;
            }
            serve(config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", Config::example());
            Ok(ExitCode::SUCCESS)
        }
        Command::Intervenor { common, command } => {
            let config = load_config(&common)?;
            intervenor(&config, command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Flows { command } => flows(command),
        Command::Ws { url } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(ws::run(&url))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            common,
            from,
            to,
            last,
            period,
            format,
            lang,
        } => {
            let config = load_config(&common)?;
            let store = open_store(&config)?;
            let today = crate::impact::day_of(crate::clock::Clock::system().now_secs());
            let to = to.unwrap_or_else(|| today.clone());
            let request = crate::impact::Request {
                from: from.unwrap_or_else(|| to.clone()),
                to,
                unit: period,
                format,
                lang,
            };
            let (mut range, format, lang) = request.parse()?;
            if last {
                range = range.previous();
            }
            let report = crate::impact::Report::build(&store, range, lang)?;
            print!("{}", report.render(format));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let shutdown = shutdown_signal();
        // Tests and scripts read this line to learn the port.
        println!("relais listening on http://{}", listener.local_addr()?);
        std::io::stdout().flush()?;
        crate::server::run(listener, config, shutdown).await?;
        Ok(())
    })
}

/// Ctrl-C or SIGTERM. The handlers are in place when this returns (before the server
/// says it listens), so a stop that comes during start-up is a clean stop too.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let wait = |signal: std::io::Result<tokio::signal::unix::Signal>| async move {
                match signal {
                    Ok(mut signal) => {
                        signal.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => {},
                _ = wait(terminate) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open(&config.data_dir)
        .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))
}

/// Reads a password: without echo from a terminal, else one line of stdin.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    Ok(password)
}

fn intervenor(config: &Config, command: IntervenorCommand) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let accounts = Accounts::new(
        store.clone(),
        crate::clock::Clock::system(),
        config.console.clone(),
    );
    match command {
        IntervenorCommand::Add { login, name, role } => {
            let role = match role {
                RoleArg::Intervenor => Role::Intervenor,
                RoleArg::Supervisor => Role::Supervisor,
                RoleArg::Author => Role::Author,
            };
            let password = read_password("Password (12 characters or more): ")?;
            accounts.add(&login, &name, role, &password)?;
            println!("account {login} created ({})", role.as_str());
        }
        IntervenorCommand::List => {
            for account in accounts.list()? {
                println!(
                    "{}\t{}\t{}\t{}",
                    account.login,
                    account.role.as_str(),
                    if account.totp_secret.is_some() {
                        "totp"
                    } else {
                        "-"
                    },
                    account.name
                );
            }
        }
        IntervenorCommand::Remove { login } => {
            accounts.remove(&login)?;
            println!("account {login} removed");
        }
        IntervenorCommand::ResetPassword { login } => {
            let password = read_password("New password (12 characters or more): ")?;
            accounts.reset_password(&login, &password)?;
            println!("password of {login} changed; its logins are ended");
        }
        IntervenorCommand::Totp { command } => match command {
            TotpCommand::Enable { login } => {
                let mut account = accounts
                    .get(&login)?
                    .with_context(|| format!("there is no account {login}"))?;
                let secret = crate::handoff::totp::new_secret();
                account.totp_secret = Some(secret.clone());
                account.totp_last_step = 0;
                accounts.put(&account)?;
                store.flush_blocking()?;
                println!("{}", crate::handoff::totp::uri(&secret, &login));
            }
            TotpCommand::Disable { login } => {
                let mut account = accounts
                    .get(&login)?
                    .with_context(|| format!("there is no account {login}"))?;
                account.totp_secret = None;
                accounts.put(&account)?;
                store.flush_blocking()?;
                println!("TOTP turned off for {login}");
            }
        },
    }
    store.flush_blocking()?;
    Ok(())
}

fn flows(command: FlowsCommand) -> anyhow::Result<ExitCode> {
    match command {
        FlowsCommand::Check {
            dir,
            lang,
            format,
            start,
        } => {
            let dir = dir.unwrap_or_else(|| Config::default().flows_dir);
            let report = match load::read_folder(&dir) {
                Ok(sources) => load::build(sources, &start),
                Err(diagnostic) => load::LoadReport {
                    flows: None,
                    diagnostics: vec![diagnostic],
                },
            };
            let lang = lang.code();
            let errors = report.errors().count();
            if format == Format::Json {
                let list: Vec<_> = report.diagnostics.iter().map(|d| d.to_json(lang)).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for diagnostic in &report.diagnostics {
                    println!("{}", diagnostic.render(lang));
                }
                let warnings = report.diagnostics.len() - errors;
                match (errors, lang) {
                    (0, "fr") => println!("ok : aucune erreur, {warnings} avertissement(s)"),
                    (0, _) => println!("ok: no error, {warnings} warning(s)"),
                    (n, "fr") => println!("{n} erreur(s), {warnings} avertissement(s) : ces flux ne seront pas chargés"),
                    (n, _) => println!("{n} error(s), {warnings} warning(s): these flows will not be loaded"),
                }
            }
            Ok(if errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        FlowsCommand::Translations { command } => translations(command),
        FlowsCommand::Try { dir, lang, from } => {
            use crate::flow::play;
            let flows = load_valid(&dir)?;
            let lang = if flows.has_language(&lang) {
                lang
            } else {
                "fr".into()
            };
            let ui = if lang == "fr" { "fr" } else { "en" };
            let mut state = crate::flow::engine::State {
                lang: lang.clone(),
                ..Default::default()
            };
            if let Some(node) = &from {
                if !flows.nodes.contains_key(node) {
                    bail!("there is no node {node}");
                }
            }
            print!("{}", play::start(&flows, &mut state, from.as_deref(), ui).1);
            for line in std::io::stdin().lock().lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                println!("> {}", line.trim());
                let typed = play::read(&line, &flows, &state);
                print!("{}", play::play(&flows, &mut state, &typed, ui).1);
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::Graph { dir, format } => {
            let flows = load_valid(&dir)?;
            let graph = crate::flow::graph::Graph::of(&flows);
            print!(
                "{}",
                match format {
                    GraphFormat::Mermaid => graph.mermaid(),
                    GraphFormat::Dot => graph.dot(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::History { common } => {
            let config = load_config(&common)?;
            let serving = load::read_folder(&config.flows_dir)
                .ok()
                .map(|sources| load::version_of(&sources));
            for record in crate::store::archived_flow_versions(&config.data_dir)? {
                let when = chrono::DateTime::from_timestamp(record.loaded_at as i64, 0)
                    .map(|t| {
                        t.with_timezone(&chrono::Local)
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    })
                    .unwrap_or_default();
                let files = record
                    .sources
                    .keys()
                    .filter(|k| k.ends_with(".flow"))
                    .count();
                let mark = if serving.as_deref() == Some(record.version.as_str()) {
                    "  <- dans le dossier / in the folder"
                } else {
                    ""
                };
                println!("{}  {when}  {files} fichier(s) .flow{mark}", record.version);
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::Rollback { common, version } => {
            let config = load_config(&common)?;
            let versions = crate::store::archived_flow_versions(&config.data_dir)?;
            let matching: Vec<_> = versions
                .iter()
                .filter(|v| v.version.starts_with(&version))
                .collect();
            let record = match matching.as_slice() {
                [one] => *one,
                [] => bail!("no version starts with {version} (see `relais flows history`)"),
                _ => bail!("several versions start with {version}: give more of it"),
            };
            match crate::flow::library::rollback(&config.flows_dir, &config.start_node, record) {
                Ok(()) => {
                    println!(
                        "version {} remise dans {} / put back",
                        record.version,
                        config.flows_dir.display()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(crate::flow::library::LibraryError::Invalid(diagnostics)) => {
                    for diagnostic in diagnostics.iter().filter(|d| d.is_error()) {
                        eprintln!("{}", diagnostic.render("fr"));
                    }
                    bail!("this version does not pass the checks; nothing was changed")
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Loads a flows folder that must be free of errors (for the tools that need it).
fn load_valid(dir: &std::path::Path) -> anyhow::Result<crate::flow::FlowSet> {
    let sources = load::read_folder(dir).map_err(|d| anyhow::anyhow!(d.render("fr")))?;
    let report = load::build(sources, &Config::default().start_node);
    match report.flows {
        Some(flows) => Ok(flows),
        None => {
            for diagnostic in report.errors() {
                eprintln!("{}", diagnostic.render("fr"));
            }
            bail!("the flows have errors: run `relais flows check` first")
        }
    }
}

fn translations(command: TranslationsCommand) -> anyhow::Result<ExitCode> {
    use crate::flow::translate;
    match command {
        TranslationsCommand::Export { lang, dir, out } => {
            let flows = load_valid(&dir)?;
            let csv = translate::to_csv(&translate::export(&flows, &lang))?;
            match out {
                Some(path) => std::fs::write(&path, csv)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{csv}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        TranslationsCommand::Import { lang, file, dir } => {
            if !crate::flow::parse::valid_id(&lang) || lang.contains('.') {
                bail!("a language is a short code such as en, iu or cr");
            }
            let flows = load_valid(&dir)?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let rows = translate::from_csv(&text).context("the CSV is not valid")?;
            let (table, conflicts) = translate::import(&flows, &lang, &rows);
            let path = dir.join(translate::table_path(&lang));
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, table)
                .with_context(|| format!("cannot write {}", path.display()))?;
            for conflict in &conflicts {
                println!("{}", conflict.message("fr"));
            }
            println!("{} : {} conflit(s)", path.display(), conflicts.len());
            Ok(ExitCode::SUCCESS)
        }
    }
}
