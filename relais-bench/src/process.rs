//! The servers under test, as child processes so their memory and CPU time are their
//! own: relais (`relais serve` with a bench configuration, a fresh data folder and the
//! given flows) and the floor (`relais-bench floor`). Also what `/proc` tells about a
//! process, and the open-file limit.
//!
//! The server's integration tests start and stop the `relais` binary with the same
//! code ([`serve_command`], [`Listening`], [`add_intervenor`]): one way to spawn it,
//! read the line that says where it listens, stop it with SIGTERM and add an account.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Resource, Signal};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::floor::FloorOptions;
use super::{BenchError, Target, PATIENCE};

/// How to start relais for a bench.
#[derive(Debug, Clone)]
pub struct RelaisSetup {
    /// The `relais` binary.
    pub exe: PathBuf,
    /// The flows folder (the shipped `flows/` by default).
    pub flows_dir: PathBuf,
    /// The pages folder (`web/`); only needed because relais serves it.
    pub web_dir: PathBuf,
    /// Where data folders are made; on a real disk, so a flush is a real flush.
    pub scratch_parent: PathBuf,
    /// The limits a flat-out bench must lift (see [`bench_config`]).
    pub most_sessions: usize,
    /// Intervenor accounts made before the start: (login, name, password).
    pub intervenors: Vec<(String, String, String)>,
}

/// The configuration relais runs with during a bench: the shipped defaults, except
/// the per-client and per-session limits that a single client machine would hit
/// (every bench socket comes from 127.0.0.1, so from one client key). The same can
/// be set with `RELAIS_LIMITS__FRAMES_PER_SEC=100000` and so on.
pub fn bench_config(most_sessions: usize) -> String {
    let places = (most_sessions + 100).max(1000);
    format!(
        "# Written by relais-bench: lifts the per-client limits for one bench client.\n\
         [limits]\n\
         frames_per_sec = 1000000\n\
         frames_burst = 1000000\n\
         sessions_per_minute = 10000000\n\
         sessions_per_minute_all = 10000000\n\
         sockets_per_client = {places}\n\
         max_youth_sockets = {places}\n\
         max_queue = 100000\n\
         handoffs_per_hour = 100000\n\
         handoffs_per_minute_all = 100000\n\
         idle_socket_secs = 600\n\
         handshake_timeout_secs = 60\n"
    )
}

/// A folder made for one run and removed when dropped:
/// `PARENT/relais-bench-LABEL-XXXXXX`.
pub fn scratch_dir(parent: &Path, label: &str) -> std::io::Result<TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("relais-bench-{label}-"))
        .tempdir_in(parent)
}

/// `relais serve` on `127.0.0.1:0` with these folders; the caller adds `--config`,
/// variables and where standard error goes, then hands it to [`Listening::spawn`].
pub fn serve_command(exe: &Path, data_dir: &Path, flows_dir: &Path, web_dir: &Path) -> Command {
    let mut command = Command::new(exe);
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--flows-dir")
        .arg(flows_dir)
        .arg("--web-dir")
        .arg(web_dir);
    command
}

/// A child process that printed where it listens (a "… listening on http://ADDR"
/// line on standard output). It dies with its parent, and when dropped.
#[derive(Debug)]
pub struct Listening {
    pub addr: SocketAddr,
    pub pid: u32,
    /// When the process was spawned.
    pub spawned_at: Instant,
    /// From the spawn to the "listening" line.
    pub listening_after: Duration,
    child: Child,
}

impl Listening {
    /// Spawns `command` (standard input closed, standard output read here, standard
    /// error as the caller set it) and reads until the "listening" line; `what` names
    /// the server in errors.
    pub async fn spawn(mut command: Command, what: &str) -> Result<Self, BenchError> {
        die_with_parent(&mut command);
        let spawned_at = Instant::now();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                BenchError::Server(format!(
                    "cannot start {:?}: {e}",
                    command.as_std().get_program()
                ))
            })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BenchError::Server("no standard output".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        // The first line that says where it listens; a few lines before it (a
        // runtime's notice) are skipped, within the same patience.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut skipped = Vec::new();
        let addr = loop {
            let line = tokio::time::timeout_at(deadline, lines.next_line())
                .await
                .map_err(|_| BenchError::Timeout(format!("{what} never said where it listens")))??
                .ok_or_else(|| {
                    BenchError::Server(format!("{what} stopped before listening: {skipped:?}"))
                })?;
            if let Some(addr) = listening_addr(&line) {
                break addr;
            }
            if skipped.len() < 8 {
                skipped.push(line);
            }
        };
        let listening_after = spawned_at.elapsed();
        // Keep reading so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let pid = child
            .id()
            .ok_or_else(|| BenchError::Server(format!("{what} exited at once")))?;
        Ok(Self {
            addr,
            pid,
            spawned_at,
            listening_after,
            child,
        })
    }

    /// Asks the process to stop (SIGTERM) and waits for it, [`PATIENCE`] at most (then
    /// it is still running: [`Listening::kill`] it or drop it).
    pub async fn terminate(&mut self) -> Result<ExitStatus, BenchError> {
        let pid = i32::try_from(self.pid).ok().and_then(Pid::from_raw);
        if let Some(pid) = pid {
            // It may have exited already; the wait below says how.
            let _ = rustix::process::kill_process(pid, Signal::TERM);
        }
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .map_err(|_| BenchError::Timeout(format!("pid {} ignored SIGTERM", self.pid)))?
            .map_err(BenchError::from)
    }

    /// Ends the process at once (SIGKILL): nothing is flushed on the way out.
    pub async fn kill(&mut self) -> std::io::Result<()> {
        self.child.kill().await
    }
}

