import { Buffer } from "node:buffer";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { clipStrings } from "../log/clip.ts";
import type { ApiHandler, ApiResponse, BodyScreen } from "./rest-api.ts";
import type { Logger } from "../log/logger.ts";
import { errorMessage } from "../log/logger.ts";

export interface HttpServerOptions {
  host: string;
  port: number;
  handler: ApiHandler;
  /** Largest request body for a method and path, in bytes; larger ones get 413. */
  bodyLimit: (method: string, path: string) => number;
  /** Routes that can refuse a request from the start of its body. */
  screen?: (method: string, path: string) => BodyScreen | undefined;
  /** A path as log lines may show it: the URL secret in it is never written down. */
  redactPath: (path: string) => string;
  log: Logger;
}

/** Most characters of any string in an error reply: error messages quote what the request carried. */
const ERROR_STRING_LIMIT = 300;

export interface RunningHttpServer {
  /** Stops accepting, drops open connections; idempotent. */
  close(): Promise<void>;
}

/**
 * Serves an ApiHandler on node:http: reads the body within its limit, answers JSON, and
 * turns anything thrown into a logged 500 whose body names no internals.
 */
/**
 * How long an idle keep-alive connection stays open. Longer than the daemon's health probe
 * period (5 s by default) and than the peers' own idle limit (HttpClient: 30 s), so that
 * an idle cluster's probes and pings reuse their connections instead of opening new ones
 * each round (connecting was about a sixth of an idle node's CPU profile), and so that the client,
 * not this side, closes an idle connection: a request never meets one closing under it.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
    void serve(options, req, res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      server.on("error", (error) => options.log.log("error", "http.server_error", { error: errorMessage(error) }));
      resolve({ close: closer(server) });
    });
  });
}

function closer(server: Server): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= new Promise((resolve) => {
      server.close(() => resolve());
      // Not on every runtime; where missing, idle keep-alive sockets end on their own timeout.
      (server as Partial<Pick<Server, "closeAllConnections">>).closeAllConnections?.call(server);
    });
    return closing;
  };
}

async function serve(options: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://node");
  const method = req.method ?? "GET";
  const limit = options.bodyLimit(method, url.pathname);
  try {
    const read = await readBody(req, limit, options.screen?.(method, url.pathname));
    if (read.kind === "too_large") {
      reply(res, 413, { Error: `request body is larger than ${limit} bytes` }, true);
      return;
    }
    if (read.kind === "refused") {
      reply(res, read.response.status, read.response.body, false);
      return;
    }
    const response = await options.handler({ method, path: url.pathname, query: url.searchParams, body: read.body });
    reply(res, response.status, response.body, false);
  } catch (error: unknown) {
    options.log.log("error", "http.handler_failed", { method: req.method, path: options.redactPath(url.pathname), error: errorMessage(error) });
    reply(res, 500, { Error: "internal error" }, false);
  }
}

type ReadBody = { kind: "body"; body: string } | { kind: "too_large" } | { kind: "refused"; response: ApiResponse };

/**
 * The body as text; too_large when it is larger than `limit` (the rest is not read, the
 * connection is closed); refused when `screen` refuses its first bytes. A refused request
 * is answered at once, and the rest of its body (up to `limit` in all) is read and thrown
 * away, not kept, so that a client still sending gets the answer, not a reset connection.
 */
function readBody(req: IncomingMessage, limit: number, screen: BodyScreen | undefined): Promise<ReadBody> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) return Promise.resolve({ kind: "too_large" });
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    let state: "reading" | "draining" | "done" = "reading";
    let screened = screen === undefined;
    /** Runs the screen once its bytes (or the whole body) are in; true when it refused. */
    const refusedByScreen = (complete: boolean): boolean => {
      if (screened || !screen || (!complete && size < screen.bytes)) return false;
      screened = true;
      const head = Buffer.concat(chunks).subarray(0, screen.bytes).toString("utf8");
      const response = screen.check(head, complete && size <= screen.bytes);
      if (!response) return false;
      state = complete ? "done" : "draining";
      chunks = [];
      resolve({ kind: "refused", response });
      return true;
    };
    req.on("data", (chunk: Buffer) => {
      if (state === "done") return;
      size += chunk.length;
      if (size > limit) {
        // Reading: answered 413 on a connection that closes. Draining: answered already.
        if (state === "reading") resolve({ kind: "too_large" });
        else req.destroy();
        state = "done";
        req.pause();
        return;
      }
      if (state === "draining") return;
      chunks.push(chunk);
      refusedByScreen(false);
    });
    req.on("end", () => {
      if (state !== "reading") return;
      if (refusedByScreen(true)) return;
      state = "done";
      resolve({ kind: "body", body: Buffer.concat(chunks).toString("utf8") });
    });
    req.on("error", (error) => {
      if (state !== "reading") return;
      state = "done";
      reject(error);
    });
  });
}

function reply(res: ServerResponse, status: number, body: unknown, closeConnection: boolean): void {
  if (res.headersSent) return;
  const payload = Buffer.from(JSON.stringify(status >= 400 ? clipStrings(body, ERROR_STRING_LIMIT) : body), "utf8");
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": payload.length,
  };
  // An unread body would be taken for the next request: close instead.
  if (closeConnection) headers["connection"] = "close";
  res.writeHead(status, headers);
  res.end(payload, () => {
    if (closeConnection) res.socket?.destroy();
  });
}
