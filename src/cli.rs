//! The `relais` command line: `serve`, `config example`, `intervenor …`, `flows …`,
//! `report`, `backup`, `restore` (accounts, reports and backups go through the running
//! server's admin socket when there is one: `crate::admin`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::config::{Config, Flags};
use crate::flow::load;
use crate::store::records::Role;

mod help;
mod settings;
mod ws;

use help::say;

#[derive(Parser)]
#[command(
    name = "relais",
    version,
    about = "An anonymous help chat for youths facing sexual exploitation."
)]
struct Cli {
    /// The language of the help and messages (also RELAIS_LANG); read by `help`.
    #[arg(long, value_enum)]
    lang: Option<Lang>,
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
    /// Folder of the flows (also `--dir`).
    #[arg(long, global = true, visible_alias = "dir")]
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
    /// Intervenor accounts (through the running server's admin socket, or on the store
    /// when no server runs).
    Intervenor {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: IntervenorCommand,
    },
    /// Tools for flow authors.
    Flows {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: FlowsCommand,
    },
    /// Writes the impact report: the plan's axes, each figure beside the previous period's
    /// (through the running server, or on the store when none runs).
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
    /// An encrypted copy of the store and its keys (while the server runs, or not).
    Backup {
        #[command(flatten)]
        common: Common,
        /// The backup file to write (it must not exist).
        #[arg(long)]
        out: PathBuf,
        /// A file whose first line is the passphrase (else it is asked for).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Restores a backup into an empty data folder (then start a server on it).
    Restore {
        /// The backup file.
        file: PathBuf,
        /// The data folder to fill (empty or absent).
        #[arg(long)]
        data_dir: PathBuf,
        /// A file whose first line is the passphrase (else it is asked for).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
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
    /// Vérifie les flux et leurs essais; chaque problème avec fichier:ligne:colonne.
    /// Checks the flows and their essais; every problem with file:line:col.
    Check {
        /// Le dossier des flux (par défaut ./flows) / the flows folder.
        #[arg(value_name = "DIR")]
        dir_positional: Option<PathBuf>,
        /// Langue des messages / language of the messages.
        #[arg(long, value_enum, default_value = "fr")]
        lang: Lang,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Le nœud de départ / the start node.
        #[arg(long)]
        start: Option<String>,
        /// Seulement les erreurs / errors only.
        #[arg(long)]
        errors_only: bool,
    },
    /// Écrit les « #id: » qui manquent / writes the missing line ids.
    Ids {
        /// Écrit les identifiants dans les fichiers (sinon, les liste) / write them.
        #[arg(long)]
        add: bool,
    },
    /// Sert la page des auteurs sur cet ordinateur, pour une copie des flux, sans
    /// compte à créer; elle se met à jour à chaque enregistrement.
    /// Serves the authors' page locally for a copy of the flows, no account to create.
    Preview {
        /// L'adresse / the address (default 127.0.0.1:8090).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
        /// Le dossier des pages / folder of the pages.
        #[arg(long)]
        web_dir: Option<PathBuf>,
    },
    /// Serveur de langage (LSP) pour les éditeurs, sur stdin/stdout / language server.
    Lsp,
    /// Plays a conversation in the terminal, reading what the youth does from stdin:
    /// a number picks a choice, `#id` a choice by id, `/recommencer` starts again,
    /// anything else is free text.
    Try {
        /// The conversation's language.
        #[arg(long, default_value = "fr")]
        lang: String,
        /// Start at this node instead of the start node.
        #[arg(long)]
        from: Option<String>,
    },
    /// The flow as a graph (Mermaid or Graphviz dot).
    Graph {
        #[arg(long, value_enum, default_value = "mermaid")]
        format: GraphFormat,
        /// Seulement les nœuds de ce fichier / only this file's nodes (rencontre.flow).
        #[arg(long)]
        file: Option<String>,
        /// À partir de ce nœud / from this node.
        #[arg(long)]
        from: Option<String>,
        /// Jusqu'à tant de liens du nœud de départ / this many links from --from.
        #[arg(long, default_value_t = 2)]
        depth: usize,
        /// Ces nœuds deviennent des badges (↩ menu) / these nodes become badges.
        #[arg(long, value_delimiter = ',')]
        hide: Vec<String>,
    },
    /// Every version the server loaded, oldest first.
    History,
    /// Puts an earlier version back in the flows folder; a running server reloads it.
    Rollback {
        /// The version (its hash, or the start of it).
        version: String,
    },
    /// Translation tables: export a CSV for a translator, import it back.
    Translations {
        #[command(subcommand)]
        command: TranslationsCommand,
    },
    /// The urgent triggers: score a corpus, or show why a phrase fires.
    Triggers {
        #[command(subcommand)]
        command: TriggersCommand,
    },
    /// The themes free text leads to (sujets.toml): score a corpus.
    Themes {
        #[command(subcommand)]
        command: ThemesCommand,
    },
}

#[derive(Subcommand)]
enum ThemesCommand {
    /// Types each message of a corpus (a file, or every `*.txt` of a folder, one
    /// `node | message` a line, `-` for "not understood") at the menu and prints the
    /// share that lands on its node per language, and every miss. Fails below 85 %.
    Test {
        /// The corpus (default: tests/data/themes).
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TriggersCommand {
    /// Plays a corpus (a file, or every `*.txt` of a folder, one `level category |
    /// message` a line) and prints urgent recall and benign false alarms per language
    /// and category, and every miss. Fails below 98 % recall or above 3 % false alarms.
    Test {
        /// The corpus (default: tests/data/triggers).
        file: Option<PathBuf>,
    },
    /// Shows a phrase after normalisation, and every pattern that matches it.
    Why { phrase: String },
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
        /// Where to write the CSV (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seulement ces lignes / only these rows: missing, stale, suggested, ok.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Reads a filled CSV into traductions/LANG.txt and reports conflicts.
    Import {
        #[arg(long)]
        lang: String,
        /// The filled CSV.
        file: PathBuf,
    },
}

pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let ui = help::ui_lang(&args, std::env::var("RELAIS_LANG").ok().as_deref());
    help::set(ui);
    let matches = help::localized(Cli::command(), ui).get_matches_from(args);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
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
    settings::load(common, Flags::default())
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
    let filter = crate::logs::filter(std::env::var("RELAIS_LOG").ok().as_deref());
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
            let flags = Flags {
                listen,
                web_dir,
                ..Flags::default()
            };
            serve(settings::load(&common, flags)?)?;
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
        Command::Flows { common, command } => flows(&common, command),
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
            let today = crate::impact::day_of(crate::clock::Clock::system().now_secs());
            let to = to.unwrap_or(today);
            let request = crate::admin::Request::Report {
                from: from.unwrap_or_else(|| to.clone()),
                to,
                period,
                format,
                lang,
                last,
            };
            print!(
                "{}",
                crate::admin::run(&config, request, &mut std::io::sink())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup {
            common,
            out,
            passphrase_file,
        } => {
            let config = load_config(&common)?;
            let passphrase = read_passphrase(passphrase_file.as_deref(), true)?;
            backup(&config, &out, &passphrase)?;
            println!("backup written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore {
            file,
            data_dir,
            passphrase_file,
        } => {
            let passphrase = read_passphrase(passphrase_file.as_deref(), false)?;
            let summary = crate::backup::restore_file(&file, &passphrase, &data_dir)?;
            println!(
                "restored into {}: {} records, {} conversation keys",
                data_dir.display(),
                summary.records,
                summary.keys
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The backup passphrase: the first line of a file, or asked (twice for a backup).
fn read_passphrase(file: Option<&std::path::Path>, confirm: bool) -> anyhow::Result<String> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_string());
    }
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Backup passphrase (12 characters or more): ")?;
    if confirm && rpassword::prompt_password("Again: ")? != first {
        bail!("the two passphrases differ");
    }
    Ok(first)
}

/// Writes an encrypted backup: the payload comes from the running server (admin
/// socket) or from the store opened here, through a pipe into the encryption.
fn backup(config: &Config, out: &std::path::Path, passphrase: &str) -> anyhow::Result<()> {
    if passphrase.chars().count() < 12 {
        bail!("{}", crate::backup::BackupError::WeakPassphrase);
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(out)
        .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
    let (mut reader, mut writer) = std::io::pipe()?;
    let producing = {
        let config = config.clone();
        std::thread::spawn(move || {
            let result = crate::admin::run(&config, crate::admin::Request::Backup, &mut writer);
            drop(writer);
            result
        })
    };
    let mut file = std::io::BufWriter::new(file);
    let mut whole = crate::backup::Whole::new(&mut reader);
    let encrypted = crate::backup::encrypt(passphrase, &mut whole, &mut file).and_then(|()| {
        if whole.is_whole() {
            Ok(())
        } else {
            Err(crate::backup::BackupError::Incomplete)
        }
    });
    drop(reader);
    let produced = producing
        .join()
        .map_err(|_| anyhow::anyhow!("the backup stopped unexpectedly"))?;
    if let Err(e) = produced.and(encrypted.map_err(anyhow::Error::from)) {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    file.into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", out.display(), e.error()))?
        .sync_all()?;
    Ok(())
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
    use crate::admin::Request;
    let request = match command {
        IntervenorCommand::Add { login, name, role } => {
            let role = match role {
                RoleArg::Intervenor => Role::Intervenor,
                RoleArg::Supervisor => Role::Supervisor,
                RoleArg::Author => Role::Author,
            };
            let password = read_password("Password (12 characters or more): ")?;
            Request::IntervenorAdd {
                login,
                name,
                role,
                password,
            }
        }
        IntervenorCommand::List => Request::IntervenorList,
        IntervenorCommand::Remove { login } => Request::IntervenorRemove { login },
        IntervenorCommand::ResetPassword { login } => {
            let password = read_password("New password (12 characters or more): ")?;
            Request::IntervenorResetPassword { login, password }
        }
        IntervenorCommand::Totp { command } => match command {
            TotpCommand::Enable { login } => Request::TotpEnable { login },
            TotpCommand::Disable { login } => Request::TotpDisable { login },
        },
    };
    print!(
        "{}",
        crate::admin::run(config, request, &mut std::io::sink())?
    );
    Ok(())
}

fn flows(common: &Common, command: FlowsCommand) -> anyhow::Result<ExitCode> {
    match command {
        FlowsCommand::Check {
            dir_positional,
            lang,
            format,
            start,
            errors_only,
        } => {
            let flags = Flags {
                flows_dir: common.flows_dir.clone().or(dir_positional),
                start_node: start,
                ..Flags::default()
            };
            let config = settings::load(common, flags)?;
            let dir = config.flows_dir;
            let mut report = match load::read_folder(&dir) {
                Ok(sources) => load::build(sources, &config.start_node),
                Err(diagnostic) => load::LoadReport {
                    flows: None,
                    diagnostics: vec![diagnostic],
                },
            };
            if let Some(flows) = &report.flows {
                report
                    .diagnostics
                    .extend(crate::flow::essais::run_folder(&dir, flows));
            }
            let lang = lang.code();
            let errors = report.errors().count();
            if format == Format::Json {
                let list: Vec<_> = report
                    .diagnostics
                    .iter()
                    .filter(|d| !errors_only || d.is_error())
                    .map(|d| d.to_json(lang))
                    .collect();
                println!("{}", crate::protocol::to_pretty(&list));
            } else {
                print!(
                    "{}",
                    crate::flow::present::present(&report.diagnostics, lang, errors_only)
                );
            }
            Ok(if errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        FlowsCommand::Ids { add } => {
            let dir = load_config(common)?.flows_dir;
            let sources = load::read_folder(&dir)
                .map_err(|d| anyhow::anyhow!(d.render(help::ui().code())))?;
            let changes = crate::flow::ids::add_ids(&sources);
            let mut count = 0;
            for (file, content, added) in &changes {
                count += added;
                if add {
                    std::fs::write(dir.join(file), content).with_context(|| {
                        say(
                            &format!("je n'arrive pas à écrire {file}"),
                            &format!("cannot write {file}"),
                        )
                    })?;
                    println!(
                        "{}",
                        say(
                            &format!("{file} : {added} identifiant(s) ajouté(s)"),
                            &format!("{file}: {added} id(s) added"),
                        )
                    );
                } else {
                    println!(
                        "{}",
                        say(
                            &format!("{file} : {added} ligne(s) sans identifiant"),
                            &format!("{file}: {added} line(s) without an id"),
                        )
                    );
                }
            }
            if !add && count > 0 {
                println!(
                    "{}",
                    say(
                        "lance « relais flows ids --add » pour les écrire",
                        "run \"relais flows ids --add\" to write them",
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::Preview { listen, web_dir } => {
            let flags = Flags {
                listen: Some(listen),
                web_dir,
                ..Flags::default()
            };
            let mut config = settings::load(common, flags)?;
            let dir = config.flows_dir.clone();
            // Refuse a broken folder at once, with the checker's words.
            load_valid(&config)?;
            // The preview's store is a throwaway, whatever the settings say.
            let data = tempfile_dir()?;
            config.data_dir = data.clone();
            // A throwaway author account in a throwaway store: nothing to set up.
            let password = {
                use rand::RngCore;
                let mut bytes = [0u8; 12];
                rand::rng().fill_bytes(&mut bytes);
                bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
            };
            {
                let store = crate::store::Store::open(&config.data_dir)?;
                let accounts = crate::handoff::accounts::Accounts::new(
                    store.clone(),
                    crate::clock::Clock::system(),
                    config.console.clone(),
                );
                accounts.add("auteur", "Aperçu", Role::Author, &password)?;
                store.flush_blocking()?;
            }
            println!(
                "{}",
                say(
                    &format!("Aperçu de {} : ouvre http://{listen}/auteurs — identifiant « auteur », mot de passe « {password} ».", dir.display()),
                    &format!("Preview of {}: open http://{listen}/auteurs — login \"auteur\", password \"{password}\".", dir.display()),
                )
            );
            println!(
                "{}",
                say(
                    "La page se met à jour à chaque enregistrement; une modification refusée y est expliquée. Ctrl-C pour arrêter.",
                    "The page updates on every save; a refused edit is explained there. Ctrl-C to stop.",
                )
            );
            init_tracing();
            let result = serve(config);
            let _ = std::fs::remove_dir_all(&data);
            result?;
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::Lsp => {
            // The editor's workspace tells the folder unless a flag does.
            crate::lsp::run(common.flows_dir.clone())?;
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::Translations { command } => translations(&load_config(common)?, command),
        FlowsCommand::Triggers { command } => triggers(&load_config(common)?, command),
        FlowsCommand::Themes { command } => themes(&load_config(common)?, command),
        FlowsCommand::Try { lang, from } => {
            use crate::flow::play;
            let flows = load_valid(&load_config(common)?)?;
            let lang = if flows.has_language(&lang) {
                lang
            } else {
                eprintln!(
                    "{}",
                    say(
                        &format!("Il n'y a pas de traduction « {lang} » : la conversation sera en français."),
                        &format!("There is no \"{lang}\" translation: the conversation will be in French."),
                    )
                );
                "fr".into()
            };
            let ui = if lang == "fr" { "fr" } else { "en" };
            let mut state = crate::flow::engine::State {
                lang: lang.clone(),
                ..Default::default()
            };
            if let Some(node) = &from {
                if !flows.nodes.contains_key(node) {
                    let near =
                        crate::flow::rules::nearest(node, flows.order.iter().map(String::as_str));
                    match near {
                        Some(near) => bail!(
                            "{}",
                            say(
                                &format!(
                                    "le nœud « {node} » n'existe pas. Voulais-tu dire « {near} » ?"
                                ),
                                &format!(
                                    "the node \"{node}\" does not exist. Did you mean \"{near}\"?"
                                ),
                            )
                        ),
                        None => bail!("{}", no_such_node(node)),
                    }
                }
            }
            let interactive = std::io::stdin().is_terminal();
            if interactive {
                println!(
                    "{}",
                    if ui == "fr" {
                        "Tape ce que le ou la jeune ferait : un chiffre choisit, #id un choix, sinon du texte. /aide pour l'aide, /quitter pour sortir."
                    } else {
                        "Type what the youth would do: a number picks a choice, #id a choice, anything else is text. /help for help, /quit to leave."
                    }
                );
            }
            let marks = |text: String| play::mark_untranslated(&flows, &lang, &text);
            print!(
                "{}",
                marks(play::start(&flows, &mut state, from.as_deref(), ui).1)
            );
            let prompt = || {
                if interactive {
                    print!("> ");
                    let _ = std::io::stdout().flush();
                }
            };
            prompt();
            for line in std::io::stdin().lock().lines() {
                let line = line?;
                if line.trim().is_empty() {
                    prompt();
                    continue;
                }
                match line.trim() {
                    "/quit" | "/quitter" | "/q" => break,
                    "/help" | "/aide-auteur" | "/?" => {
                        println!("{}", play::help(ui));
                        prompt();
                        continue;
                    }
                    _ => {}
                }
                if !interactive {
                    println!("> {}", line.trim());
                }
                let typed = play::read(&line, &flows, &state);
                print!("{}", marks(play::play(&flows, &mut state, &typed, ui).1));
                prompt();
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::Graph {
            format,
            file,
            from,
            depth,
            hide,
        } => {
            let flows = load_valid(&load_config(common)?)?;
            let mut graph = crate::flow::graph::Graph::of(&flows);
            let filtered = file.is_some() || from.is_some() || !hide.is_empty();
            if let Some(node) = &from {
                if !flows.nodes.contains_key(node) {
                    bail!("{}", no_such_node(node));
                }
            }
            if filtered {
                graph = graph.filtered(file.as_deref(), from.as_deref(), depth, &hide);
            }
            print!(
                "{}",
                match format {
                    GraphFormat::Mermaid => graph.mermaid_with(filtered),
                    GraphFormat::Dot => graph.dot(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::History => {
            let config = load_config(common)?;
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
                    say("  <- dans le dossier", "  <- in the folder")
                } else {
                    String::new()
                };
                let files = say(
                    &format!("{files} fichier(s) .flow"),
                    &format!("{files} .flow file(s)"),
                );
                println!("{}  {when}  {files}{mark}", record.version);
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::Rollback { version } => {
            let config = load_config(common)?;
            let versions = crate::store::archived_flow_versions(&config.data_dir)?;
            let matching: Vec<_> = versions
                .iter()
                .filter(|v| v.version.starts_with(&version))
                .collect();
            let record = match matching.as_slice() {
                [one] => *one,
                [] => bail!(
                    "{}",
                    say(
                        &format!("aucune version ne commence par {version} (voir « relais flows history »)"),
                        &format!("no version starts with {version} (see `relais flows history`)"),
                    )
                ),
                _ => bail!(
                    "{}",
                    say(
                        &format!("plusieurs versions commencent par {version} : donnes-en plus"),
                        &format!("several versions start with {version}: give more of it"),
                    )
                ),
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
                        eprintln!("{}", diagnostic.render(help::ui().code()));
                    }
                    bail!(
                        "{}",
                        say(
                            "cette version ne passe pas les vérifications; rien n'a changé",
                            "this version does not pass the checks; nothing was changed",
                        )
                    )
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// A fresh private folder for a preview's throwaway store.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("relais-apercu-{name}"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// "The node … does not exist", in the command's language.
fn no_such_node(node: &str) -> String {
    say(
        &format!("le nœud « {node} » n'existe pas"),
        &format!("the node \"{node}\" does not exist"),
    )
}

/// Loads the settings' flows folder, which must be free of errors (for the tools that
/// need it).
fn load_valid(config: &Config) -> anyhow::Result<crate::flow::FlowSet> {
    let lang = help::ui().code();
    let sources =
        load::read_folder(&config.flows_dir).map_err(|d| anyhow::anyhow!(d.render(lang)))?;
    let report = load::build(sources, &config.start_node);
    match report.flows {
        Some(flows) => Ok(flows),
        None => {
            for diagnostic in report.errors() {
                eprintln!("{}", diagnostic.render(lang));
            }
            bail!(
                "{}",
                say(
                    "les flux ont des erreurs : lance d'abord « relais flows check »",
                    "the flows have errors: run `relais flows check` first",
                )
            )
        }
    }
}

fn themes(config: &Config, command: ThemesCommand) -> anyhow::Result<ExitCode> {
    use crate::flow::theme_corpus;
    let ThemesCommand::Test { file } = command;
    let flows = load_valid(config)?;
    let path = file.unwrap_or_else(|| PathBuf::from("tests/data/themes"));
    let lines = theme_corpus::read(&path).map_err(|e| anyhow::anyhow!(e))?;
    let report = theme_corpus::Report::run(&flows, lines);
    print!("{}", report.table());
    Ok(if report.passes() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn triggers(config: &Config, command: TriggersCommand) -> anyhow::Result<ExitCode> {
    use crate::flow::corpus;
    match command {
        TriggersCommand::Test { file } => {
            let flows = load_valid(config)?;
            let path = file.unwrap_or_else(|| PathBuf::from("tests/data/triggers"));
            let lines = corpus::read(&path).map_err(|e| anyhow::anyhow!(e))?;
            let count = lines.len().max(1);
            let started = std::time::Instant::now();
            let report = corpus::Report::run(&flows.triggers, lines);
            let spent = started.elapsed();
            print!("{}", report.table());
            println!(
                "matched {count} messages in {:.1} ms ({:.1} µs a message)",
                spent.as_secs_f64() * 1000.0,
                spent.as_secs_f64() * 1e6 / count as f64
            );
            Ok(if report.passes() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        TriggersCommand::Why { phrase } => {
            let flows = load_valid(config)?;
            let (normalised, hits) = flows.triggers.explain(&phrase);
            println!("normalised: {}", normalised.words.join(" "));
            if hits.is_empty() {
                println!("no pattern matches: nothing fires");
            }
            for hit in &hits {
                println!(
                    "{} [{}] « {} » ({}:{}:{}), words {}..{}: {}{}",
                    if hit.negated { "held back" } else { "matches" },
                    hit.section.name,
                    hit.pattern.written,
                    hit.pattern.pos.file,
                    hit.pattern.pos.line,
                    hit.pattern.pos.col,
                    hit.start,
                    hit.end,
                    normalised.words[hit.start..hit.end].join(" "),
                    if hit.negated {
                        " (a negation before it, in its gap, or words after it that cancel it)"
                    } else {
                        ""
                    }
                );
            }
            match flows.triggers.classify(&phrase) {
                Some(hit) => println!(
                    "=> {} ({}): goes to « {} »",
                    hit.section.level.name(),
                    hit.section.name,
                    hit.section.node
                ),
                None => println!(
                    "=> {}",
                    if hits.is_empty() {
                        "nothing"
                    } else {
                        "nothing (all held back)"
                    }
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn cannot_write(path: &std::path::Path) -> String {
    say(
        &format!("je n'arrive pas à écrire {}", path.display()),
        &format!("cannot write {}", path.display()),
    )
}

fn translations(config: &Config, command: TranslationsCommand) -> anyhow::Result<ExitCode> {
    use crate::flow::translate;
    match command {
        TranslationsCommand::Export { lang, out, only } => {
            let flows = load_valid(config)?;
            // The French of earlier versions, so a stale row shows what changed.
            let versions =
                crate::store::archived_flow_versions(&config.data_dir).unwrap_or_default();
            let history = translate::history_of(versions.iter().map(|v| &v.sources));
            let rows: Vec<_> = translate::export(&flows, &lang, &history)
                .into_iter()
                .filter(|row| only.is_empty() || only.contains(&row.status))
                .collect();
            let csv = translate::to_csv(&rows)?;
            match out {
                Some(path) => std::fs::write(&path, csv).with_context(|| cannot_write(&path))?,
                None => print!("{csv}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        TranslationsCommand::Import { lang, file } => {
            let dir = &config.flows_dir;
            if !crate::flow::parse::valid_id(&lang) || lang.contains('.') {
                bail!(
                    "{}",
                    say(
                        "une langue s'écrit en code court, comme en, iu ou cr",
                        "a language is written as a short code, such as en, iu or cr",
                    )
                );
            }
            let ui = help::ui().code();
            let flows = load_valid(config)?;
            let bytes = std::fs::read(&file).with_context(|| {
                say(
                    &format!("je n'arrive pas à lire {}", file.display()),
                    &format!("cannot read {}", file.display()),
                )
            })?;
            let decoded = translate::decode(&bytes);
            if decoded.windows_1252 {
                println!(
                    "{}",
                    say(
                        "Ce fichier était en Windows-1252 (ancien Excel) : je l'ai lu comme tel.",
                        "This file was in Windows-1252 (older Excel): I read it as such.",
                    )
                );
            }
            if decoded.semicolons {
                println!(
                    "{}",
                    say(
                        "Ce fichier est séparé par des points-virgules (Excel en français) : je l'ai lu comme tel.",
                        "This file is separated by semicolons (French Excel): I read it as such.",
                    )
                );
            }
            let rows = translate::rows_of(&decoded).map_err(|e| anyhow::anyhow!(e.message(ui)))?;
            let imported = translate::import(&flows, &lang, &rows);
            let path = dir.join(translate::table_path(&lang));
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, &imported.table).with_context(|| cannot_write(&path))?;
            for conflict in &imported.conflicts {
                println!("{}", conflict.message(ui));
            }
            let (added, changed, conflicts) =
                (imported.added, imported.changed, imported.conflicts.len());
            println!(
                "{}",
                say(
                    &format!(
                        "{} : {added} ligne(s) ajoutée(s), {changed} modifiée(s), {conflicts} conflit(s)",
                        path.display()
                    ),
                    &format!(
                        "{}: {added} line(s) added, {changed} changed, {conflicts} conflict(s)",
                        path.display()
                    ),
                )
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
