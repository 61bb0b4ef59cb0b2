/**
 * The console's pages and actions against a daemon in-process (real SQLite file, memory
 * hosts): forms validated by the API's own rules, actions disabled where they cannot apply,
 * the live feed shared by every tab, and assets that are the files they are built from.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { afterEach, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";
import { listen } from "../helpers/http.ts";
import { waitFor } from "../chain/helpers/chain-cluster.ts";

const ORIGIN = "http://console.test";

/** No keys: the console makes a session for whoever asks; this keeps its cookie. */
async function session(t: TestDaemon) {
  let cookie = "";
  const request = async (method: string, path: string, form?: Record<string, string>) => {
    const headers: Record<string, string> = { accept: "text/html", origin: ORIGIN };
    if (cookie) headers["cookie"] = cookie;
    if (form) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await t.daemon.app.request(`${ORIGIN}${path}`, { method, headers, ...(form && { body: new URLSearchParams(form).toString() }) });
    const set = res.headers.get("set-cookie");
    if (set) cookie = set.split(";")[0]!;
    return { status: res.status, location: res.headers.get("location"), text: await res.text() };
  };
  const first = await request("GET", "/hosts/new"); // the form always carries the token
  const csrf = /name="_csrf" value="([^"]+)"/.exec(first.text)![1]!;
  return { request, csrf, cookie: () => cookie };
}

const buttonFor = (html: string, label: string) => {
  const m = new RegExp(`<button[^>]*aria-label="${label}"[^>]*>`).exec(html);
  assert.ok(m, `no button "${label}"`);
  return m[0];
};

