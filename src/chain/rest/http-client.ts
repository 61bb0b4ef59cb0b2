import { Buffer } from "node:buffer";
import { Agent, request } from "node:http";

export type HttpResult = { ok: true; status: number; body: unknown } | { ok: false; error: string };

export interface HttpRequest {
  /** Absolute URL. */
  url: string;
  method: "GET" | "POST";
  /** Sent as JSON when present. */
  body?: unknown;
  /** Sent as it is (text/plain), instead of `body`. */
  text?: string;
  timeoutMs: number;
  /** Replies larger than this are cut off and fail. */
  maxResponseBytes: number;
}

/**
 * A small JSON-over-HTTP client on node:http (not fetch: it keeps the bundle and the
 * idle memory small, and behaves the same on Node and Deno). Never throws: transport
 * failures, timeouts and non-JSON replies come back as `{ ok: false, error }`.
 */
export interface HttpClientOptions {
  /** Awaited with every reply's text before it is parsed (the node loads its chaincode engine when a reply carries a JavaScript deploy). */
  prepare?: (text: string) => Promise<void>;
}

/**
 * How long the client keeps an idle connection to a peer: longer than the gap between the
 * daemon's full probes of an idle local cluster (30 s by default, each making vp0 ping its
 * peers), so each round reuses the last one's connections; shorter than the peers' own 65 s
 * keep-alive, so this side is the one that closes.
 */
export const PEER_CLIENT_IDLE_MS = 60_000;

export class HttpClient {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 8, timeout: PEER_CLIENT_IDLE_MS });
  readonly #prepare: ((text: string) => Promise<void>) | undefined;

  constructor(options: HttpClientOptions = {}) {
    this.#prepare = options.prepare;
  }

  send(req: HttpRequest): Promise<HttpResult> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: HttpResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const payload =
        req.text !== undefined ? Buffer.from(req.text, "utf8") : req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body), "utf8");
      const headers: Record<string, string | number> = { accept: "application/json" };
      if (payload) {
        headers["content-type"] = req.text !== undefined ? "text/plain" : "application/json";
        headers["content-length"] = payload.length;
      }
      let outgoing: ReturnType<typeof request>;
      try {
        outgoing = request(req.url, { method: req.method, headers, agent: this.#agent });
      } catch (error: unknown) {
        resolve({ ok: false, error: error instanceof Error ? error.message : String(error) });
        return;
      }
      const timer = setTimeout(() => {
        outgoing.destroy();
        finish({ ok: false, error: `no reply from ${req.url} within ${req.timeoutMs} ms` });
      }, req.timeoutMs);
      outgoing.on("error", (error) => finish({ ok: false, error: `${req.method} ${req.url}: ${error.message}` }));
      outgoing.on("response", (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > req.maxResponseBytes) {
            response.destroy();
            finish({ ok: false, error: `reply from ${req.url} is larger than ${req.maxResponseBytes} bytes` });
            return;
          }
          chunks.push(chunk);
        });
        response.on("error", (error) => finish({ ok: false, error: `${req.method} ${req.url}: ${error.message}` }));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const parse = () => {
            try {
              finish({ ok: true, status: response.statusCode ?? 0, body: text === "" ? null : JSON.parse(text) });
            } catch {
              finish({ ok: false, error: `reply from ${req.url} is not JSON` });
            }
          };
          if (this.#prepare) {
            this.#prepare(text).then(parse, (error: unknown) => finish({ ok: false, error: `reply from ${req.url}: ${error instanceof Error ? error.message : String(error)}` }));
          } else parse();
        });
      });
      outgoing.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
