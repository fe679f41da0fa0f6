//! The peer a team would otherwise pick: Botkit 4.15 with its WebSocket web adapter,
//! running the small scripted dialog of `../shared/peers/botkit/` (its README.md says
//! how it starts and what its frames look like). The bench drives it with the same
//! loop as relais and the floor ([`super::client::Peer`]).
//!
//! Node and npm are not the bench's: [`prepare`] says why the peer cannot run (no
//! `node`, too old, `npm ci` failed) rather than failing the suite, which then
//! goes on without it. The install is cached: the peer's files are copied into
//! `SCRATCH/relais-bench-botkit-HASH/` (HASH of `package.json` and
//! `package-lock.json`) and `npm ci` runs there once; later runs only refresh
//! `bot.js`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::process::{Listening, Server};
use super::{BenchError, Target};

/// Where the peer's sources are and where its install is cached.
#[derive(Debug, Clone)]
pub struct PeerSetup {
    /// The peer's folder (`../shared/peers/botkit/` beside the workspace).
    pub source: PathBuf,
    /// Where the cached install goes (the bench's scratch folder).
    pub cache_parent: PathBuf,
}

/// The files of the peer that are copied (the rest, `node_modules`, npm makes).
const PEER_FILES: [&str; 4] = ["bot.js", "package.json", "package-lock.json", "README.md"];

/// The file that says `npm ci` finished in a cache folder.
const INSTALLED: &str = ".relais-bench-installed";

/// How long `npm ci` may take (it fetches about 200 packages).
const NPM_PATIENCE: Duration = Duration::from_secs(600);

/// The oldest Node the peer supports (its README).
const NODE_MAJOR: u32 = 20;

/// Why the peer did not run: a sentence for the suite's output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Skipped(pub String);

/// Makes the peer ready to start: checks Node, copies the peer into its cache
/// folder and runs `npm ci` there unless an earlier run did. Returns that folder.
pub async fn prepare(setup: &PeerSetup) -> Result<PathBuf, Skipped> {
    node_version().await?;
    let lock = tokio::fs::read(setup.source.join("package-lock.json"))
        .await
        .map_err(|e| {
            Skipped(format!(
                "no peer at {} ({e})",
                setup.source.join("package-lock.json").display()
            ))
        })?;
    let manifest = tokio::fs::read(setup.source.join("package.json"))
        .await
        .map_err(|e| Skipped(format!("no package.json in the peer's folder ({e})")))?;
    let key = fnv1a(&[&manifest, &lock]);
    let dir = setup
        .cache_parent
        .join(format!("relais-bench-botkit-{key:016x}"));
    let installed = tokio::fs::try_exists(dir.join(INSTALLED))
        .await
        .unwrap_or(false);
    if !installed {
        // A half-made folder from an interrupted run is made again.
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| Skipped(format!("cannot make {} ({e})", dir.display())))?;
    for name in PEER_FILES {
        // Read and written, not copied: the shared folder is read-only, and a
        // copy would keep that mode and refuse the next refresh.
        let from = setup.source.join(name);
        match tokio::fs::read(&from).await {
            Ok(bytes) => tokio::fs::write(dir.join(name), bytes)
                .await
                .map_err(|e| Skipped(format!("cannot write {name} in {} ({e})", dir.display())))?,
            Err(_) if name == "README.md" => {}
            Err(e) => return Err(Skipped(format!("cannot read {} ({e})", from.display()))),
        }
    }
    if !installed {
        npm_ci(&dir).await?;
        tokio::fs::write(dir.join(INSTALLED), b"npm ci done\n")
            .await
            .map_err(|e| Skipped(format!("cannot mark the install done ({e})")))?;
    }
    Ok(dir)
}

/// `node --version`, refused below [`NODE_MAJOR`].
async fn node_version() -> Result<String, Skipped> {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new("node").arg("--version").output(),
    )
    .await
    .map_err(|_| Skipped("`node --version` did not answer".into()))?
    .map_err(|e| Skipped(format!("no Node on the PATH (`node`: {e})")))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(major) if major >= NODE_MAJOR => Ok(version),
        _ => Err(Skipped(format!(
            "Node {version:?} is too old or unknown (the peer needs {NODE_MAJOR} or later)"
        ))),
    }
}

/// `npm ci` in `dir`, with `npm_config_yes=true` (a dependency's postinstall runs
/// `npx`, which would otherwise ask).
async fn npm_ci(dir: &Path) -> Result<(), Skipped> {
    let mut command = Command::new("npm");
    command
        .arg("ci")
        .arg("--no-audit")
        .arg("--no-fund")
        .current_dir(dir)
        .env("npm_config_yes", "true")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(NPM_PATIENCE, command.output())
        .await
        .map_err(|_| Skipped(format!("npm ci took over {} s", NPM_PATIENCE.as_secs())))?
        .map_err(|e| Skipped(format!("no npm on the PATH (`npm`: {e})")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(Skipped(format!(
        "npm ci failed ({}): {}",
        output.status,
        tail.join(" / ")
    )))
}

/// Starts `node bot.js` in a prepared folder on a free port of 127.0.0.1 and waits
/// for its "botkit … web adapter ws://…" line. It serves as soon as it says so.
pub async fn start(dir: &Path) -> Result<Server, BenchError> {
    // The bot prints the PORT it was given, so it is given a free one, not 0.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    let mut command = Command::new("node");
    command
        .arg("bot.js")
        .current_dir(dir)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("NODE_NO_WARNINGS", "1")
        .env("NODE_ENV", "production")
        .stderr(Stdio::inherit());
    let process = Listening::spawn(command, Target::Botkit.name()).await?;
    Ok(Server::child(Target::Botkit, process, None))
}

/// FNV-1a over some byte strings: a cache key, not a security measure.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_follows_the_lock_file() {
        let a = fnv1a(&[b"{}", b"lock 1"]);
        assert_eq!(a, fnv1a(&[b"{}", b"lock 1"]));
        assert_ne!(a, fnv1a(&[b"{}", b"lock 2"]));
        // The parts are kept apart: moving a byte from one to the other changes it.
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
    }
}
