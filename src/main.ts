/**
 * Composition root and the only file that touches the process lifecycle:
 * argv -> config -> daemon (store, drivers, services, app, scheduler) -> listener -> signals.
 */
import { serve } from "@hono/node-server";
import { ConfigError, resolveConfig } from "./config/load.ts";
import { createDaemon } from "./daemon.ts";
import { createLogger } from "./lib/logger.ts";
import { VERSION } from "./lib/version.ts";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/;

function splitListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(":");
  return { host: listen.slice(0, at).replace(/^\[(.*)\]$/, "$1"), port: Number(listen.slice(at + 1)) };
}

async function main(): Promise<void> {
  let config;
  try {
    config = resolveConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`chainpool: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.log_level, ...(config.log_json !== undefined && { json: config.log_json }) });
  const { host, port } = splitListen(config.listen);
  const keyed = config.api.front_keys.length > 0 || config.api.operator_keys.length > 0;
  if (!keyed && !LOOPBACK.test(host)) {
    process.stderr.write(`chainpool: refusing to listen on ${config.listen} without API keys; set api.front_keys and api.operator_keys, or listen on 127.0.0.1\n`);
    process.exit(2);
  }
  if (!keyed) logger.warn("no API keys configured: serving on loopback only, without authentication", { listen: config.listen });

  let daemon;
  try {
    daemon = createDaemon({ config, logger });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`chainpool: ${err.message}\n`);
    process.exit(2);
  }
  const server = serve({ fetch: daemon.app.fetch, hostname: host, port });
  server.once("error", (err) => {
    logger.error("cannot listen", { listen: config.listen, err });
    process.exit(1);
  });
  server.once("listening", () => logger.info("chainpool serving", { version: VERSION, listen: config.listen, data_dir: config.data_dir }));
  daemon.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("stopping", { signal });
    const timer = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, 30_000);
    timer.unref();
    await new Promise<void>((done) => server.close(() => done()));
    await daemon.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

await main();
