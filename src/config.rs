//! The configuration: built-in defaults, then an optional TOML file (`--config`),
//! then `RELAIS_*` environment variables, then command-line flags. Every limit lives
//! here with its default; `relais config example` prints them all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use documented::DocumentedFields;
use figment::value::{Dict, Empty, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

/// A mistake in the configuration, named by where the value came from: the file and
/// its key (`relais.toml:limits.max_queue`), the variable (`RELAIS_LIMITS__MAX_QUEUE`)
/// or the flag. `Display` says it in French; [`ConfigError::message`] in either language.
#[derive(Debug)]
pub enum ConfigError {
    /// The file given with `--config` cannot be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not TOML.
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A key or a variable that names no setting.
    Unknown {
        origin: Origin,
        /// The setting it was probably meant to be, written the same way.
        nearest: Option<String>,
    },
    /// A value of the wrong kind (text for a number, a number out of range, ...).
    Invalid {
        origin: Origin,
        /// The value as given.
        found: String,
        expected: Expected,
    },
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A key of the TOML file, dotted (`limits.max_queue`).
    File { path: PathBuf, key: String },
    /// A `RELAIS_*` variable, by its name.
    Env { name: String },
    /// A command-line flag (`--listen`).
    Flag { name: String },
    /// The built-in defaults (a bug if it ever shows).
    Default { key: String },
}

/// What a setting takes, to say so to whoever got it wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// A whole number from 0, at most `max` when the type has a small ceiling.
    WholeNumber {
        max: Option<u64>,
    },
    Boolean,
    Text,
    SocketAddress,
    IpAddress,
    List,
    /// A section (a TOML table), not one value.
    Section,
    /// serde's own words, when none of the above fits.
    Other(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message("fr"))
    }
}

/// No `source()`: the cause is already in the sentence, in the reader's language.
impl std::error::Error for ConfigError {}

impl ConfigError {
    /// The mistake in one sentence, in French (`"fr"`, and anything but `"en"`) or English.
    pub fn message(&self, lang: &str) -> String {
        let en = lang == "en";
        match self {
            ConfigError::Read { path, source } => {
                let reason = match (source.kind(), en) {
                    (std::io::ErrorKind::NotFound, false) => "il n'existe pas".to_string(),
                    (std::io::ErrorKind::NotFound, true) => "it does not exist".to_string(),
                    (std::io::ErrorKind::PermissionDenied, false) => "accès refusé".to_string(),
                    (std::io::ErrorKind::PermissionDenied, true) => "permission denied".to_string(),
                    (std::io::ErrorKind::IsADirectory, false) => "c'est un dossier".to_string(),
                    (std::io::ErrorKind::IsADirectory, true) => "it is a folder".to_string(),
                    _ => source.to_string(),
                };
                if en {
                    format!("cannot read the config file {}: {reason}", path.display())
                } else {
                    format!(
                        "je n'arrive pas à lire le fichier de configuration {} : {reason}",
                        path.display()
                    )
                }
            }
            ConfigError::Syntax {
                path,
                line,
                column,
                message,
            } => {
                if en {
                    format!(
                        "the config file {} is not valid TOML at line {line}, column {column}: {message}",
                        path.display()
                    )
                } else {
                    format!(
                        "le fichier de configuration {} n'est pas du TOML valide, ligne {line}, colonne {column} : {message}",
                        path.display()
                    )
                }
            }
            ConfigError::Unknown { origin, nearest } => {
                let origin = origin.to_string();
                match (nearest, en) {
                    (Some(near), false) => format!(
                        "{origin} n'est pas un réglage de relais : voulais-tu dire {near} ? (`relais config example` les montre tous)"
                    ),
                    (None, false) => format!(
                        "{origin} n'est pas un réglage de relais (`relais config example` les montre tous)"
                    ),
                    (Some(near), true) => format!(
                        "{origin} is not a relais setting: did you mean {near}? (`relais config example` shows them all)"
                    ),
                    (None, true) => format!(
                        "{origin} is not a relais setting (`relais config example` shows them all)"
                    ),
                }
            }
            ConfigError::Invalid {
                origin,
                found,
                expected,
            } => {
                if en {
                    format!(
                        "{origin} is {found}, but it must be {}",
                        expected.words(true)
                    )
                } else {
                    format!(
                        "{origin} vaut {found}, mais il faut {}",
                        expected.words(false)
                    )
                }
            }
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File { path, key } => write!(f, "{}:{key}", path.display()),
            Origin::Env { name } | Origin::Flag { name } => f.write_str(name),
            Origin::Default { key } => f.write_str(key),
        }
    }
}

