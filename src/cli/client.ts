import { CliError, EXIT, type ExitCode } from "./exit-codes.ts";

/** Cello's reply envelope, as both APIs answer. */
export interface Envelope<T = unknown> {
  code: number;
  status: "OK" | "FAIL";
  error: string;
  data: T;
}

export interface ApiClientOptions {
  /** Base URL of the daemon, e.g. http://127.0.0.1:8080. */
  url: string;
  /** API key sent as `Authorization: Bearer KEY`; none for a daemon without keys. */
  key?: string;
  /** Per-request timeout. */
  timeoutMs: number;
}

/** What an HTTP status means to a script. */
function exitCodeFor(status: number): ExitCode {
  if (status === 400 || status === 413 || status === 415) return EXIT.USAGE;
  if (status === 401 || status === 403) return EXIT.UNAUTHORIZED;
  if (status === 404) return EXIT.NOT_FOUND;
  return EXIT.FAILED;
}

/** A thin client of the daemon's two APIs; failures become CliErrors with the daemon's own words. */
export class ApiClient {
  readonly url: string;
  readonly #o: ApiClientOptions;

  constructor(options: ApiClientOptions) {
    this.#o = options;
    this.url = options.url.replace(/\/+$/, "");
  }

  /** Sends one request; answers `data` of an OK envelope, throws CliError otherwise. */
  async call<T = unknown>(method: string, path: string, body?: Record<string, unknown>): Promise<T> {
    const res = await this.fetch(method, path, body);
    let envelope: Envelope<T>;
    try {
      envelope = (await res.json()) as Envelope<T>;
    } catch {
      throw new CliError(EXIT.UNREACHABLE, `${this.url}${path}: not a chainpool reply (HTTP ${res.status})`);
    }
    if (res.ok && envelope.status === "OK") return envelope.data;
    throw new CliError(exitCodeFor(res.status), envelope.error || `HTTP ${res.status}`);
  }

  /** The raw response, for replies that are not envelopes (the backup stream). */
  async fetch(method: string, path: string, body?: Record<string, unknown>, timeoutMs = this.#o.timeoutMs): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.#o.key) headers["authorization"] = `Bearer ${this.#o.key}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    try {
      return await fetch(`${this.url}${path}`, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = (err as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
      throw new CliError(EXIT.UNREACHABLE, `cannot reach the chainpool daemon at ${this.url}: ${why}`);
    }
  }
}
