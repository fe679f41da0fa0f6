// What this is for: helpers of the authors' preview page test (authors.test.mjs).
// A copy of the repository's flows in a temporary folder, so a test can load a second
// version of them without touching flows/; a relais server that serves such a folder
// (the shared harness in server.mjs always serves flows/, and is left as it is); and
// readers of the flow files that find, at run time, what the test can lean on: a menu
// choice that sets a variable, and the words a free-text route recognizes.

import { cp, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowsDir, RelaisServer } from './server.mjs';

/** Copies the repository's flows folder (sub-folders too) into a fresh temporary folder. */
export async function copyOfFlows() {
  const dir = await mkdtemp(join(tmpdir(), 'relais-flows-'));
  await cp(flowsDir, dir, { recursive: true });
  return dir;
}

/**
 * A relais server on a given flows folder. Same life as RelaisServer (start, stop,
 * restart, dispose, log); only the flows folder differs.
 */
export class FlowsServer extends RelaisServer {
  /** @param {{flows: string, dataDir?: string, env?: Record<string,string>}} options */
  constructor({ flows, ...options }) {
    super({ ...options, flows });
  }

  async start() {
    if (!this.dataDir) throw new Error('FlowsServer needs a data folder');
    return super.start();
  }
}

/** Starts a server on a flows folder and a data folder. */
export async function startFlowsServer(options) {
  const server = new FlowsServer(options);
  await server.start();
  return server;
}

/** Every `.flow` file of a folder: `{name: text}`. */
export async function readFlows(dir) {
  const files = {};
  for (const name of await readdir(dir)) {
    if (name.endsWith('.flow')) files[name] = await readFile(join(dir, name), 'utf8');
  }
  return files;
}

/** The lines of each node (`=== id` up to the next node), across all files. */
export function nodeBlocks(files) {
  const blocks = {};
  for (const text of Object.values(files)) {
    let current = null;
    for (const line of text.split('\n')) {
      const header = line.match(/^===\s*(\S+)/);
      if (header) {
        current = header[1];
        blocks[current] = [];
      } else if (current) {
        blocks[current].push(line);
      }
    }
  }
  return blocks;
}

/**
 * A choice of `node` whose target sets a variable as it is entered (`~ name = value`):
 * `{choiceId, label, target, name, value}`, or null when there is none.
 */
export function choiceThatSetsVariable(files, node) {
  const blocks = nodeBlocks(files);
  for (const line of blocks[node] ?? []) {
    const choice = line.match(/^\*\s*(.+?)\s*->\s*(\S+)\s*#id:(\S+)/);
    if (!choice) continue;
    const [, label, target, choiceId] = choice;
    for (const targetLine of blocks[target] ?? []) {
      const set = targetLine.match(/^~\s*([A-Za-z_][\w]*)\s*=\s*(\S+)\s*$/);
      if (set) return { choiceId, label, target, name: set[1], value: set[2] };
      if (/^[*?@]/.test(targetLine)) break;
    }
  }
  return null;
}

/**
 * Words a free-text route recognizes, from the graph's route edges (their label is the
 * patterns, comma-separated): `{from, to, word}` for the first pattern that is plain
 * text (a `*` ending is cut to its stem, which the pattern still accepts).
 */
export function routeWord(graph, avoid = []) {
  for (const edge of graph.edges) {
    if (edge.kind !== 'route') continue;
    for (const raw of edge.label.split(',')) {
      const pattern = raw.trim();
      const word = pattern.replace(/\*$/, '');
      if (!word || /[*"]/.test(word) || avoid.some((bad) => word.includes(bad))) continue;
      if (word.length < 4) continue;
      return { from: edge.from, to: edge.to, word };
    }
  }
  return null;
}

/** The shortest path of choice edges from one node to another: the edges, in order. */
export function choicePath(graph, from, to) {
  const previous = new Map([[from, null]]);
  const queue = [from];
  while (queue.length) {
    const node = queue.shift();
    if (node === to) break;
    for (const edge of graph.edges) {
      if (edge.from !== node || edge.kind !== 'choice' || previous.has(edge.to)) continue;
      previous.set(edge.to, edge);
      queue.push(edge.to);
    }
  }
  if (!previous.has(to)) return null;
  const path = [];
  for (let edge = previous.get(to); edge; edge = previous.get(edge.from)) path.unshift(edge);
  return path;
}