impl Expected {
    fn words(&self, en: bool) -> String {
        match (self, en) {
            (Expected::WholeNumber { max: None }, false) => "un nombre entier, 0 ou plus".into(),
            (Expected::WholeNumber { max: None }, true) => "a whole number, 0 or more".into(),
            (Expected::WholeNumber { max: Some(max) }, false) => {
                format!("un nombre entier de 0 à {max}")
            }
            (Expected::WholeNumber { max: Some(max) }, true) => {
                format!("a whole number from 0 to {max}")
            }
            (Expected::Boolean, false) => "true ou false".into(),
            (Expected::Boolean, true) => "true or false".into(),
            (Expected::Text, false) => "du texte (entre guillemets dans le fichier)".into(),
            (Expected::Text, true) => "text (in quotes in the file)".into(),
            (Expected::SocketAddress, false) => {
                "une adresse et un port, comme 127.0.0.1:8080".into()
            }
            (Expected::SocketAddress, true) => "an address and a port, like 127.0.0.1:8080".into(),
            (Expected::IpAddress, false) => "une adresse IP, comme 127.0.0.1".into(),
            (Expected::IpAddress, true) => "an IP address, like 127.0.0.1".into(),
            (Expected::List, false) => "une liste, comme [\"a\", \"b\"]".into(),
            (Expected::List, true) => "a list, like [\"a\", \"b\"]".into(),
            (Expected::Section, false) => {
                "une section de réglages, donnés un par un (voir `relais config example`)".into()
            }
            (Expected::Section, true) => {
                "a section of settings, given one by one (see `relais config example`)".into()
            }
            (Expected::Other(words), _) => words.clone(),
        }
    }

