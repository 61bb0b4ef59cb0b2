/**
 * Architecture check run before the tests: no import cycles under src/, and imports point
 * inward (core <- store/drivers <- services <- api/scheduler <- app/main). The chain node
 * (src/chain) imports only src/lib leaf helpers, and src/lib imports nothing of ours
 * outside src/lib.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)), "src");
const files: string[] = [];
const walk = (dir: string) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".ts") || p.endsWith(".tsx")) files.push(p);
  }
};
walk(root);

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^"']*?from\s*["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;
const graph = new Map<string, string[]>();
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const deps: string[] = [];
  for (const m of text.matchAll(IMPORT)) deps.push(resolve(dirname(file), (m[1] ?? m[2])!));
  graph.set(file, deps);
}

const layer = (file: string): string => {
  const rel = relative(root, file);
  const top = rel.split("/")[0]!;
  return /\.tsx?$/.test(top) ? top.replace(/\.tsx?$/, "") : top;
};
// Which layers each layer may import.
const ALLOWED: Record<string, string[]> = {
  lib: ["lib"],
  chain: ["chain", "lib"],
  core: ["core", "lib"],
  config: ["config", "core", "lib"],
  store: ["store", "core", "lib"],
  drivers: ["drivers", "core", "lib"],
  services: ["services", "store", "drivers", "core", "lib"],
  api: ["api", "services", "store", "core", "lib"],
  // The operator console: views and routes beside api/, reusing its input rules and the services.
  console: ["console", "api", "services", "store", "core", "lib"],
  scheduler: ["scheduler", "lib"],
  app: ["api", "console", "core", "lib"],
  daemon: ["app", "api", "console", "config", "core", "drivers", "lib", "scheduler", "services", "store"],
  // main picks the role: the daemon, the CLI, or (in the single executable) a chain node.
  main: ["config", "daemon", "lib", "app", "cli", "chain"],
  cli: ["cli", "config", "daemon", "lib", "core"],
};

const problems: string[] = [];
for (const [file, deps] of graph) {
  const from = layer(file);
  for (const dep of deps) {
    const to = layer(dep);
    const allowed = ALLOWED[from];
    if (!allowed) problems.push(`${relative(root, file)}: layer "${from}" has no import rule in scripts/check-cycles.ts`);
    else if (!allowed.includes(to)) problems.push(`${relative(root, file)} imports ${relative(root, dep)}: ${from} may not import ${to}`);
  }
}

// Cycle detection (depth-first, colouring).
const state = new Map<string, 1 | 2>();
const stack: string[] = [];
const visit = (file: string) => {
  state.set(file, 1);
  stack.push(file);
  for (const dep of graph.get(file) ?? []) {
    if (!graph.has(dep)) continue;
    if (state.get(dep) === 1) {
      const cycle = stack.slice(stack.indexOf(dep)).concat(dep).map((f) => relative(root, f));
      problems.push(`import cycle: ${cycle.join(" -> ")}`);
    } else if (!state.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(file, 2);
};
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  for (const p of problems) console.error(`check-cycles: ${p}`);
  process.exit(1);
}
console.log(`check-cycles: ${files.length} files, imports point inward, no cycles`);
