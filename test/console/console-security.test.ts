/**
 * The console's sign-in, session and CSRF rules, over HTTP against a daemon in-process (real
 * SQLite file, memory host): what a browser would send, and what a forged request would.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

const OPERATOR = "operator-key-0123456789";
const FRONT = "front-key-0123456789abc";
const ORIGIN = "http://console.test";

/** A browser's cookie jar for one origin, reduced to what these tests need. */
class Browser {
  cookie = "";
  constructor(readonly t: TestDaemon) {}
  async request(method: string, path: string, init: { form?: Record<string, string>; headers?: Record<string, string>; origin?: string | null } = {}) {
    const headers: Record<string, string> = { accept: "text/html", ...init.headers };
    if (this.cookie) headers["cookie"] = this.cookie;
    const origin = init.origin === undefined ? ORIGIN : init.origin;
    if (method !== "GET" && origin !== null) headers["origin"] = origin;
    let body: string | undefined;
    if (init.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    }
    const res = await this.t.daemon.app.request(`${ORIGIN}${path}`, { method, headers, ...(body !== undefined && { body }) });
    const set = res.headers.get("set-cookie");
    if (set) {
      const [pair] = set.split(";");
      this.cookie = /Max-Age=0/i.test(set) ? "" : pair!;
    }
    return { status: res.status, location: res.headers.get("location"), setCookie: set, text: await res.text() };
  }
  async signIn(key = OPERATOR) {
    return this.request("POST", "/sign-in", { form: { key, next: "/" } });
  }
  /** The synchronizer token the hosts page's forms carry. */
  async csrf(): Promise<string> {
    const page = await this.request("GET", "/hosts");
    const m = /name="_csrf" value="([^"]+)"/.exec(page.text);
    assert.ok(m, `no CSRF token in the page (status ${page.status})`);
    return m[1]!;
  }
}