    /// What serde says it expected, in our words.
    fn from_serde(expected: &str) -> Self {
        let max = |bits: u32| {
            Some(if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            })
        };
        match expected {
            "u8" => Expected::WholeNumber { max: max(8) },
            "u16" => Expected::WholeNumber { max: max(16) },
            "u32" => Expected::WholeNumber { max: max(32) },
            "u64" | "usize" => Expected::WholeNumber { max: None },
            "a boolean" | "bool" => Expected::Boolean,
            "a string" | "string" | "a borrowed string" | "path string" => Expected::Text,
            "socket address" => Expected::SocketAddress,
            "IP address" => Expected::IpAddress,
            "a sequence" => Expected::List,
            other if other.starts_with("struct ") || other.contains("map") => Expected::Section,
            other => Expected::Other(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DocumentedFields)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port the server listens on.
    pub listen: SocketAddr,
    /// Folder of the embedded store (sled).
    pub data_dir: PathBuf,
    /// Folder of the scripts, resources, triggers and translations.
    pub flows_dir: PathBuf,
    /// Folder of the youth page and the console page.
    pub web_dir: PathBuf,
    /// The node every conversation starts at.
    pub start_node: String,
    /// Where the quick-exit button sends a youth.
    pub quick_exit_url: String,
    /// Youths' sessions: expiry, what is kept for resume.
    pub sessions: SessionConfig,
    /// Handing a youth to a person: the queue, escalation, the pager, push, the schedule.
    pub handoff: HandoffConfig,
    /// The intervenors' console: origins, logins, two-factor codes.
    pub console: ConsoleConfig,
    /// Rate and size limits (see ARCHITECTURE.md, "Limits").
    pub limits: LimitsConfig,
    /// Anonymous reports.
    pub reports: ReportsConfig,
    /// Where `/metrics` is served: off when unset (the default), else on this
    /// address alone (keep it private: it shows when nobody is on call).
    pub metrics_listen: Option<SocketAddr>,
    /// Running the service: the audit trail, enrolment links, blocks after abuse.
    pub operations: OperationsConfig,
}

/// Running the service: the audit trail, enrolment codes, blocks after abuse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DocumentedFields)]
#[serde(default, deny_unknown_fields)]
pub struct OperationsConfig {
    /// Days an entry of the staff audit trail is kept.
    pub audit_retention_days: u64,
    /// Hours an enrolment link (invite, password or TOTP reset) stays valid.
    pub enrolment_hours: u64,
    /// Hours a session ended as abusive is refused a person (flows stay open).
    pub abuse_block_hours: u64,
}

impl Default for OperationsConfig {
    fn default() -> Self {
        Self {
            audit_retention_days: 365,
            enrolment_hours: 24,
            abuse_block_hours: 24,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DocumentedFields)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsConfig {
    /// Days after its last activity a report and its messages are erased.
    pub retention_days: u64,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        Self { retention_days: 90 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DocumentedFields)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A session nobody touched for this long is deleted.
    pub idle_expiry_secs: u64,
    /// How many of a session's last frames are kept for resume.
    pub frame_log: u64,
    /// How often expired sessions are purged.
    pub purge_every_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DocumentedFields)]
#[serde(default, deny_unknown_fields)]
pub struct HandoffConfig {
    /// A request waiting longer than this gets the timeout message with resources.
    pub timeout_secs: u64,
    /// Days a closed conversation's transcript is kept (at most 30; 0 = deleted at close).
    pub transcript_retention_days: u64,
    /// Called (POST, no youth content) when an urgent request waits with nobody on call.
    pub urgent_webhook: Option<String>,
    /// Usual hours, told to a youth when nobody is on call, in French
    /// ("lundi-vendredi 9 h-17 h").
    pub usual_hours_fr: Option<String>,
    /// The same usual hours in English, for a youth who chose English.
    pub usual_hours_en: Option<String>,
    /// Signs each webhook call (HMAC-SHA256, header `X-Relais-Signature`); needed
    /// when `urgent_webhook` is set.
    pub webhook_secret: Option<String>,
    /// Minutes a request may wait before the webhook's `long_wait` event (0 = never).
    pub long_wait_mins: u64,
    /// Seconds an urgent request may wait unclaimed before it is pushed again and sent
    /// to the supervisors and the backup list.
    pub escalate_after_secs: u64,
    /// Seconds an urgent request may wait unclaimed before the webhook's
    /// `urgent_waiting` event (at once when nobody is on call).
    pub webhook_after_secs: u64,
    /// Logins also alerted when an urgent request is escalated (besides supervisors).
    pub backup_logins: Vec<String>,
    /// Most open requests one client key (address) may hold; urgent ones are never refused.
    pub max_open_per_client: usize,
    /// A waiting request whose youth has had no socket for this long leaves the queue.
    pub abandoned_after_secs: u64,
    /// Web Push to the intervenors' devices (RFC 8030, 8291, 8292).
    pub push: PushConfig,
    /// When a person is usually on call, in the organisation's time zone.
    pub schedule: ScheduleConfig,
    /// The holder of a conversation without a console this long: the youth is told
    /// the person lost the connection and the conversation is kept.
    pub holder_grace_secs: u64,
    /// The holder still without a console this long: the request goes back to the
    /// queue, first among its peers, and the youth is told, with resources.
    pub holder_requeue_secs: u64,
}

/// Web Push to the intervenors' devices (RFC 8030, 8291, 8292).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DocumentedFields)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// Push notifications to subscribed devices.
    pub enabled: bool,
    /// Seconds a normal request waits before the on-call intervenors' devices are told.
    pub normal_delay_secs: u64,
    /// Who runs this server, for the push services (VAPID `sub`: mailto: or https:).
    pub contact: String,
    /// Seconds a push service keeps an undelivered notification.
    pub ttl_secs: u64,
    /// Accept push endpoints over plain http (tests only; real services are https).
    pub allow_insecure_endpoints: bool,
}

/// When a person is usually on call, in the organisation's time zone. Hours are
/// "18:00-23:00", several joined by commas ("09:00-12:00, 13:00-17:00"); an end
/// before its start runs past midnight; empty = closed that day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DocumentedFields)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// IANA time zone (America/Toronto is Montréal's).
    pub time_zone: String,
    /// Monday's hours ("18:00-23:00"; empty = closed).
    pub monday: String,
    /// Tuesday's hours.
    pub tuesday: String,
    /// Wednesday's hours.
    pub wednesday: String,
    /// Thursday's hours.
    pub thursday: String,
    /// Friday's hours.
    pub friday: String,
    /// Saturday's hours.
    pub saturday: String,
    /// Sunday's hours.
    pub sunday: String,
    /// Dates that differ: "2026-12-25 closed" or "2026-12-24 12:00-16:00".
    pub exceptions: Vec<String>,
    /// Logins put on call when an opening starts and off when it ends.
    pub auto_on_call: Vec<String>,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            normal_delay_secs: 120,
            contact: "mailto:oncall@example.org".into(),
            ttl_secs: 900,
            allow_insecure_endpoints: false,
        }
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            time_zone: "America/Toronto".into(),
            monday: String::new(),
            tuesday: String::new(),
            wednesday: String::new(),
            thursday: String::new(),
            friday: String::new(),
            saturday: String::new(),
            sunday: String::new(),
            exceptions: Vec::new(),
            auto_on_call: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DocumentedFields)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Origins allowed to open the console socket; empty = the server's own origin only.
    pub allowed_origins: Vec<String>,
    /// Origins of partner sites allowed to open the chat socket, besides the server's own.
    pub chat_partner_origins: Vec<String>,
    /// An intervenor's token dies after this much inactivity.
    pub idle_timeout_secs: u64,
    /// An intervenor's token dies this long after login, whatever happens.
    pub absolute_timeout_secs: u64,
    /// Every account must use a TOTP code.
    pub require_totp: bool,
    /// The first delay after repeated login failures on an account (ms); it
    /// doubles up to 8 times that.
    pub login_delay_ms: u64,
    /// Supervisors must use a TOTP code (staff accounts change other accounts).
    pub require_totp_supervisors: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DocumentedFields)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest frame the application reads (bytes); larger gets `too_large`.
    pub max_frame_bytes: usize,
    /// Largest frame the socket accepts at all (bytes); larger closes it (1009).
    pub max_transport_bytes: usize,
    /// Longest free text (characters).
    pub max_text_chars: usize,
    /// WebSocket read buffer per socket (bytes).
    pub socket_read_buffer: usize,
    /// WebSocket write buffer per socket (bytes; 0 writes each frame at once).
    pub socket_write_buffer: usize,
    /// Most youth sockets open at once; beyond, `server_busy`.
    pub max_youth_sockets: usize,
    /// Seconds a new socket has to send `hello`.
    pub handshake_timeout_secs: u64,
    /// Frames per second per session.
    pub frames_per_sec: u32,
    /// Frames a session may send at once above `frames_per_sec`.
    pub frames_burst: u32,
    /// Refusals in a row before a flooding socket is closed (1008).
    pub flood_close_after: u32,
    /// New sessions per minute per client key.
    pub sessions_per_minute: u32,
    /// Requests for a human per session per hour.
    pub handoffs_per_hour: u32,
    /// Most requests waiting in the queue at once.
    pub max_queue: usize,
    /// Seconds of silence before a socket is closed (it stays resumable).
    pub idle_socket_secs: u64,
    /// Sockets at once per client key.
    pub sockets_per_client: usize,
    /// Largest HTTP request body (bytes).
    pub max_body_bytes: usize,
    /// Seconds an HTTP request may take.
    pub http_timeout_secs: u64,
    /// Console API calls per minute per token.
    pub api_calls_per_minute: u32,
    /// Addresses of reverse proxies whose X-Forwarded-For is trusted.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// An IPv6 client is its network of this many bits (64, or 56 for ISPs that
    /// give each home a /56); an IPv4 client is its address.
    pub ipv6_prefix: u8,
    /// Ceilings for everyone together, so that many client keys cannot exhaust
    /// what costs: new sessions a minute, requests for a person a minute (urgent
    /// ones never refused), reports an hour, logins a minute. This one: new sessions
    /// a minute, for everyone together.
    pub sessions_per_minute_all: u32,
    /// Requests for a person a minute, for everyone together (urgent ones never refused).
    pub handoffs_per_minute_all: u32,
    /// Reports an hour, for everyone together.
    pub reports_per_hour_all: u32,
    /// Login attempts a minute, for everyone together.
    pub logins_per_minute_all: u32,
    /// Reports an hour per session and per client key.
    pub reports_per_hour: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            flows_dir: PathBuf::from("./flows"),
            web_dir: PathBuf::from("./web"),
            start_node: "accueil".into(),
            quick_exit_url: "https://meteo.gc.ca/".into(),
            sessions: SessionConfig::default(),
            handoff: HandoffConfig::default(),
            console: ConsoleConfig::default(),
            limits: LimitsConfig::default(),
            reports: ReportsConfig::default(),
            metrics_listen: None,
            operations: OperationsConfig::default(),
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_expiry_secs: 24 * 3600,
            frame_log: 200,
            purge_every_secs: 600,
        }
    }
}

