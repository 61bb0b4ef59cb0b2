import { timingSafeEqual, createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ChainpoolError } from "../core/errors.ts";
import type { AppEnv, Role } from "./env.ts";

export interface AuthOptions {
  frontKeys: readonly string[];
  operatorKeys: readonly string[];
  /** Keys that open GET /metrics alone (`api.metrics_keys`). */
  metricsKeys?: readonly string[];
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Bearer keys. With no keys configured the daemon only listens on loopback (main refuses
 * anything else), and every caller is treated as the operator. An operator key opens both
 * APIs and /metrics; a front key opens /v2 only; a metrics key opens /metrics only.
 */
export function authenticate(options: AuthOptions, need: Role): MiddlewareHandler<AppEnv> {
  const keys = keyMatcher(options);
  return async (c, next) => {
    if (keys.open) {
      c.set("role", "operator");
      c.set("caller", "loopback");
      return next();
    }
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ChainpoolError("UNAUTHORIZED", "authorization: missing Bearer API key");
    const found = keys.match(m[1]!);
    if (!found) throw new ChainpoolError("UNAUTHORIZED", "authorization: API key not recognised");
    const role = found.role;
    if (role === "metrics" && need !== "metrics") throw new ChainpoolError("FORBIDDEN", "authorization: a metrics key opens GET /metrics only");
    if (need === "operator" && role !== "operator") throw new ChainpoolError("FORBIDDEN", "authorization: a front API key cannot call the operator API");
    if (need === "metrics" && role === "front") throw new ChainpoolError("FORBIDDEN", "authorization: a front API key cannot read /metrics; use an operator or metrics key");
    c.set("role", role);
    c.set("caller", found.caller);
    return next();
  };
}

export interface KeyMatcher {
  /** No front or operator keys configured: loopback only, every caller is the operator. */
  open: boolean;
  /** The role a key opens and who it is (a digest prefix, never the key); undefined for an unknown key. */
  match(key: string): { role: Role; caller: string } | undefined;
}

/** The configured keys as digests, compared in constant time; the API and the console's sign-in share it. */
export function keyMatcher(options: AuthOptions): KeyMatcher {
  const front = options.frontKeys.map(digest);
  const operator = options.operatorKeys.map(digest);
  const metrics = (options.metricsKeys ?? []).map(digest);
  const matches = (keys: Buffer[], given: Buffer) => keys.some((k) => timingSafeEqual(k, given));
  return {
    // Metrics keys alone do not close the APIs: with no front or operator key the daemon is loopback-only and open.
    open: front.length === 0 && operator.length === 0,
    match(key) {
      const given = digest(key);
      const role: Role | undefined = matches(operator, given) ? "operator" : matches(front, given) ? "front" : matches(metrics, given) ? "metrics" : undefined;
      return role && { role, caller: given.subarray(0, 8).toString("hex") };
    },
  };
}