describe("console pages", () => {
  let t: TestDaemon;
  beforeEach(() => {
    t = createTestDaemon();
  });
  afterEach(() => t.close());

  it("adds a host through the form with the API's own rules: the same input gets the same refusal", async () => {
    const s = await session(t);
    const bad = { name: "bad name", type: "local", daemon_url: "", capacity: "-1", log_level: "INFO", params: "" };
    const page = await s.request("POST", "/hosts/new", { _csrf: s.csrf, ...bad });
    const api = await t.call("POST", "/api/host", { ...bad, params: {}, autofill: false, schedulable: false });
    assert.equal(api.status, 400);
    assert.equal(page.status, 400);
    assert.ok(page.text.includes(api.body.error.replaceAll("'", "&#39;")), `the form shows the API's error: ${api.body.error}`);
    assert.ok(page.text.includes('value="bad name"'), "what was typed stays in the form");

    const badParams = await s.request("POST", "/hosts/new", { _csrf: s.csrf, name: "d1", type: "docker", daemon_url: "unix:///var/run/docker.sock", capacity: "2", log_level: "INFO", params: '{"tls_ca": 5}' });
    const apiParams = await t.call("POST", "/api/host", { name: "d1", type: "docker", daemon_url: "unix:///var/run/docker.sock", capacity: 2, params: { tls_ca: 5 } });
    assert.equal(badParams.status, apiParams.status);
    assert.ok(badParams.text.includes(apiParams.body.error.replaceAll('"', "&quot;").replaceAll("'", "&#39;")) || badParams.text.includes(apiParams.body.error), apiParams.body.error);
    assert.equal(t.daemon.services.store.listHosts().length, 0, "nothing refused was added");

    const good = await s.request("POST", "/hosts/new", { _csrf: s.csrf, name: "mem-a", type: "memory", daemon_url: "memory://a", capacity: "3", autofill: "true", log_level: "INFO", params: "" });
    assert.equal(good.status, 303);
    const added = t.daemon.services.store.getHostByName("mem-a")!;
    assert.equal(added.capacity, 3);
    assert.equal(added.autofill, true);
    assert.equal(added.schedulable, false, "an unchecked box is false");
  });

  it("edits a host, keeping params shown redacted as they were", async () => {
    const host = await t.addMemoryHost({ name: "m1", capacity: 4 });
    t.daemon.services.store.updateHost(host.id, { params: { api_token: "s3cret" } } as never);
    const s = await session(t);
    const form = await s.request("GET", `/hosts/${host.id}/edit`);
    assert.ok(form.text.includes("(set)"), "the secret is shown redacted");
    assert.ok(!form.text.includes("s3cret"));
    const params = /<textarea[^>]*>([^<]*)<\/textarea>/.exec(form.text)![1]!.replaceAll("&quot;", '"');
    const saved = await s.request("POST", `/hosts/${host.id}/edit`, { _csrf: s.csrf, name: "m1", daemon_url: host.daemon_url, capacity: "6", log_level: "INFO", schedulable: "true", params });
    assert.equal(saved.status, 303, saved.text.slice(0, 300));
    const after = t.daemon.services.hosts.get(host.id);
    assert.equal(after.capacity, 6);
    assert.deepEqual(after.params, { api_token: "s3cret" });
    const below = await s.request("POST", `/hosts/${host.id}/edit`, { _csrf: s.csrf, name: "m1", daemon_url: host.daemon_url, capacity: "x", log_level: "INFO", params });
    assert.equal(below.status, 400);
    assert.match(below.text, /capacity: expected an integer/);
  });

  it("disables fillup on a full host, clean and reset on an empty one, delete while it holds clusters", async () => {
    const full = await t.addMemoryHost({ name: "full", capacity: 2, ready: 2 });
    await t.addMemoryHost({ name: "empty", capacity: 2, ready: 0 });
    const s = await session(t);
    const html = (await s.request("GET", "/hosts")).text;
    assert.match(buttonFor(html, "Fill up full"), /disabled/);
    assert.doesNotMatch(buttonFor(html, "Clean full"), /disabled/);
    assert.match(buttonFor(html, "Delete full"), /disabled/);
    assert.doesNotMatch(buttonFor(html, "Fill up empty"), /disabled/);
    assert.match(buttonFor(html, "Clean empty"), /disabled/);
    assert.match(buttonFor(html, "Reset empty"), /disabled/);
    assert.doesNotMatch(buttonFor(html, "Delete empty"), /disabled/);
    // The rule holds on the server too, not only in the button.
    const del = await s.request("POST", `/hosts/${full.id}/delete`, { _csrf: s.csrf });
    assert.equal(del.status, 303);
    assert.ok(t.daemon.services.store.getHost(full.id), "a host holding clusters is not deleted");
    assert.match((await s.request("GET", "/hosts")).text, /still holds 2 clusters/);
  });

  it("says what a reset will destroy, who loses what, before it does it", async () => {
    const host = await t.addMemoryHost({ name: "m1", capacity: 3, ready: 3 });
    await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice");
    const s = await session(t);
    const confirm = await s.request("GET", `/hosts/${host.id}/reset`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, /destroys all <strong[^>]*>3<\/strong> clusters on m1/);
    assert.match(confirm.text, /1 of them is held by users \(alice\)/);
    assert.equal(t.daemon.services.store.listClusters({ host_id: host.id }).filter((c) => c.status !== "deleting").length, 3, "showing the confirmation changed nothing");
    const done = await s.request("POST", `/hosts/${host.id}/reset`, { _csrf: s.csrf });
    assert.equal(done.status, 303);
    const flash = await s.request("GET", "/hosts");
    assert.match(flash.text, /Reset of m1: 3 clusters deleted/);
  });

  it("releases and deletes clusters, and lists who held what for how long", async () => {
    await t.addMemoryHost({ name: "m1", capacity: 3, ready: 3 });
    const applied = await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice");
    const id = applied.body.data.id as string;
    const s = await session(t);
    const inUse = await s.request("GET", "/clusters?view=in-use");
    assert.match(inUse.text, new RegExp(`data-cluster="${id}"`));
    assert.match(inUse.text, /alice/);
    const rel = await s.request("POST", `/clusters/${id}/release`, { _csrf: s.csrf, back: "/clusters?view=in-use" });
    assert.equal(rel.status, 303);
    assert.equal(rel.location, "/clusters?view=in-use");
    assert.equal(t.daemon.services.store.getCluster(id)?.user_id ?? "", "");
    const released = await s.request("GET", "/clusters?view=released&since=today");
    assert.match(released.text, /<td data-label="User">alice<\/td>/);
    const again = await s.request("POST", `/clusters/${id}/release`, { _csrf: s.csrf, back: "https://evil.test/" });
    assert.equal(again.location, "/", "back goes nowhere but this console");
  });

  it("deletes a cluster only after saying what that destroys: its nodes and ledger, and its user's hold", async () => {
    await t.addMemoryHost({ name: "m1", capacity: 3, ready: 3 });
    const applied = await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice");
    const { id, name } = applied.body.data as { id: string; name: string };
    const s = await session(t);
    const list = await s.request("GET", "/clusters?view=in-use");
    assert.match(list.text, new RegExp(`<form method="get" action="/clusters/${id}/delete">`), "the list's Delete asks first");
    assert.doesNotMatch(list.text, new RegExp(`<form method="post" action="/clusters/${id}/delete">`));
    const confirm = await s.request("GET", `/clusters/${id}/delete?back=${encodeURIComponent("/clusters?view=in-use")}`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, new RegExp(`Delete cluster ${name}\\?`));
    assert.match(confirm.text, /data-testid="destroy-count">4</);
    assert.match(confirm.text, /alice holds it \(applied .* ago\) and loses it at once/);
    assert.match(confirm.text, /<a class="button" href="\/clusters\?view=in-use">Cancel<\/a>/);
    assert.ok(t.daemon.services.store.getCluster(id), "asking changes nothing");
    const del = await s.request("POST", `/clusters/${id}/delete`, { _csrf: s.csrf, back: "/clusters?view=in-use" });
    assert.equal(del.status, 303);
    const after = t.daemon.services.store.getCluster(id);
    assert.ok(after === undefined || after.status === "deleting", "deleted, or on its way out");
    const again = await s.request("GET", `/clusters/${id}/delete`);
    assert.equal(again.status, after ? 303 : 404, "and not offered again");
  });

  it("answers an unknown cluster or host with a page naming it, not a stack", async () => {
    const s = await session(t);
    const res = await s.request("GET", "/clusters/nope");
    assert.equal(res.status, 404);
    assert.match(res.text, /cluster nope not found/);
    assert.equal((await s.request("GET", "/hosts/nope/edit")).status, 404);
  });

  it("shows events, and only warnings with the switch on", async () => {
    const host = await t.addMemoryHost({ name: "m1", capacity: 2, ready: 1 });
    // Its driver stops answering: the checks past host_failures make it inactive, a warning.
    t.memory.get(host.id)!.setReachable(false);
    for (let i = 0; i < t.config.scheduler.host_failures; i++) await t.daemon.services.watchdog.checkHosts();
    assert.equal(t.daemon.services.store.getHost(host.id)!.status, "inactive");
    const s = await session(t);
    const all = await s.request("GET", "/events");
    assert.match(all.text, /data-event-kind="host.added"/);
    const warnings = await s.request("GET", "/events?warnings=1");
    assert.doesNotMatch(warnings.text, /data-event-kind="host.added"/);
    assert.doesNotMatch(warnings.text, /level-info/);
    assert.match(warnings.text, /data-event-kind="host.inactive"/);
  });
});