impl Default for HandoffConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 300,
            transcript_retention_days: 0,
            urgent_webhook: None,
            usual_hours_fr: None,
            usual_hours_en: None,
            webhook_secret: None,
            long_wait_mins: 10,
            escalate_after_secs: 60,
            webhook_after_secs: 180,
            backup_logins: Vec::new(),
            max_open_per_client: 3,
            abandoned_after_secs: 1800,
            push: PushConfig::default(),
            schedule: ScheduleConfig::default(),
            holder_grace_secs: 45,
            holder_requeue_secs: 180,
        }
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            chat_partner_origins: Vec::new(),
            idle_timeout_secs: 30 * 60,
            absolute_timeout_secs: 12 * 3600,
            require_totp: false,
            login_delay_ms: 1000,
            require_totp_supervisors: false,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: 8 * 1024,
            max_transport_bytes: 128 * 1024,
            max_text_chars: 2000,
            socket_read_buffer: 2 * 1024,
            socket_write_buffer: 0,
            max_youth_sockets: 20_000,
            handshake_timeout_secs: 20,
            frames_per_sec: 5,
            frames_burst: 10,
            flood_close_after: 20,
            sessions_per_minute: 20,
            handoffs_per_hour: 4,
            max_queue: 200,
            idle_socket_secs: 60,
            sockets_per_client: 20,
            max_body_bytes: 16 * 1024,
            http_timeout_secs: 15,
            api_calls_per_minute: 600,
            trusted_proxies: Vec::new(),
            ipv6_prefix: 64,
            sessions_per_minute_all: 600,
            handoffs_per_minute_all: 120,
            reports_per_hour_all: 120,
            logins_per_minute_all: 120,
            reports_per_hour: 3,
        }
    }
}

