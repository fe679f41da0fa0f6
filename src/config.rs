//! The configuration: built-in defaults, then an optional TOML file (`--config`),
//! then `RELAIS_*` environment variables, then command-line flags. Every limit lives
//! here with its default; `relais config example` prints them all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the environment variable {name} is not valid: {message}")]
    Env { name: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub sessions: SessionConfig,
    pub handoff: HandoffConfig,
    pub console: ConsoleConfig,
    pub limits: LimitsConfig,
    pub reports: ReportsConfig,
    /// Where `/metrics` is served: off when unset (the default), else on this
    /// address alone (keep it private: it shows when nobody is on call).
    pub metrics_listen: Option<SocketAddr>,
    pub operations: OperationsConfig,
}

/// Running the service: the audit trail, enrolment codes, blocks after abuse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A session nobody touched for this long is deleted.
    pub idle_expiry_secs: u64,
    /// How many of a session's last frames are kept for resume.
    pub frame_log: u64,
    /// How often expired sessions are purged.
    pub purge_every_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HandoffConfig {
    /// A request waiting longer than this gets the timeout message with resources.
    pub timeout_secs: u64,
    /// Days a closed conversation's transcript is kept (at most 30; 0 = deleted at close).
    pub transcript_retention_days: u64,
    /// Called (POST, no youth content) when an urgent request waits with nobody on call.
    pub urgent_webhook: Option<String>,
    /// Usual hours, told to a youth when nobody is on call ("lundi-vendredi 9 h-17 h").
    pub usual_hours_fr: Option<String>,
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
    pub push: PushConfig,
    pub schedule: ScheduleConfig,
    /// The holder of a conversation without a console this long: the youth is told
    /// the person lost the connection and the conversation is kept.
    pub holder_grace_secs: u64,
    /// The holder still without a console this long: the request goes back to the
    /// queue, first among its peers, and the youth is told, with resources.
    pub holder_requeue_secs: u64,
}

/// Web Push to the intervenors' devices (RFC 8030, 8291, 8292).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// IANA time zone (America/Toronto is Montréal's).
    pub time_zone: String,
    pub monday: String,
    pub tuesday: String,
    pub wednesday: String,
    pub thursday: String,
    pub friday: String,
    pub saturday: String,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Frames per second per session, and the burst above it.
    pub frames_per_sec: u32,
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
    /// ones never refused), reports an hour, logins a minute.
    pub sessions_per_minute_all: u32,
    pub handoffs_per_minute_all: u32,
    pub reports_per_hour_all: u32,
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

impl Config {
    /// Defaults, then the file (if any), then `RELAIS_*` variables from `vars`.
    pub fn load(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table =
            toml::Value::try_from(Config::default()).expect("the defaults always serialize");
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let from_file: toml::Value = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.message().to_string(),
            })?;
            merge(&mut table, from_file);
            // Check the file alone first, so its mistakes are named as the file's.
            table
                .clone()
                .try_into::<Config>()
                .map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.message().to_string(),
                })?;
        }
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix("RELAIS_") else {
                continue;
            };
            if rest == "LOG" {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value.clone()));
            set_path(&mut table, &path, parsed).map_err(|message| ConfigError::Env {
                name: name.clone(),
                message,
            })?;
            // Check each variable as it comes, so a mistake names its variable.
            table
                .clone()
                .try_into::<Config>()
                .map_err(|e| ConfigError::Env {
                    name: name.clone(),
                    message: e.message().to_string(),
                })?;
        }
        table.try_into::<Config>().map_err(|e| ConfigError::Env {
            name: "RELAIS_*".into(),
            message: e.message().to_string(),
        })
    }

    /// The example configuration, every setting at its default, commented.
    pub fn example() -> String {
        let body =
            toml::to_string_pretty(&Config::default()).expect("the defaults always serialize");
        format!(
            "# relais configuration. Every value here is the built-in default.\n\
             # Precedence: defaults < this file (--config) < RELAIS_* variables < flags.\n\
             # A variable names a key in capitals, sections joined by \"__\":\n\
             #   RELAIS_LISTEN=\"0.0.0.0:8080\"  RELAIS_LIMITS__MAX_QUEUE=500\n\n{}",
            with_unset(&body)
        )
    }
}

/// Whether `path` names a setting whose default is `None`.
fn unset_by_default(path: &[String]) -> bool {
    let defaults = serde_json::to_value(Config::default()).expect("the defaults always serialize");
    let pointer = format!("/{}", path.join("/"));
    defaults.pointer(&pointer).is_some_and(|v| v.is_null())
}

/// The settings whose default is `None`, as commented lines, section by section
/// (`""` for the top level), so that `config example` names them too.
fn unset_lines() -> Vec<(String, String)> {
    let defaults = serde_json::to_value(Config::default()).expect("the defaults always serialize");
    let mut lines = Vec::new();
    fn walk(value: &serde_json::Value, section: &str, lines: &mut Vec<(String, String)>) {
        let Some(map) = value.as_object() else {
            return;
        };
        for (key, value) in map {
            if value.is_null() {
                lines.push((section.to_string(), format!("# {key} = \"\"  (not set)")));
            } else if value.is_object() {
                let inner = if section.is_empty() {
                    key.clone()
                } else {
                    format!("{section}.{key}")
                };
                walk(value, &inner, lines);
            }
        }
    }
    walk(&defaults, "", &mut lines);
    lines
}

/// Puts the commented unset settings under their section headers.
fn with_unset(body: &str) -> String {
    let unset = unset_lines();
    let under = |section: &str| -> String {
        unset
            .iter()
            .filter(|(s, _)| s == section)
            .map(|(_, line)| format!("{line}\n"))
            .collect()
    };
    let mut out = under("");
    for line in body.lines() {
        out.push_str(line);
        out.push('\n');
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push_str(&under(section));
        }
    }
    out
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(base), toml::Value::Table(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

fn set_path(table: &mut toml::Value, path: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty name".into());
    };
    let mut current = table;
    for part in parents {
        current = current
            .get_mut(part)
            .ok_or_else(|| format!("no section \"{part}\""))?;
    }
    // A setting whose default is `None` is absent from the defaults' table (TOML has
    // no null): it is added when the defaults, as JSON, name it.
    if current.get(last).is_none() && unset_by_default(path) {
        if let Some(table) = current.as_table_mut() {
            table.insert(last.clone(), value);
            return Ok(());
        }
    }
    let slot = current
        .get_mut(last)
        .ok_or_else(|| format!("no setting \"{last}\""))?;
    // A bare word for a string setting stays a string ("RELAIS_START_NODE=accueil").
    *slot = match (&*slot, value) {
        (toml::Value::String(_), v) if !v.is_str() => toml::Value::String(v.to_string()),
        (_, v) => v,
    };
    Ok(())
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
