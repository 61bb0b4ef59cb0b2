import { Buffer } from "node:buffer";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { ApiHandler } from "./rest-api.ts";
import type { Logger } from "./logger.ts";
import { errorMessage } from "./logger.ts";

export interface HttpServerOptions {
  host: string;
  port: number;
  handler: ApiHandler;
  /** Largest request body for a path, in bytes; larger ones get 413. */
  bodyLimit: (path: string) => number;
  log: Logger;
}

export interface RunningHttpServer {
  /** Stops accepting, drops open connections; idempotent. */
  close(): Promise<void>;
}

/**
 * Serves an ApiHandler on node:http: reads the body within its limit, answers JSON, and
 * turns anything thrown into a logged 500 whose body names no internals.
 */
export function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => {
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
  const limit = options.bodyLimit(url.pathname);
  try {
    const body = await readBody(req, limit);
    if (body === undefined) {
      reply(res, 413, { Error: `request body is larger than ${limit} bytes` }, true);
      return;
    }
    const response = await options.handler({ method: req.method ?? "GET", path: url.pathname, query: url.searchParams, body });
    reply(res, response.status, response.body, false);
  } catch (error: unknown) {
    options.log.log("error", "http.handler_failed", { method: req.method, path: url.pathname, error: errorMessage(error) });
    reply(res, 500, { Error: "internal error" }, false);
  }
}

/** The body as text, or undefined when it is larger than `limit` (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", (error) => {
      if (done) return;
      done = true;
      reject(error);
    });
  });
}

function reply(res: ServerResponse, status: number, body: unknown, closeConnection: boolean): void {
  if (res.headersSent) return;
  const payload = Buffer.from(JSON.stringify(body), "utf8");
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