/// The values given on the command line, the last layer: a flag always wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flags {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub flows_dir: Option<PathBuf>,
    pub web_dir: Option<PathBuf>,
    pub start_node: Option<String>,
}

/// Variables that start with `RELAIS_` but are not settings.
const NOT_SETTINGS: &[&str] = &[
    // The log filter, read before the configuration (`crate::logs`).
    "RELAIS_LOG",
    // The shipped-flows tests' folder (`tests/it/shipped_flows.rs`).
    "RELAIS_SHIPPED_FLOWS",
];

/// The prefix of every setting's variable, and the separator between sections.
const ENV_PREFIX: &str = "RELAIS_";
const ENV_SEPARATOR: &str = "__";

/// The names of the layers, as figment's metadata, to tell where a value came from.
const DEFAULTS: &str = "built-in defaults";
const FILE: &str = "configuration file";
const ENVIRONMENT: &str = "RELAIS_* environment variables";
const COMMAND_LINE: &str = "command-line flags";

/// An example value for each setting that is unset by default: `config example`
/// prints it, commented, and a variable for such a setting is read as this kind of value.
const UNSET_EXAMPLES: &[(&str, &str)] = &[
    ("metrics_listen", "\"127.0.0.1:9090\""),
    (
        "handoff.urgent_webhook",
        "\"https://pager.example.org/relais\"",
    ),
    (
        "handoff.usual_hours_fr",
        "\"du lundi au vendredi, de 9 h à 17 h\"",
    ),
    (
        "handoff.usual_hours_en",
        "\"Monday to Friday, 9 am to 5 pm\"",
    ),
    (
        "handoff.webhook_secret",
        "\"a long random string: openssl rand -hex 32\"",
    ),
];

impl Config {
    /// Defaults, then the file (if any), then `RELAIS_*` variables from `vars`.
    pub fn load(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::load_with(file, vars, &Flags::default())
    }

    /// Defaults, then the file (if any), then `RELAIS_*` variables from `vars`, then
    /// the flags: what every command that needs settings reads.
    pub fn load_with(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
        flags: &Flags,
    ) -> Result<Self, ConfigError> {
        let figment = layers(file, vars, flags)?;
        figment
            .extract::<Config>()
            .map_err(|error| explain(&figment, error))
    }

    /// The example configuration: every setting with what it does and its default;
    /// those unset by default are commented, with an example value.
    pub fn example() -> String {
        let mut out = String::from(
            "# relais configuration. Every value here is the built-in default; a commented\n\
             # setting is unset unless its \"#\" is removed.\n\
             # Precedence: defaults < this file (--config) < RELAIS_* variables < flags.\n\
             # A variable names a key in capitals, sections joined by \"__\":\n\
             #   RELAIS_LISTEN=0.0.0.0:8080  RELAIS_LIMITS__MAX_QUEUE=500\n\
             #   RELAIS_HANDOFF__URGENT_WEBHOOK=https://pager.example.org/relais\n\
             # An empty variable unsets a setting that is unset by default.\n",
        );
        write_section(&mut out, &defaults(), &[]);
        out
    }
}

