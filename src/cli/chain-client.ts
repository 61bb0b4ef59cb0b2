/**
 * A client of one cluster's Fabric-0.6-shaped REST API, at the `api_url` the pool handed out
 * (its URL secret is the first path segment, so routes are appended to it as they are).
 * Failures become CliErrors that say what the node said, with the CLI's exit codes.
 */
import { CliError, EXIT, usageError } from "./exit-codes.ts";

export interface ChainClientOptions {
  /** The cluster's api_url, e.g. http://127.0.0.1:7050/f3Kq... */
  apiUrl: string;
  /** Per-request timeout. */
  timeoutMs: number;
}

/** JSON-RPC error codes of `POST /chaincode` that mean the request itself was malformed. */
const MALFORMED_REQUEST_CODES = new Set([-32700, -32600, -32601, -32602]);

/** A committed transaction as `GET /transactions/<uuid>` answers it. */
export interface CommittedTransaction {
  uuid: string;
  blockNumber: number;
  transactionResult?: { uuid: string; errorCode: 0 | 1; result: string; error: string; events?: Array<{ name: string; payload: string }> };
  [field: string]: unknown;
}

export type ChaincodeMethod = "deploy" | "invoke" | "query";

/** Reads --url (or CHAINPOOL_API_URL): an http(s) URL, the cluster's api_url. */
export function parseApiUrl(value: string | undefined): string {
  if (value === undefined || value === "") {
    throw usageError("--url: the cluster's api_url is needed (what apply printed; or set CHAINPOOL_API_URL)");
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(`--url: ${JSON.stringify(value)} is not a URL; expected the cluster's api_url, e.g. http://127.0.0.1:7050/SECRET`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw usageError(`--url: expected an http or https URL, got ${url.protocol}`);
  if (url.search !== "" || url.hash !== "") throw usageError(`--url: the api_url takes no query or fragment: ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, "");
}

export class ChainClient {
  readonly apiUrl: string;
  readonly #timeoutMs: number;
  #nextId = 1;

  constructor(options: ChainClientOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs;
  }

  /** One `POST /chaincode` call; answers `result.message` (deploy: the name, invoke: the uuid, query: the answer). */
  async chaincode(method: ChaincodeMethod, params: Record<string, unknown>): Promise<string> {
    const { status, body } = await this.#request("POST", "/chaincode", { jsonrpc: "2.0", method, params, id: this.#nextId++ });
    const reply = body as { result?: { status?: string; message?: unknown }; error?: { code?: number; message?: string; data?: unknown } };
    if (reply.result && typeof reply.result.message === "string" && status === 200) return reply.result.message;
    if (reply.error && typeof reply.error.message === "string") {
      const code = reply.error.code ?? 0;
      throw new CliError(
        MALFORMED_REQUEST_CODES.has(code) || status === 413 ? EXIT.USAGE : EXIT.FAILED,
        `${method} refused by the cluster (${code}): ${reply.error.message}`,
      );
    }
    if (status === 413) throw new CliError(EXIT.USAGE, `${method}: the request is too large for the cluster (HTTP 413): ${JSON.stringify(body)}`);
    throw new CliError(EXIT.UNREACHABLE, `${this.apiUrl}/chaincode: not a chain node's JSON-RPC reply (HTTP ${status})`);
  }

  /** The committed transaction, or undefined while it is not committed on the node asked. */
  async transaction(uuid: string): Promise<CommittedTransaction | undefined> {
    const path = `/transactions/${encodeURIComponent(uuid)}`;
    const { status, body } = await this.#request("GET", path);
    if (status === 200 && typeof body === "object" && body !== null) return body as CommittedTransaction;
    if (status === 404) return undefined;
    throw new CliError(EXIT.FAILED, `${this.apiUrl}${path}: HTTP ${status}: ${JSON.stringify(body)}`);
  }

  async #request(method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await fetch(`${this.apiUrl}${path}`, {
        method,
        ...(body !== undefined && { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = (err as Error).name === "TimeoutError" ? `no answer within ${this.#timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
      throw new CliError(EXIT.UNREACHABLE, `cannot reach the cluster at ${this.apiUrl}: ${why}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(EXIT.UNREACHABLE, `${this.apiUrl}${path}: not a chain node's reply (HTTP ${response.status}, ${text.length} bytes of non-JSON)`);
    }
    // A node answers a wrong URL secret (or none) with this bare 404 whatever the path.
    if (response.status === 404 && isBareNotFound(parsed)) {
      throw new CliError(
        EXIT.NOT_FOUND,
        `${this.apiUrl}: no cluster answers at this URL (HTTP 404); use the api_url exactly as apply printed it: its path is the cluster's secret, which a release or rotate-secret replaces`,
      );
    }
    return { status: response.status, body: parsed };
  }
}

function isBareNotFound(body: unknown): boolean {
  return typeof body === "object" && body !== null && (body as Record<string, unknown>)["Error"] === "not found" && Object.keys(body).length === 1;
}
