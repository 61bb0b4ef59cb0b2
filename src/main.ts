/**
 * Composition root and the only file that touches the process lifecycle. One program, three
 * roles picked by the first argument:
 *   chainpool serve [--config FILE] [--listen HOST:PORT] [--data DIR]   the daemon (also with no command)
 *   chainpool node --config FILE                                       one chain node (src/chain)
 *   chainpool <command> ...                                            the CLI (src/cli)
 * The daemon: argv -> config -> daemon (store, drivers, services, app, scheduler) -> listener -> signals.
 */
import type { Server } from "node:http";
import { isAbsolute, resolve } from "node:path";

// Each role loads only its own modules (dynamic imports, below): a chain node or a CLI call
// started from the executable never evaluates the daemon's modules.

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/;

/** Shutdown budget: requests in flight get this long to finish... */
const REQUEST_DRAIN_MS = 10_000;
/** ...then driver work in flight this long before it is left for the next start... */
const WORK_GRACE_MS = 3_000;
/** ...and past this the process exits 1 whatever is still running. */
const HARD_LIMIT_MS = 20_000;

/**
 * Listener bounds, so that idle and trickling connections cannot pile up: a client gets
 * HEADERS_TIMEOUT_MS to send its request line and headers and REQUEST_TIMEOUT_MS for the whole
 * request, body included (a body is at most api.max_body_bytes, 64 KiB by default); a
 * keep-alive connection idle between requests closes after KEEP_ALIVE_TIMEOUT_MS. Node checks
 * the first two every CONNECTIONS_CHECK_MS (its default, 30 s, would let a connection outlive
 * them by that much). Replies are not bounded: a reset or a backup may take its time.
 */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const CONNECTIONS_CHECK_MS = 1_000;

function splitListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(":");
  return { host: listen.slice(0, at).replace(/^\[(.*)\]$/, "$1"), port: Number(listen.slice(at + 1)) };
}

function fail(code: number, message: string): never {
  process.stderr.write(`chainpool: ${message}\n`);
  process.exit(code);
}