/// The layers, merged, each value tagged with the layer it came from; keys and
/// variables that name no setting are refused here, before any value is read.
fn layers(
    file: Option<&Path>,
    vars: impl IntoIterator<Item = (String, String)>,
    flags: &Flags,
) -> Result<Figment, ConfigError> {
    let defaults = defaults();
    let mut figment = Figment::new().merge(Layer {
        metadata: Metadata::named(DEFAULTS),
        dict: defaults.clone(),
    });
    if let Some(path) = file {
        let dict = read_file(path)?;
        if let Some(key) = first_unknown(&dict, &defaults, &mut Vec::new()) {
            let nearest = nearest_key(&key, &defaults).map(|k| k.join("."));
            return Err(ConfigError::Unknown {
                origin: Origin::File {
                    path: path.to_path_buf(),
                    key: key.join("."),
                },
                nearest,
            });
        }
        figment = figment.merge(Layer {
            metadata: Metadata::from(FILE, path),
            dict,
        });
    }
    figment = figment.merge(Layer {
        metadata: Metadata::named(ENVIRONMENT)
            .interpolater(|_: &Profile, keys: &[&str]| env_name(keys)),
        dict: read_vars(vars, &defaults)?,
    });
    let mut dict = Dict::new();
    let mut flag = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            dict.insert(key.to_string(), value);
        }
    };
    let text = |p: &Option<PathBuf>| p.as_ref().map(|p| Value::from(p.display().to_string()));
    flag("listen", flags.listen.map(|l| Value::from(l.to_string())));
    flag("data_dir", text(&flags.data_dir));
    flag("flows_dir", text(&flags.flows_dir));
    flag("web_dir", text(&flags.web_dir));
    flag("start_node", flags.start_node.clone().map(Value::from));
    Ok(figment.merge(Layer {
        metadata: Metadata::named(COMMAND_LINE).interpolater(|_: &Profile, keys: &[&str]| {
            format!("--{}", keys.join("-").replace('_', "-"))
        }),
        dict,
    }))
}

/// One layer of the configuration, as figment reads it.
struct Layer {
    metadata: Metadata,
    dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<figment::value::Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// The defaults as figment values: a setting unset by default is there as `None`.
fn defaults() -> Dict {
    Value::serialize(Config::default())
        .ok()
        .and_then(Value::into_dict)
        .unwrap_or_default()
}

/// Each section's fields in the order they are written, with their doc comments.
fn fields_of(section: &[&str]) -> (&'static [&'static str], &'static [&'static str]) {
    fn of<T: DocumentedFields>() -> (&'static [&'static str], &'static [&'static str]) {
        (T::FIELD_NAMES, T::FIELD_DOCS)
    }
    match section {
        [] => of::<Config>(),
        ["sessions"] => of::<SessionConfig>(),
        ["handoff"] => of::<HandoffConfig>(),
        ["handoff", "push"] => of::<PushConfig>(),
        ["handoff", "schedule"] => of::<ScheduleConfig>(),
        ["console"] => of::<ConsoleConfig>(),
        ["limits"] => of::<LimitsConfig>(),
        ["reports"] => of::<ReportsConfig>(),
        ["operations"] => of::<OperationsConfig>(),
        _ => (&[], &[]),
    }
}

/// Writes a section's settings (plain values first, as TOML wants), then its sections.
fn write_section(out: &mut String, dict: &Dict, path: &[&str]) {
    let (names, docs) = fields_of(path);
    let doc_of = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| docs.get(i))
            .copied()
            .unwrap_or_default()
    };
    // Fields in source order, then anything the docs do not know (never, but not lost).
    let mut keys: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| dict.contains_key(*n))
        .collect();
    keys.extend(
        dict.keys()
            .map(String::as_str)
            .filter(|k| !names.contains(k)),
    );
    let comment = |out: &mut String, doc: &str| {
        for line in doc.lines() {
            out.push_str(&format!("# {}\n", line.trim()).replace("# \n", "#\n"));
        }
    };
    for key in keys
        .iter()
        .filter(|k| !matches!(dict[**k], Value::Dict(..)))
    {
        if !out.ends_with("]\n") {
            out.push('\n');
        }
        comment(out, doc_of(key));
        let mut full: Vec<&str> = path.to_vec();
        full.push(key);
        match &dict[*key] {
            Value::Empty(..) => {
                let example = unset_example(&full).unwrap_or("\"\"");
                out.push_str(&format!(
                    "# Unset by default. For example:\n# {key} = {example}\n"
                ));
            }
            value => out.push_str(&format!("{key} = {}\n", toml_text(value))),
        }
    }
    for key in keys.iter().filter(|k| matches!(dict[**k], Value::Dict(..))) {
        let mut full: Vec<&str> = path.to_vec();
        full.push(key);
        out.push('\n');
        comment(out, doc_of(key));
        out.push_str(&format!("[{}]\n", full.join(".")));
        if let Value::Dict(_, inner) = &dict[*key] {
            write_section(out, inner, &full);
        }
    }
}

/// A value as TOML writes it inline.
fn toml_text(value: &Value) -> String {
    toml::Value::try_from(value)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn unset_example(path: &[&str]) -> Option<&'static str> {
    let dotted = path.join(".");
    UNSET_EXAMPLES
        .iter()
        .find(|(key, _)| *key == dotted)
        .map(|(_, example)| *example)
}