/// The address in a "listening" line: relais's `… listening on http://ADDR`, the
/// floor's, or the peer's `… web adapter ws://ADDR/ pid=…`.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("://")?;
    let end = rest.find(['/', ' ']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

/// Asks the kernel to end the child when the bench (or the test) ends, however it ends
/// (a `timeout`, Ctrl-C): a wedged server must not outlive the run that found it.
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec; it only makes one
    // prctl system call, which allocates nothing and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            Ok(())
        });
    }
}

/// `relais intervenor add LOGIN --name NAME [--role ROLE] --data-dir DIR`, the password
/// written on standard input; the server must not be running on that folder. Blocking
/// (the tests call it between two servers; the bench off the runtime).
pub fn add_intervenor(
    exe: &Path,
    data_dir: &Path,
    login: &str,
    name: &str,
    role: Option<&str>,
    password: &str,
) -> Result<(), BenchError> {
    use std::io::Write;
    let mut command = std::process::Command::new(exe);
    command
        .args(["intervenor", "add", login, "--name", name])
        .arg("--data-dir")
        .arg(data_dir);
    if let Some(role) = role {
        command.args(["--role", role]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{password}")?;
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(BenchError::Server(format!(
            "intervenor add {login} failed: {status}"
        )));
    }
    Ok(())
}

/// A server under test: a child process, or the floor inside this process (what the
/// smoke test does, having no `relais-bench` binary to spawn).
#[derive(Debug)]
pub struct Server {
    pub target: Target,
    pub addr: SocketAddr,
    /// The process whose memory and CPU time are read (this one for an in-process floor).
    pub pid: u32,
    /// When the process was spawned.
    pub spawned_at: Instant,
    /// From the spawn to the "listening" line on standard output.
    pub listening_after: Duration,
    /// relais's data folder (its store), for the soak's size on disk.
    pub data_dir: Option<PathBuf>,
    running: Running,
}

#[derive(Debug)]
enum Running {
    Child {
        process: Box<Listening>,
        /// The data folder (relais), removed with the server.
        _scratch: Option<TempDir>,
    },
    InProcess {
        stop: tokio::sync::oneshot::Sender<()>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    },
}

impl Server {
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Resident memory now (VmRSS), in bytes.
    pub fn rss_bytes(&self) -> std::io::Result<u64> {
        rss_bytes(self.pid)
    }

    /// User plus system CPU time so far.
    pub fn cpu_time(&self) -> std::io::Result<Duration> {
        cpu_time(self.pid)
    }

    /// Asks the server to stop (SIGTERM) and waits for it; kills it if it lingers.
    pub async fn stop(self) -> Result<(), BenchError> {
        match self.running {
            Running::Child { mut process, .. } => match process.terminate().await {
                Ok(_) => Ok(()),
                Err(BenchError::Timeout(_)) => Ok(process.kill().await?),
                Err(error) => Err(error),
            },
            Running::InProcess { stop, task } => {
                let _ = stop.send(());
                tokio::time::timeout(PATIENCE, task)
                    .await
                    .map_err(|_| BenchError::Timeout("the floor never stopped".into()))?
                    .map_err(|e| BenchError::Server(format!("the floor task failed: {e}")))??;
                Ok(())
            }
        }
    }
}

/// Starts relais with a fresh data folder and the bench configuration; returns once
/// it printed where it listens (it may still be loading its flows: see
/// [`super::http::wait_ready`]).
pub async fn start_relais(setup: &RelaisSetup) -> Result<Server, BenchError> {
    let scratch = scratch_dir(&setup.scratch_parent, "relais")?;
    let data_dir = scratch.path().join("data");
    let config_path = scratch.path().join("bench.toml");
    std::fs::write(&config_path, bench_config(setup.most_sessions))?;
    for (login, name, password) in &setup.intervenors {
        let (exe, data, login, name, password) = (
            setup.exe.clone(),
            data_dir.clone(),
            login.clone(),
            name.clone(),
            password.clone(),
        );
        let adding = tokio::task::spawn_blocking(move || {
            add_intervenor(&exe, &data, &login, &name, None, &password)
        });
        tokio::time::timeout(PATIENCE, adding)
            .await
            .map_err(|_| BenchError::Timeout("intervenor add".into()))?
            .map_err(|e| BenchError::Server(format!("intervenor add: {e}")))??;
    }
    let mut command = serve_command(&setup.exe, &data_dir, &setup.flows_dir, &setup.web_dir);
    command
        .arg("--config")
        .arg(&config_path)
        .env("RELAIS_LOG", "error")
        .stderr(Stdio::inherit());
    let process = Listening::spawn(command, Target::Relais.name()).await?;
    let mut server = Server::child(Target::Relais, process, Some(scratch));
    server.data_dir = Some(data_dir);
    Ok(server)
}

/// Starts the floor (`BENCH_EXE floor …`) with these settings.
pub async fn start_floor(bench_exe: &Path, options: &FloorOptions) -> Result<Server, BenchError> {
    let mut command = Command::new(bench_exe);
    command
        .arg("floor")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--read-buffer")
        .arg(options.socket.read_buffer.to_string())
        .arg("--write-buffer")
        .arg(options.socket.write_buffer.to_string())
        .arg("--max-message")
        .arg(options.socket.max_message.to_string())
        .arg("--echo-frames")
        .arg(options.echo_frames.to_string())
        .stderr(Stdio::inherit());
    if !options.nodelay {
        command.arg("--nagle");
    }
    let process = Listening::spawn(command, Target::Floor.name()).await?;
    Ok(Server::child(Target::Floor, process, None))
}

/// Starts the floor on a task of this process: its memory and CPU time are then this
/// process's, mixed with the client's. For the smoke test, which checks frames, not
/// costs, and has no `relais-bench` binary it could spawn.
pub async fn start_floor_in_process(options: &FloorOptions) -> Result<Server, BenchError> {
    let spawned_at = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(super::floor::serve(listener, *options, async move {
        let _ = stopped.await;
    }));
    Ok(Server {
        target: Target::Floor,
        addr,
        pid: std::process::id(),
        spawned_at,
        listening_after: spawned_at.elapsed(),
        data_dir: None,
        running: Running::InProcess { stop, task },
    })
}

impl Server {
    pub(crate) fn child(target: Target, process: Listening, scratch: Option<TempDir>) -> Self {
        Self {
            target,
            addr: process.addr,
            pid: process.pid,
            spawned_at: process.spawned_at,
            listening_after: process.listening_after,
            data_dir: None,
            running: Running::Child {
                process: Box::new(process),
                _scratch: scratch,
            },
        }
    }
}

/// VmRSS of a process, in bytes.
pub fn rss_bytes(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| std::io::Error::other(format!("no VmRSS in /proc/{pid}/status")))
}

