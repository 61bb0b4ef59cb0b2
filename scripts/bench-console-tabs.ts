/**
 * Console tabs for bench:apply (BENCH_CONSOLE_TABS=N or --console-tabs N): N browser tabs on
 * the overview, in a process of their own so that their work is not the load driver's. Each
 * does what src/console/assets/console.js does in a browser: loads the page and its assets,
 * holds the live feed (SSE) open following the overview, and on every "change" takes the fresh
 * overview the message carries (parsing it, as the browser does), or refetches the page's main
 * part when the message carries none, one refresh in flight at a time. On SIGTERM prints one
 * JSON line: the change messages, the updates made (refreshes), how many of them needed a
 * request (refetches), and the CPU time the tabs used once open (on the machine the daemon
 * shares), then exits.
 */
import { request, Agent } from "node:http";

const url = process.argv[2]!;
const tabs = Number(process.argv[3] ?? 10);
const agent = new Agent({ keepAlive: true });
let refreshes = 0;
let refetches = 0;
let changes = 0;
let errors = 0;

function get(path: string, headers: Record<string, string>, onData?: (chunk: string) => void): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const target = new URL(path, url);
    // The SSE stream holds its socket: it gets one of its own, outside the pool.
    const req = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, headers, agent: onData ? false : agent }, (res) => {
      res.setEncoding("utf8");
      if (onData) {
        res.on("data", onData);
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
        return;
      }
      res.on("data", () => {});
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function openTab(): Promise<void> {
  const page = await get("/", { accept: "text/html" });
  const cookie = String(page.headers["set-cookie"] ?? "").split(";")[0]!;
  const headers = { cookie };
  await Promise.all(["/console/assets/console.css", "/console/assets/uPlot.min.css", "/console/assets/uPlot.iife.min.js", "/console/assets/console.js"].map((p) => get(p, headers)));
  let inFlight = false;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      await get("/", { ...headers, "x-console-fragment": "main" });
      refetches++;
      refreshes++;
    } catch {
      errors++;
    }
    inFlight = false;
    if (again) {
      again = false;
      void refresh();
    }
  };
  let buffered = "";
  await get("/console/live?view=overview", { ...headers, accept: "text/event-stream" }, (chunk) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const message = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!message.includes("event: change")) continue;
      changes++;
      const data = JSON.parse(/^data: (.*)$/m.exec(message)?.[1] ?? "{}");
      if (typeof data.view?.main === "string") refreshes++;
      else void refresh();
    }
  });
}

await Promise.all(Array.from({ length: tabs }, openTab));
const cpuAtReady = process.cpuUsage();
process.stdout.write(JSON.stringify({ ready: tabs }) + "\n");
process.on("SIGTERM", () => {
  const cpu = process.cpuUsage(cpuAtReady);
  process.stdout.write(JSON.stringify({ tabs, changes, refreshes, refetches, errors, cpu_ms: Math.round((cpu.user + cpu.system) / 1000) }) + "\n");
  process.exit(0);
});