/// The variable that sets a key: `RELAIS_LIMITS__MAX_QUEUE`.
fn env_name<S: AsRef<str>>(keys: &[S]) -> String {
    let upper: Vec<String> = keys
        .iter()
        .map(|k| k.as_ref().to_ascii_uppercase())
        .collect();
    format!("{ENV_PREFIX}{}", upper.join(ENV_SEPARATOR))
}

/// The file, as figment values, or the reason it cannot be read.
fn read_file(path: &Path) -> Result<Dict, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let table = toml::from_str::<toml::Table>(&text).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0).min(text.len());
        let before = &text[..at];
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line: before.matches('\n').count() + 1,
            column: before.rsplit('\n').next().unwrap_or("").chars().count() + 1,
            message: e.message().trim_end_matches('\n').replace('\n', " "),
        }
    })?;
    Ok(Value::serialize(table)
        .ok()
        .and_then(Value::into_dict)
        .unwrap_or_default())
}

/// The `RELAIS_*` variables among `vars`, as figment values. Each is read as the kind
/// of value its setting takes: text as it is (`RELAIS_START_NODE=accueil`, or quoted),
/// anything else as a TOML value (`12`, `true`, `["a", "b"]`); an empty variable
/// unsets a setting that is unset by default.
fn read_vars(
    vars: impl IntoIterator<Item = (String, String)>,
    defaults: &Dict,
) -> Result<Dict, ConfigError> {
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX) && !NOT_SETTINGS.contains(&name.as_str()))
        .collect();
    vars.sort();
    let mut dict = Dict::new();
    for (name, text) in vars {
        let path: Vec<String> = name[ENV_PREFIX.len()..]
            .split(ENV_SEPARATOR)
            .map(|part| part.to_ascii_lowercase())
            .collect();
        let Some(default) = lookup(defaults, &path).filter(|_| path.iter().all(|p| !p.is_empty()))
        else {
            return Err(ConfigError::Unknown {
                nearest: nearest_key(&path, defaults).map(|k| env_name(&k)),
                origin: Origin::Env { name },
            });
        };
        let value = match default {
            Value::String(..) => Value::from(unquoted(&text)),
            Value::Empty(..) if text.trim().is_empty() => Value::from(Empty::None),
            Value::Empty(..) => {
                let keys: Vec<&str> = path.iter().map(String::as_str).collect();
                let example = unset_example(&keys).and_then(toml_value);
                match example {
                    Some(toml::Value::String(_)) | None => Value::from(unquoted(&text)),
                    Some(_) => from_toml(&text),
                }
            }
            _ => from_toml(&text),
        };
        insert(&mut dict, &path, value);
    }
    Ok(dict)
}

/// A variable's text as TOML (`12`, `true`, `["a"]`), or as text when it is not TOML.
fn from_toml(text: &str) -> Value {
    toml_value(text)
        .and_then(|v| Value::serialize(v).ok())
        .unwrap_or_else(|| Value::from(text.to_string()))
}

/// `text` read as one TOML value.
fn toml_value(text: &str) -> Option<toml::Value> {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
}

/// Text given in TOML quotes loses them (`"0.0.0.0:8080"`); any other text stays.
fn unquoted(text: &str) -> String {
    match toml_value(text) {
        Some(toml::Value::String(inner)) if text.trim_start().starts_with(['"', '\'']) => inner,
        _ => text.to_string(),
    }
}

fn insert(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

fn lookup<'a>(dict: &'a Dict, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let value = dict.get(first)?;
    if rest.is_empty() {
        return Some(value);
    }
    match value {
        Value::Dict(_, inner) => lookup(inner, rest),
        _ => None,
    }
}

/// The first key of `given` that names no setting, as a path.
fn first_unknown(given: &Dict, known: &Dict, path: &mut Vec<String>) -> Option<Vec<String>> {
    for (key, value) in given {
        path.push(key.clone());
        match (known.get(key), value) {
            (None, _) => return Some(path.clone()),
            (Some(Value::Dict(_, known)), Value::Dict(_, given)) => {
                if let Some(found) = first_unknown(given, known, path) {
                    return Some(found);
                }
            }
            // A section given one value: the extraction says it must be a section.
            (Some(Value::Dict(..)), _) => {}
            // A plain setting given a section: its first key is unknown.
            (Some(_), Value::Dict(_, given)) => {
                if let Some(first) = given.keys().next() {
                    path.push(first.clone());
                    return Some(path.clone());
                }
            }
            (Some(_), _) => {}
        }
        path.pop();
    }
    None
}