/// utime + stime of a process (`/proc/PID/stat`, fields 14 and 15).
pub fn cpu_time(pid: u32) -> std::io::Result<Duration> {
    cpu_time_of(&format!("/proc/{pid}/stat"))
}

/// utime + stime of this process (the bench client itself).
pub fn own_cpu_time() -> std::io::Result<Duration> {
    cpu_time_of("/proc/self/stat")
}

fn cpu_time_of(path: &str) -> std::io::Result<Duration> {
    let stat = std::fs::read_to_string(path)?;
    // The command name may hold spaces and parentheses: count fields after the last ')'.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| std::io::Error::other("malformed stat"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name, field 3 (state) is index 0, so utime (14) is 11 and stime (15) 12.
    let ticks = |i: usize| -> std::io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .ok_or_else(|| std::io::Error::other("malformed stat"))
    };
    let total = ticks(11)? + ticks(12)?;
    let per_sec = rustix::param::clock_ticks_per_second().max(1);
    Ok(Duration::from_secs_f64(total as f64 / per_sec as f64))
}

/// Raises this process's soft open-file limit to its hard limit (children inherit
/// it); returns the soft limit now in force (`u64::MAX` for "unlimited"). 10,000
/// sessions take 10,000 descriptors on each side.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    let limit = rustix::process::getrlimit(Resource::Nofile);
    // `None` is "unlimited".
    let raise = match (limit.current, limit.maximum) {
        (Some(current), Some(maximum)) => current < maximum,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if raise {
        rustix::process::setrlimit(
            Resource::Nofile,
            rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        )?;
        return Ok(limit.maximum.unwrap_or(u64::MAX));
    }
    Ok(limit.current.unwrap_or(u64::MAX))
}
