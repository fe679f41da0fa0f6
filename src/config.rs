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
             #   RELAIS_LISTEN=\"0.0.0.0:8080\"  RELAIS_LIMITS__MAX_QUEUE=500\n\n{body}"
        )
    }
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
}
