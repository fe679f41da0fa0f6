//! The servers under test as child processes, so their memory and CPU time are
//! their own: relais (`relais serve` with a bench configuration, a fresh data
//! folder and the given flows) and the floor (`relais-bench floor`). Also what
//! `/proc` tells about a process, and the open-file limit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::{BenchError, Target, PATIENCE};

/// A folder made for one run and removed when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Makes `PARENT/relais-bench-PID-N`.
    pub fn new(parent: &Path, label: &str) -> std::io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!("relais-bench-{}-{label}-{n}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a folder left in the temp dir is not worth a panic.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

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
         sockets_per_client = {places}\n\
         max_youth_sockets = {places}\n\
         max_queue = 100000\n\
         handoffs_per_hour = 100000\n\
         idle_socket_secs = 600\n\
         handshake_timeout_secs = 60\n"
    )
}

/// A server running as a child process.
#[derive(Debug)]
pub struct ServerChild {
    pub target: Target,
    pub addr: SocketAddr,
    pub pid: u32,
    /// When the process was spawned.
    pub spawned_at: Instant,
    /// From the spawn to the "listening" line on standard output.
    pub listening_after: Duration,
    child: Child,
    /// The data folder (relais), removed with the server.
    _scratch: Option<ScratchDir>,
}

impl ServerChild {
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
    pub async fn stop(mut self) -> Result<(), BenchError> {
        if let Ok(pid) = i32::try_from(self.pid) {
            // SAFETY: kill(2) with a pid we spawned and still hold as a child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        match tokio::time::timeout(PATIENCE, self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                self.child.kill().await?;
            }
        }
        Ok(())
    }
}

/// Starts relais with a fresh data folder and the bench configuration; returns once
/// it printed where it listens (it may still be loading its flows: see
/// [`super::http::wait_ready`]).
pub async fn start_relais(setup: &RelaisSetup) -> Result<ServerChild, BenchError> {
    let scratch = ScratchDir::new(&setup.scratch_parent, "relais")?;
    let data_dir = scratch.path().join("data");
    let config_path = scratch.path().join("bench.toml");
    std::fs::write(&config_path, bench_config(setup.most_sessions))?;
    for (login, name, password) in &setup.intervenors {
        add_intervenor(&setup.exe, &data_dir, login, name, password).await?;
    }
    let mut command = Command::new(&setup.exe);
    command
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--config")
        .arg(&config_path)
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--flows-dir")
        .arg(&setup.flows_dir)
        .arg("--web-dir")
        .arg(&setup.web_dir)
        .env("RELAIS_LOG", "error");
    spawn_listening(command, Target::Relais, Some(scratch)).await
}

/// Starts the floor (`BENCH_EXE floor …`) with these settings.
pub async fn start_floor(
    bench_exe: &Path,
    options: &super::floor::FloorOptions,
) -> Result<ServerChild, BenchError> {
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
        .arg(options.echo_frames.to_string());
    if !options.nodelay {
        command.arg("--nagle");
    }
    spawn_listening(command, Target::Floor, None).await
}

/// Spawns, then reads standard output until the "… listening on http://ADDR" line.
async fn spawn_listening(
    mut command: Command,
    target: Target,
    scratch: Option<ScratchDir>,
) -> Result<ServerChild, BenchError> {
    die_with_parent(&mut command);
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
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
    let line = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .map_err(|_| {
            BenchError::Timeout(format!("{} never said where it listens", target.name()))
        })??
        .ok_or_else(|| BenchError::Server(format!("{} stopped before listening", target.name())))?;
    let listening_after = started.elapsed();
    let addr = line
        .rsplit("http://")
        .next()
        .and_then(|a| a.trim().parse::<SocketAddr>().ok())
        .ok_or_else(|| BenchError::Server(format!("not a listening line: {line:?}")))?;
    // Keep reading so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let pid = child
        .id()
        .ok_or_else(|| BenchError::Server("the server exited at once".into()))?;
    Ok(ServerChild {
        target,
        addr,
        pid,
        spawned_at: started,
        listening_after,
        child,
        _scratch: scratch,
    })
}

/// Asks the kernel to end the child when the bench ends, however it ends (a
/// `timeout`, Ctrl-C): a wedged server must not outlive the run that found it.
fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// `relais intervenor add LOGIN --name NAME --data-dir DIR`, password on stdin.
async fn add_intervenor(
    exe: &Path,
    data_dir: &Path,
    login: &str,
    name: &str,
    password: &str,
) -> Result<(), BenchError> {
    use tokio::io::AsyncWriteExt;
    let mut child = Command::new(exe)
        .args(["intervenor", "add", login, "--name", name])
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(format!("{password}\n").as_bytes()).await?;
    }
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .map_err(|_| BenchError::Timeout("intervenor add".into()))??;
    if !status.success() {
        return Err(BenchError::Server(format!(
            "intervenor add {login} failed: {status}"
        )));
    }
    Ok(())
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
    // SAFETY: sysconf has no preconditions.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_sec = if per_sec > 0 { per_sec as u64 } else { 100 };
    Ok(Duration::from_secs_f64(total as f64 / per_sec as f64))
}

/// Raises this process's soft open-file limit to its hard limit (children inherit
/// it); returns the soft limit now in force. 10,000 sessions take 10,000
/// descriptors on each side.
pub fn raise_open_file_limit() -> std::io::Result<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(limit.rlim_cur)
}
