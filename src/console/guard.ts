import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import type { KeyMatcher } from "../api/auth.ts";
import type { AppEnv } from "../api/env.ts";
import { readInput } from "../api/input.ts";
import type { ConsoleEnv } from "./env.ts";
import { csrfMatches, type ConsoleSession, type SessionStore } from "./sessions.ts";

export const SESSION_COOKIE = "chainpool_session";

/**
 * The console's own origin as the browser sees it: the request's, or https when a
 * TLS-terminating proxy in front says so (X-Forwarded-Proto; the daemon itself serves plain
 * HTTP). The proxy must pass the Host header on.
 */
export function consoleOrigin(c: Context): URL {
  const url = new URL(c.req.url);
  if (c.req.header("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https") url.protocol = "https:";
  return url;
}

const isSecure = (c: Context) => consoleOrigin(c).protocol === "https:";

/** HttpOnly, SameSite=Strict, Secure when the console is reached over TLS; lives no longer than the session. */
export function setSessionCookie(c: Context, sessions: SessionStore, session: ConsoleSession): void {
  setCookie(c, SESSION_COOKIE, session.id, { httpOnly: true, sameSite: "Strict", secure: isSecure(c), path: "/", maxAge: sessions.remainingSeconds(session) });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: isSecure(c) });
}

export function sessionOf(c: Context, sessions: SessionStore): ConsoleSession | undefined {
  return sessions.get(getCookie(c, SESSION_COOKIE));
}

/**
 * A request that changes something must come from a page of this origin: its Origin header
 * (or, failing that, its Referer) names the origin it was sent to. A cross-site form or
 * fetch carries the other site's origin and is refused before anything is read.
 */
export function sameOrigin(c: Context): boolean {
  const own = consoleOrigin(c).origin;
  const origin = c.req.header("origin");
  if (origin !== undefined) return origin === own;
  const referer = c.req.header("referer");
  if (referer === undefined) return false;
  try {
    return new URL(referer).origin === own;
  } catch {
    return false;
  }
}

/**
 * Every console route but sign-in and the assets: a live session, or (GET) a redirect to the
 * sign-in page, or a 401. With no keys configured there is no sign-in: a session is made for
 * whoever asks (the daemon listens on loopback only then), so the CSRF rules below still hold.
 * A POST needs its origin to be this one and the session's synchronizer token in `_csrf`.
 */
export function requireSession(keys: KeyMatcher, sessions: SessionStore): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    // Mounted on overlapping paths ("/hosts" and "/hosts/*" both match /hosts): once is enough.
    if (c.get("session")) return next();
    let session = sessionOf(c, sessions);
    if (!session && keys.open) {
      session = sessions.create("loopback");
      setSessionCookie(c, sessions, session);
    }
    if (!session) {
      clearSessionCookie(c);
      if (c.req.method === "GET" && c.req.header("accept")?.includes("text/html") !== false && !c.req.path.startsWith("/console/")) {
        const next = new URL(c.req.url);
        return c.redirect(`/sign-in?next=${encodeURIComponent(next.pathname + next.search)}`, 303);
      }
      return c.text("sign in first: the console session is missing or has expired", 401);
    }
    c.set("session", session);
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      if (!sameOrigin(c)) return c.text("refused: this request did not come from the console's own pages (Origin)", 403);
      // The API's reading rules: size limit, a field given twice or a reserved name is a 400.
      const form = await readInput(c as unknown as Context<AppEnv>);
      c.set("form", form);
      if (!csrfMatches(session, form["_csrf"])) return c.text("refused: the form's CSRF token is missing or wrong; reload the page and try again", 403);
    }
    return next();
  };
}