/// Every setting's path, sections included.
fn all_keys(dict: &Dict, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (key, value) in dict {
        path.push(key.clone());
        out.push(path.clone());
        if let Value::Dict(_, inner) = value {
            all_keys(inner, path, out);
        }
        path.pop();
    }
}

/// The setting a mistyped key was probably meant to be (a slip of a letter or two).
fn nearest_key(path: &[String], defaults: &Dict) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    all_keys(defaults, &mut Vec::new(), &mut keys);
    let wanted = path.join(".");
    keys.into_iter()
        .map(|k| (strsim::osa_distance(&wanted, &k.join(".")), k))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// figment's error, as one of ours: the key and where its value came from.
fn explain(figment: &Figment, error: figment::Error) -> ConfigError {
    let defaults = defaults();
    // The setting, not an element of its list (`limits.trusted_proxies`, not `….0`).
    let mut path = error.path.clone();
    while path.len() > 1 && lookup(&defaults, &path).is_none() {
        path.pop();
    }
    let key = path.join(".");
    let origin = match &error.metadata {
        Some(md) if md.name == FILE => Origin::File {
            path: md
                .source
                .as_ref()
                .and_then(|s| s.file_path())
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            key,
        },
        Some(md) if md.name == ENVIRONMENT => Origin::Env {
            name: env_name(&path),
        },
        Some(md) if md.name == COMMAND_LINE => Origin::Flag {
            name: md.interpolate(&Profile::Default, &path),
        },
        _ => Origin::Default { key },
    };
    let found = figment
        .find_value(&path.join("."))
        .map(|v| match v {
            Value::Dict(..) => "a section".to_string(),
            v => toml_text(&v),
        })
        .unwrap_or_default();
    use figment::error::Kind;
    let expected = match &error.kind {
        Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
            Expected::from_serde(expected)
        }
        Kind::Message(message) if message.contains("socket address") => Expected::SocketAddress,
        Kind::Message(message) if message.contains("IP address") => Expected::IpAddress,
        Kind::UnknownField(..) => {
            return ConfigError::Unknown {
                origin,
                nearest: None,
            }
        }
        other => Expected::Other(other.to_string()),
    };
    ConfigError::Invalid {
        origin,
        found,
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relais.toml");
        std::fs::write(&path, "start_node = \"debut\"\n[limits]\nmax_queue = 9\n").unwrap();
        let config = Config::load(
            Some(&path),
            [
                ("RELAIS_LIMITS__MAX_QUEUE".to_string(), "12".to_string()),
                ("RELAIS_LISTEN".to_string(), "0.0.0.0:9000".to_string()),
                ("HOME".to_string(), "/x".to_string()),
            ],
        )
        .unwrap();
        assert_eq!(config.start_node, "debut");
        assert_eq!(config.limits.max_queue, 12);
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.sessions.frame_log, 200);
    }

    #[test]
    fn mistakes_are_named() {
        let error = Config::load(None, [("RELAIS_NOPE".into(), "1".into())]).unwrap_err();
        assert!(error.to_string().contains("RELAIS_NOPE"), "{error}");
        let example: Config = toml::from_str(
            &Config::example()
                .lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .unwrap();
        assert_eq!(example, Config::default());
    }

    #[test]
    fn settings_unset_by_default_are_printed_and_settable() {
        let example = Config::example();
        for name in ["urgent_webhook", "webhook_secret", "usual_hours_fr"] {
            assert!(example.contains(&format!("# {name} = ")), "{name} missing");
        }
        assert!(example.contains("[handoff.schedule]"), "{example}");
        let config = Config::load(
            None,
            [
                (
                    "RELAIS_HANDOFF__URGENT_WEBHOOK".to_string(),
                    "http://127.0.0.1:9/hook".to_string(),
                ),
                ("RELAIS_HANDOFF__ESCALATE_AFTER_SECS".into(), "30".into()),
                (
                    "RELAIS_HANDOFF__SCHEDULE__MONDAY".into(),
                    "18:00-23:00".into(),
                ),
                ("RELAIS_HANDOFF__BACKUP_LOGINS".into(), "[\"chef\"]".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            config.handoff.urgent_webhook.as_deref(),
            Some("http://127.0.0.1:9/hook")
        );
        assert_eq!(config.handoff.escalate_after_secs, 30);
        assert_eq!(config.handoff.schedule.monday, "18:00-23:00");
        assert_eq!(config.handoff.backup_logins, vec!["chef".to_string()]);
        let error = Config::load(None, [("RELAIS_HANDOFF__NOPE".into(), "1".into())]).unwrap_err();
        assert!(
            error.to_string().contains("RELAIS_HANDOFF__NOPE"),
            "{error}"
        );
    }
}