describe("console sign-in and sessions (operator keys configured)", () => {
  let t: TestDaemon;
  let now = Date.parse("2026-01-01T00:00:00Z");
  beforeEach(() => {
    now = Date.parse("2026-01-01T00:00:00Z");
    t = createTestDaemon({ api: { front_keys: [FRONT], operator_keys: [OPERATOR] }, console: { session_idle_s: 600, session_max_s: 3600 } }, {}, { consoleClock: () => now });
  });
  afterEach(() => t.close());

  it("sends a visitor without a session to the sign-in page, and refuses front and unknown keys", async () => {
    const b = new Browser(t);
    const page = await b.request("GET", "/hosts");
    assert.equal(page.status, 303);
    assert.equal(page.location, "/sign-in?next=%2Fhosts");
    const front = await b.signIn(FRONT);
    assert.equal(front.status, 401);
    assert.match(front.text, /front key/);
    const wrong = await b.signIn("not-a-key-of-this-daemon");
    assert.equal(wrong.status, 401);
    assert.equal(b.cookie, "");
    assert.equal((await b.request("GET", "/")).status, 303);
  });

  it("signs in with an operator key into an HttpOnly, SameSite=Strict cookie that holds no key", async () => {
    const b = new Browser(t);
    const res = await b.signIn();
    assert.equal(res.status, 303);
    assert.equal(res.location, "/");
    assert.match(res.setCookie!, /HttpOnly/);
    assert.match(res.setCookie!, /SameSite=Strict/);
    assert.match(res.setCookie!, /Max-Age=3600/);
    assert.doesNotMatch(res.setCookie!, /Secure/, "plain HTTP: a Secure cookie would never come back");
    assert.ok(!res.setCookie!.includes(OPERATOR));
    assert.equal((await b.request("GET", "/")).status, 200);
  });

  it("marks the cookie Secure when the console is reached over TLS", async () => {
    const res = await t.daemon.app.request("https://console.test/sign-in", {
      method: "POST",
      headers: { origin: "https://console.test", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key: OPERATOR }).toString(),
    });
    assert.equal(res.status, 303);
    assert.match(res.headers.get("set-cookie")!, /; Secure/);
  });

  it("behind a TLS-terminating proxy (X-Forwarded-Proto: https): a Secure cookie, and the https origin is its own", async () => {
    const res = await t.daemon.app.request("http://console.test/sign-in", {
      method: "POST",
      headers: { origin: "https://console.test", "x-forwarded-proto": "https", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key: OPERATOR }).toString(),
    });
    assert.equal(res.status, 303);
    assert.match(res.headers.get("set-cookie")!, /; Secure/);
    const plain = await t.daemon.app.request("http://console.test/sign-in", {
      method: "POST",
      headers: { origin: "https://console.test", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key: OPERATOR }).toString(),
    });
    assert.equal(plain.status, 403, "without the proxy's word, https is another origin");
  });

  it("ends a session left idle longer than session_idle_s", async () => {
    const b = new Browser(t);
    await b.signIn();
    now += 599_000;
    assert.equal((await b.request("GET", "/")).status, 200, "used within the idle time: still signed in");
    now += 599_000;
    assert.equal((await b.request("GET", "/")).status, 200, "each use restarts the idle clock");
    now += 600_000;
    const after = await b.request("GET", "/");
    assert.equal(after.status, 303);
    assert.match(after.location!, /^\/sign-in/);
  });

  it("ends a busy session session_max_s after sign-in", async () => {
    const b = new Browser(t);
    await b.signIn();
    for (let i = 0; i < 7; i++) {
      now += 500_000; // always within the idle time
      assert.equal((await b.request("GET", "/")).status, 200, `use ${i + 1} at ${(i + 1) * 500} s`);
    }
    now += 500_000; // 4,000 s after sign-in, past the 3,600 s limit
    assert.equal((await b.request("GET", "/")).status, 303);
    assert.equal((await b.request("GET", "/console/live")).status, 401, "the live feed refuses the expired session too");
  });

  it("a live feed carries content only while its session holds: then it closes, and a new one is refused", async () => {
    const b = new Browser(t);
    await b.signIn();
    // In-process, nothing else holds the event loop open while the stream waits on the hub's (unref'd) timer.
    const keep = setInterval(() => {}, 1000);
    const res = await t.daemon.app.request(`${ORIGIN}/console/live?view=overview`, { headers: { cookie: b.cookie, accept: "text/event-stream" } });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    /** Reads until `seen(text)`; false if the stream ends first. */
    const readUntil = async (seen: (all: string) => boolean) => {
      while (!seen(text)) {
        const { value, done } = await reader.read();
        if (done) return false;
        text += decoder.decode(value);
      }
      return true;
    };
    try {
      assert.ok(await readUntil((all) => all.includes("event: hello")));
      await t.addMemoryHost({ name: "m1", ready: 1 });
      assert.ok(await readUntil((all) => /event: change\ndata: \{"changes":\d+,"view":\{"main":/.test(all)), "while the session holds, the overview comes in the message");
      const heard = text.length;
      now += 600_000; // idle past session_idle_s
      await t.addMemoryHost({ name: "m2", ready: 1 });
      assert.equal(await readUntil((all) => all.slice(heard).includes("event: change")), false, "the stream ends");
      assert.equal(text.slice(heard), "", "with nothing more sent");
      assert.equal((await b.request("GET", "/console/live?view=overview")).status, 401, "and the browser's reconnect is refused");
    } finally {
      clearInterval(keep);
      await reader.cancel().catch(() => undefined);
    }
  });

  it("signs out: the session is gone on the daemon, not only in the browser", async () => {
    const b = new Browser(t);
    await b.signIn();
    const kept = b.cookie;
    const token = await b.csrf();
    const out = await b.request("POST", "/sign-out", { form: { _csrf: token } });
    assert.equal(out.status, 303);
    assert.equal(out.location, "/sign-in");
    b.cookie = kept; // a copy of the cookie taken before sign-out
    assert.equal((await b.request("GET", "/hosts")).status, 303);
  });

  it("refuses a state-changing request without the session's CSRF token, or from another origin, and changes nothing", async () => {
    const host = await t.addMemoryHost({ name: "m1", capacity: 3, ready: 0 });
    const b = new Browser(t);
    await b.signIn();
    const token = await b.csrf();
    const fillup = `/hosts/${host.id}/fillup`;
    const count = () => t.daemon.services.store.listClusters({ host_id: host.id }).length;

    const noToken = await b.request("POST", fillup, { form: {} });
    assert.equal(noToken.status, 403);
    assert.match(noToken.text, /CSRF token/);
    const wrongToken = await b.request("POST", fillup, { form: { _csrf: token.slice(1) + "x" } });
    assert.equal(wrongToken.status, 403);
    const otherOrigin = await b.request("POST", fillup, { form: { _csrf: token }, origin: "http://evil.test" });
    assert.equal(otherOrigin.status, 403);
    assert.match(otherOrigin.text, /Origin/);
    const noOrigin = await b.request("POST", fillup, { form: { _csrf: token }, origin: null });
    assert.equal(noOrigin.status, 403, "neither Origin nor Referer: refused");
    const otherSession = new Browser(t);
    await otherSession.signIn();
    const stolen = await otherSession.request("POST", fillup, { form: { _csrf: token } });
    assert.equal(stolen.status, 403, "a token is good for its own session only");
    assert.equal(count(), 0, "no refused request created a cluster");

    const ok = await b.request("POST", fillup, { form: { _csrf: token } });
    assert.equal(ok.status, 303);
    assert.equal(count(), 3);
    const sameOriginReferer = await b.request("POST", `/hosts/${host.id}/clean`, { form: { _csrf: token }, origin: null, headers: { referer: `${ORIGIN}/hosts` } });
    assert.equal(sameOriginReferer.status, 303, "a same-origin Referer stands in for a missing Origin");
  });

  it("refuses a sign-in posted from another origin (login CSRF)", async () => {
    const b = new Browser(t);
    const res = await b.request("POST", "/sign-in", { form: { key: OPERATOR }, origin: "http://evil.test" });
    assert.equal(res.status, 403);
    assert.equal(b.cookie, "");
  });

  it("answers pages with a CSP that lets nothing load from another origin", async () => {
    const b = new Browser(t);
    await b.signIn();
    const res = await t.daemon.app.request(`${ORIGIN}/`, { headers: { cookie: b.cookie } });
    const csp = res.headers.get("content-security-policy")!;
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /frame-ancestors 'none'/);
    const html = await res.text();
    for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) assert.ok(m[1]!.startsWith("/") || m[1]!.startsWith("#"), `${m[1]} is not on this origin`);
  });
});

describe("console with no keys configured (loopback only)", () => {
  let t: TestDaemon;
  beforeEach(() => {
    t = createTestDaemon();
  });
  afterEach(() => t.close());

  it("has no sign-in, but still refuses state changes without the CSRF token", async () => {
    const host = await t.addMemoryHost({ name: "m1", capacity: 2, ready: 0 });
    const b = new Browser(t);
    const page = await b.request("GET", "/");
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /Sign out/);
    assert.equal((await b.request("GET", "/sign-in")).status, 303);
    assert.equal((await b.request("POST", `/hosts/${host.id}/fillup`, { form: {} })).status, 403);
    assert.equal(t.daemon.services.store.listClusters({ host_id: host.id }).length, 0);
    const token = await b.csrf();
    assert.equal((await b.request("POST", `/hosts/${host.id}/fillup`, { form: { _csrf: token } })).status, 303);
    assert.equal(t.daemon.services.store.listClusters({ host_id: host.id }).length, 2);
  });
});
