import { Buffer } from "node:buffer";
import { Agent, request } from "node:http";

/** A GET's status and parsed JSON body; throws when there is no parsable answer in time. */
export type JsonGet = (url: string, timeoutMs: number) => Promise<{ status: number; body: unknown }>;

/** Largest body read from a node's client route: /status of a large pbft cluster is a few KiB. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * JSON GETs over plain HTTP on node:http with connections kept alive between calls: what the
 * local host's health probes use, every few seconds to every node of every cluster. With
 * fetch (undici: a Request, Headers, an AbortSignal and a body stream per call), its frames
 * and the socket writes under them led an idle daemon's CPU profile. Errors never quote the
 * URL (it carries the cluster's secret): the caller names the node. `close()` drops the idle
 * connections.
 */
export function createJsonGetter(): { get: JsonGet; close(): void } {
  // Idle sockets end after 60 s: after a local host's full probes, 30 s apart by default (so
  // each reuses the last one's connection), and before the node's own 65 s keep-alive (so this
  // side closes them).
  const agent = new Agent({ keepAlive: true, maxSockets: 4, timeout: 60_000 });
  const get: JsonGet = (url, timeoutMs) =>
    new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outgoing.destroy();
        reject(error);
      };
      const outgoing = request(url, { agent, headers: { accept: "application/json" } }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) fail(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        response.on("error", (error) => fail(error));
        response.on("end", () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve({ status: response.statusCode ?? 0, body: text === "" ? null : JSON.parse(text) });
          } catch {
            reject(new Error(`answered ${response.statusCode} with a body that is not JSON`));
          }
        });
      });
      const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      outgoing.on("error", (error) => fail(error));
      outgoing.end();
    });
  return { get, close: () => agent.destroy() };
}
