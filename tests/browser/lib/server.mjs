// What this is for: the shared harness of the page tests. It starts a real relais
// server (the debug binary, a fresh data folder, the repository's flows and web pages),
// reads its port from stdout, stops it with SIGTERM and starts it again on the same
// port and data folder (sessions survive, as in production); it creates intervenor
// accounts while the server is stopped; and it launches Debian's headless Chromium.
// The chat tests use it, and the console tests can reuse it.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/** The repository's root, its server binary, its flows and its pages. */
export const repoRoot = resolve(here, '../../..');
export const relaisBinary = join(repoRoot, 'target/debug/relais');
export const flowsDir = join(repoRoot, 'flows');
export const webDir = join(repoRoot, 'web');
/** Where tests keep what a person should look at afterwards (git-ignored). */
export const artifactsDir = resolve(here, '../artifacts');

/**
 * Every server started and not yet disposed. A test that fails before its own cleanup
 * leaves its server running, and a running child keeps the test file's process alive
 * for ever (the page tests would hang instead of failing): the file's last hook
 * disposes whatever is left.
 */
const running = new Set();
after(async () => {
  await Promise.all([...running].map((server) => server.dispose().catch(() => {})));
});

/** Chromium's flags: headless, no sandbox (containers), and nothing that calls home. */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Starts Debian's Chromium through playwright-core (no downloaded browser). */
export function launch(options = {}) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: chromiumArgs,
    ...options,
  });
}

/** Makes a fresh, empty data folder for a server. */
export function freshDataDir() {
  return mkdtemp(join(tmpdir(), 'relais-browser-'));
}

/**
 * A relais server run by a test. `start()` resolves once the server printed its
 * address; `stop()` sends SIGTERM and waits for the process to exit (the store's lock
 * is then free); `restart()` does both and listens again on the same port, so a page
 * that lost its socket finds the server where it was.
 */
export class RelaisServer {
  /**
   * @param {object} [options]
   * @param {string} [options.dataDir]  an existing data folder (default: a fresh one)
   * @param {Record<string,string>} [options.env]  extra RELAIS_* settings
   * @param {string} [options.flows]  a flows folder (default: the repository's flows/)
   */
  constructor({ dataDir, env = {}, flows = flowsDir } = {}) {
    this.dataDir = dataDir;
    /** The flows folder served (default: the repository's flows/). */
    this.flows = flows;
    this.env = env;
    this.port = 0;
    this.process = null;
    this.exited = null;
    /** The server's last lines of output, shown when something goes wrong. */
    this.log = [];
  }

  /** The server's address, without a trailing slash: http://127.0.0.1:PORT */
  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (this.process) throw new Error('the server is already running');
    running.add(this);
    if (!this.dataDir) {
      this.dataDir = await freshDataDir();
      this.ownsDataDir = true;
    }
    const child = spawn(
      relaisBinary,
      [
        'serve',
        '--listen', `127.0.0.1:${this.port}`,
        '--data-dir', this.dataDir,
        '--flows-dir', this.flows,
        '--web-dir', webDir,
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, NO_COLOR: '1', ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.process = child;
    this.exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
    const keep = (chunk) => {
      for (const line of chunk.toString().split('\n')) {
        if (line) this.log.push(line);
      }
      if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
    };
    child.stderr.on('data', keep);

    // The first line on stdout that names the address; the rest of stdout is kept as log.
    this.port = await new Promise((resolvePort, rejectPort) => {
      let buffer = '';
      const onData = (chunk) => {
        keep(chunk);
        buffer += chunk.toString();
        const found = buffer.match(/relais listening on http:\/\/127\.0\.0\.1:(\d+)/);
        if (found) {
          cleanup();
          resolvePort(Number(found[1]));
        }
      };
      const onExit = (code, signal) => {
        cleanup();
        rejectPort(new Error(`relais exited before listening (${code ?? signal}):\n${this.log.join('\n')}`));
      };
      const cleanup = () => {
        child.stdout.off('data', onData);
        child.off('exit', onExit);
        child.stdout.on('data', keep);
      };
      child.stdout.on('data', onData);
      child.once('exit', onExit);
    });
    await this.ready();
    return this;
  }

  /**
   * Waits until the server answers /readyz with 200. The "listening" line comes as
   * soon as the port is bound, before the store is opened and the flows are loaded
   * (src/cli.rs), and on a busy machine that takes seconds: a page opened at once
   * waited in the listen queue and ran out its 15 s. Each try waits for the answer
   * itself; only a refused try (the server not there yet) waits a moment to try again.
   */
  async ready(timeoutMs = 120_000) {
    const child = this.process;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`relais exited before it was ready (${child.exitCode ?? child.signalCode}):\n${this.log.join('\n')}`);
      }
      try {
        const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
        await response.arrayBuffer();
        if (response.ok) return;
      } catch {
        // Not accepting yet, or the deadline passed: said below.
      }
      if (Date.now() >= deadline) throw new Error(`relais was not ready after ${timeoutMs} ms:\n${this.log.join('\n')}`);
      await new Promise((retry) => setTimeout(retry, 50));
    }
  }

  /** SIGTERM, then waits for the exit: the sockets were closed with 1001. */
  async stop() {
    if (!this.process) return;
    const child = this.process;
    const exited = this.exited;
    this.process = null;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  }

  /** Stops, then starts again on the same port and the same data folder. */
  async restart() {
    await this.stop();
    // The port was just freed; if another process took it meanwhile, the start fails
    // loudly rather than silently moving the server elsewhere.
    await this.start();
    return this;
  }

  /** Stops the server and deletes the data folder it made. */
  async dispose() {
    running.delete(this);
    await this.stop();
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Starts a server on a fresh data folder (or the given one). */
export async function startServer(options = {}) {
  const server = new RelaisServer(options);
  await server.start();
  return server;
}

/**
 * Creates an intervenor account with the command line. The server must be stopped
 * (the store is locked while it runs): call this before `start()`, or between
 * `stop()` and `start()`. The password goes on stdin, never on the command line.
 */
export async function addIntervenor(dataDir, { login, name, password, role = 'intervenor' }) {
  const args = ['intervenor', 'add', login, '--name', name, '--data-dir', dataDir, '--flows-dir', flowsDir];
  if (role !== 'intervenor') args.push('--role', role);
  const child = spawn(relaisBinary, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  child.stdin.end(`${password}\n`);
  const code = await new Promise((resolveExit) => child.once('exit', resolveExit));
  if (code !== 0) throw new Error(`relais intervenor add ${login} failed (${code}): ${output}`);
}
