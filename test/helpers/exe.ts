import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, sleep } from "../chain/helpers/chain-cluster.ts";

export const EXE = join(ROOT, "dist", "chainpool");

/**
 * Builds dist/chainpool from the current sources unless it already is (scripts/build-exe.ts
 * skips the Node 24 injection when its content hash matches); test files running in
 * parallel build it once.
 */
export async function ensureExe(): Promise<string> {
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  const lock = join(ROOT, "dist", ".exe-build-lock");
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for two minutes; remove it if no build runs`);
      await sleep(100);
    }
  }
  try {
    const built = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "build-exe.ts")], { cwd: ROOT, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`building dist/chainpool failed:\n${built.stderr}`);
  } finally {
    rmdirSync(lock);
  }
  return EXE;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (asynchronously, so daemons in this process keep serving). */
export function run(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, cwd: options.cwd ?? ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}