describe("console overview chart", () => {
  it("shows the pool size the scheduler noted once a minute, no tab open then, and the current minute live", async () => {
    // The console's clock two minutes ahead: the minute noted now is in the chart's past.
    const t = createTestDaemon({}, {}, { consoleClock: () => Date.now() + 120_000 });
    try {
      await t.addMemoryHost({ name: "m1", capacity: 3, ready: 3 });
      await t.daemon.scheduler.runNow("pool-sample");
      await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice");
      const html = await (await t.daemon.app.request("/", { headers: { "x-console-fragment": "main" } })).text();
      const series = JSON.parse(/id="pool-chart"[^>]*data-series="([^"]*)"/.exec(html)![1]!.replaceAll("&quot;", '"'));
      assert.equal(series.free.at(-1), 2, "now: one of three applied");
      assert.equal(series.free.at(-2), 3, "a minute ago: the note, carried");
      assert.equal(series.applies.reduce((a: number, b: number) => a + b, 0), 1, "the apply, in the minute it was made");
    } finally {
      await t.close();
    }
  });
});

describe("console live feed", () => {
  it("ten open tabs are one subscriber of the daemon's feed, and each hears of an apply", async () => {
    const t = createTestDaemon();
    const server = await listen(t.daemon.app);
    const feed = t.daemon.services.events;
    const before = feed.subscriberCount;
    const tabs = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await fetch(`${server.url}/console/live`, { headers: { accept: "text/event-stream" } });
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type")!, /text\/event-stream/);
        const reader = res.body!.getReader();
        let text = "";
        return {
          text: () => text,
          async readUntil(pattern: RegExp) {
            const decoder = new TextDecoder();
            while (!pattern.test(text)) {
              const { value, done } = await reader.read();
              if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
              text += decoder.decode(value);
            }
          },
          close: () => reader.cancel(),
        };
      }),
    );
    try {
      await Promise.all(tabs.map((tab) => tab.readUntil(/event: hello/)));
      assert.equal(feed.subscriberCount, before + 1, "ten tabs are one subscriber of the feed: the console's hub");
      await t.addMemoryHost({ name: "m1", capacity: 2, ready: 2 });
      await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice");
      await Promise.all(tabs.map((tab) => tab.readUntil(/event: change\ndata: \{"changes":\d+\}/)));
      await Promise.all(tabs.map((tab) => tab.close()));
      await waitFor("the tabs' streams to end on the daemon", () => feed.subscriberCount === before, 10_000);
    } finally {
      await Promise.all(tabs.map((tab) => tab.close()));
      await server.close();
      await t.close();
    }
  });

  it("tabs on the overview get it in each message, showing the change it announced, as a refetch would", async () => {
    const t = createTestDaemon();
    const server = await listen(t.daemon.app);
    await t.addMemoryHost({ name: "m1", capacity: 4, ready: 4 });
    const tabs = await Promise.all(
      [0, 1].map(async () => {
        const res = await fetch(`${server.url}/console/live?view=overview`, { headers: { accept: "text/event-stream" } });
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        let text = "";
        return {
          reader,
          hello: () => text.includes("event: hello"),
          /** The data of each change message heard so far. */
          messages: () => [...text.matchAll(/event: change\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!)),
          async readUntil(pattern: () => boolean) {
            while (!pattern()) {
              const { value, done } = await reader.read();
              if (done) throw new Error(`stream ended: ${text}`);
              text += decoder.decode(value);
            }
          },
        };
      }),
    );
    const inUseTile = (html: string) => Number(/data-testid="tile-inUse"><span class="tile-n">(\d+)</.exec(html)![1]);
    try {
      for (const tab of tabs) await tab.readUntil(tab.hello);
      for (let n = 1; n <= 3; n++) {
        const seen = tabs.map((tab) => tab.messages().length);
        await t.call("GET", `/v2/cluster_op?action=apply&user_id=user${n}`);
        for (const [i, tab] of tabs.entries()) await tab.readUntil(() => tab.messages().length > seen[i]!);
        const fetched = await (await fetch(`${server.url}/`, { headers: { "x-console-fragment": "main" } })).text();
        assert.equal(inUseTile(fetched), n);
        for (const tab of tabs) {
          const { main } = tab.messages().at(-1)!.view;
          assert.match(main, /^<h1>Overview<\/h1>/);
          assert.equal(inUseTile(main), n, "the message shows the apply it announced");
          const series = JSON.parse(/id="pool-chart"[^>]*data-series="([^"]*)"/.exec(main)![1]!.replaceAll("&quot;", '"'));
          assert.equal(series.t.length, 60, "the chart's hour rides along");
          assert.equal(series.free.at(-1), 4 - n);
        }
      }
    } finally {
      for (const tab of tabs) await tab.reader.cancel();
      await server.close();
      await t.close();
    }
  });

  it("the page's main part alone, for a live refresh", async () => {
    const t = createTestDaemon();
    try {
      const res = await t.daemon.app.request("/", { headers: { "x-console-fragment": "main" } });
      const html = await res.text();
      assert.match(html, /^<h1>Overview<\/h1>/);
      assert.doesNotMatch(html, /<html/);
    } finally {
      await t.close();
    }
  });
});

describe("console assets", () => {
  it("serves the embedded assets, built from the files they are made of (uPlot from node_modules)", async () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    execFileSync(process.execPath, ["--import", "tsx", "scripts/build-console.ts", "--check"], { cwd: root, stdio: "pipe" });
    const t = createTestDaemon();
    try {
      for (const name of ["console.js", "console.css", "uPlot.iife.min.js", "uPlot.min.css"]) {
        const res = await t.daemon.app.request(`/console/assets/${name}`);
        assert.equal(res.status, 200, name);
        assert.ok((await res.text()).length > 1000, `${name} has its content`);
      }
      assert.equal((await t.daemon.app.request("/console/assets/nope.js")).status, 404);
    } finally {
      await t.close();
    }
  });
});