async function serve(argv: readonly string[]): Promise<void> {
  const [{ serve: listen }, { ConfigError, parseArgs, resolveConfig }, { createDaemon }, { createLogger }, { runtimeKind }, { VERSION }, { downCommandLine }] = await Promise.all([
    import("@hono/node-server"),
    import("./config/load.ts"),
    import("./daemon.ts"),
    import("./lib/logger.ts"),
    import("./lib/runtime.ts"),
    import("./lib/version.ts"),
    import("./cli/down.ts"),
  ]);
  let config;
  try {
    config = resolveConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) fail(2, err.message);
    throw err;
  }
  const logger = createLogger({ level: config.log_level, ...(config.log_json !== undefined && { json: config.log_json }) });
  const { host, port } = splitListen(config.listen);
  const keyed = config.api.front_keys.length > 0 || config.api.operator_keys.length > 0;
  if (!keyed && !LOOPBACK.test(host)) {
    fail(2, `refusing to listen on ${config.listen} without API keys; set api.front_keys and api.operator_keys, or listen on 127.0.0.1`);
  }
  if (!keyed) logger.warn("no API keys configured: serving on loopback only, without authentication", { listen: config.listen });

  let daemon;
  try {
    daemon = createDaemon({ config, logger });
  } catch (err) {
    // A bad host in the config: exit 2 like any config error.
    if (err instanceof ConfigError) fail(2, err.message);
    // A data directory we cannot write, a database file we cannot open: one line, no stack.
    fail(1, `cannot start: ${(err as Error).message}`);
  }
  const server = listen({
    fetch: daemon.app.fetch,
    hostname: host,
    port,
    serverOptions: {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    },
  }) as Server;
  server.once("error", (err) => {
    logger.error("cannot listen", { listen: config.listen, err });
    process.exit(1);
  });
  server.once("listening", () =>
    logger.info("chainpool serving", {
      version: VERSION,
      listen: config.listen,
      data_dir: config.data_dir,
      pid: process.pid,
      runtime: runtimeKind(),
      sqlite: daemon.services.store.db.driver,
    }),
  );
  daemon.start();

  // What to type to stop the nodes this daemon leaves running, as whoever started it would.
  const stopWith = () => {
    const kind = runtimeKind();
    const program =
      kind === "sea"
        ? [process.execPath]
        : process.env["npm_lifecycle_event"] === "start"
          ? ["npm", "start", "--"]
          : kind === "deno"
            ? [process.execPath, "run", "--allow-all", process.argv[1]!]
            : [process.execPath, ...process.execArgv, process.argv[1]!];
    const configFile = parseArgs(argv).config;
    let configDataDir: string | undefined;
    try {
      if (configFile !== undefined) configDataDir = resolveConfig(["--config", configFile]).data_dir;
    } catch {
      // The file changed since the start and no longer reads: name the data directory outright.
    }
    return downCommandLine({
      program,
      ...(configFile !== undefined && { configFile: resolve(configFile) }),
      ...(configDataDir !== undefined && isAbsolute(configDataDir) && { configDataDir: resolve(configDataDir) }),
      listen: config.listen,
      dataDir: daemon.services.shutdown.dataDir,
      cwd: process.cwd(),
    });
  };

  let stopping = false;
  /** SIGTERM, SIGINT, or `POST /api/shutdown` (`chainpool down`, which also stops the local nodes). */
  const stop = async (reason: Record<string, unknown>, options: { stopLocalNodes: boolean }) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info("stopping", { ...reason, stop_local_nodes: options.stopLocalNodes });
    setTimeout(() => {
      logger.error("shutdown took too long; exiting", { limit_ms: HARD_LIMIT_MS });
      process.exit(1);
    }, HARD_LIMIT_MS).unref();
    // Event streams never finish on their own: end them, or they would hold the drain to its limit.
    daemon.services.events.close();
    // No new connections; idle keep-alive connections close now, busy ones after their reply.
    const drained = new Promise<boolean>((done) => server.close(() => done(true)));
    server.closeIdleConnections();
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    const inTime = await Promise.race([drained, new Promise<boolean>((r) => setTimeout(() => r(false), REQUEST_DRAIN_MS).unref())]);
    clearInterval(idle);
    if (!inTime) {
      logger.warn("requests still running after the drain period; closing their connections", { drain_ms: REQUEST_DRAIN_MS });
      server.closeAllConnections();
    }
    const { localNodes } = await daemon.close({ graceMs: WORK_GRACE_MS, stopLocalNodes: options.stopLocalNodes });
    const nodes = { nodes: localNodes.nodes, clusters: localNodes.clusters };
    // Nodes outlive the daemon on purpose (a service restart must not take every cluster down),
    // so whoever stopped it is told what still runs and how to stop it.
    let notice: string | undefined;
    if (localNodes.stopped) logger.info("local nodes stopped; the next start starts their clusters again", nodes);
    else if (localNodes.nodes > 0) {
      const command = stopWith();
      logger.info("local nodes keep running; the next start adopts them", { ...nodes, stop_with: command });
      notice = `chainpool: ${localNodes.nodes} local cluster node${localNodes.nodes === 1 ? "" : "s"} (${localNodes.clusters} cluster${localNodes.clusters === 1 ? "" : "s"}) ${localNodes.nodes === 1 ? "keeps" : "keep"} running; the next start adopts them.\nchainpool: to stop them too: ${command}\n`;
    }
    logger.info("stopped", { ms: Date.now() - started });
    // A person at a terminal reads this last, whatever the log format.
    if (notice !== undefined && process.stderr.isTTY) process.stderr.write(notice);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop({ signal: "SIGTERM" }, { stopLocalNodes: false }));
  process.on("SIGINT", () => void stop({ signal: "SIGINT" }, { stopLocalNodes: false }));
  daemon.services.shutdown.onRequest((request) => void stop({ request_id: request.requestId, via: "POST /api/shutdown" }, { stopLocalNodes: request.stopLocalNodes }));
}

const argv = process.argv.slice(2);
const command = argv[0];
if (command === "node") {
  // The chain node program reads its own arguments: it sees `--config FILE` as if run alone.
  process.argv.splice(2, 1);
  await import("./chain/main.ts");
} else if (command === undefined || command === "serve" || (command.startsWith("-") && !["-h", "--help", "--version"].includes(command))) {
  await serve(command === "serve" ? argv.slice(1) : argv);
} else {
  const { runCli } = await import("./cli/run.ts");
  process.exitCode = await runCli(argv, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env, isTTY: process.stderr.isTTY === true });
}
