/**
 * The console in a real headless Chromium (Debian's, through playwright-core) against a real
 * daemon process with a local host whose clusters are real node processes: sign in, hosts
 * and counts, fillup, a /v2 apply made over plain HTTP showing up live, release, reset
 * behind its confirmation, sign out; every page passes axe-core's WCAG 2.1 A and AA rules at
 * both widths; and every request the page makes stays on the daemon's origin. Saves
 * screenshots at desktop and phone width in test/console/screenshots/.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { chromiumPath } from "../helpers/chromium.ts";
import { DaemonProcess, localPoolToml } from "../helpers/daemon-process.ts";
import { runExample02 } from "../helpers/example02.ts";

const OPERATOR = "console-operator-key-0123456789";
const FRONT = "console-front-key-0123456789ab";
const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const found = chromiumPath();
/** axe-core's browser build, run in the page through the DevTools protocol (the page's CSP allows no script but its own). */
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's WCAG 2.1 A and AA rules on the page as it is: one line per rule broken, with the elements that break it. */
async function audit(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const violations = (await page.evaluate(() =>
    (globalThis as any).axe.run((globalThis as any).document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }).then((r: any) =>
      r.violations.map((v: any) => `${v.id} (${v.impact}): ${v.nodes.map((n: any) => n.target.join(" ")).slice(0, 5).join(", ")}`),
    ),
  )) as string[];
  return violations;
}

describe("console in a real browser", { skip: "skip" in found ? found.skip : false }, () => {
  let d: DaemonProcess;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  let navigations = 0;

  before(async () => {
    d = await DaemonProcess.create(localPoolToml({ capacity: 2, size: 1, autofill: false, operatorKey: OPERATOR, frontKey: FRONT }));
    await d.start();
    browser = await chromium.launch({ executablePath: (found as { path: string }).path, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Every request the page makes, whatever starts it (documents, scripts, styles, fetch, SSE).
    context.on("request", (r) => requests.push(r.url()));
    page = await context.newPage();
    page.on("framenavigated", (f) => {
      if (f === page.mainFrame()) navigations++;
    });
    mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await d?.destroy();
  });

  const text = (selector: string) => page.locator(selector).first().innerText();
  const tile = (key: string) => page.locator(`[data-testid=tile-${key}] .tile-n`).innerText();
  /** Polls the page (no reload) until the tile shows `value`; answers how long that took. */
  async function tileBecomes(key: string, value: string, timeoutMs = 60_000): Promise<number> {
    const started = Date.now();
    // A function, not a string: the console's CSP forbids eval, and the page holds to it.
    // It runs in the page; this file is type-checked without the DOM's types, hence globalThis.
    await page.waitForFunction(
      ([k, v]) => (globalThis as any).document.querySelector(`[data-testid=tile-${k}] .tile-n`)?.textContent === v,
      [key, value] as const,
      { timeout: timeoutMs, polling: 50 },
    );
    return Date.now() - started;
  }
  const v2 = async (query: string) => {
    const res = await fetch(`${d.url}/v2/cluster_op?${query}`, { headers: { authorization: `Bearer ${FRONT}` } });
    const body = (await res.json()) as { code: number; data: { id: string; name: string; api_url: string } };
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.data;
  };

  it("signs in with an operator key; a front key is refused", async () => {
    await page.goto(`${d.url}/`);
    assert.match(page.url(), /\/sign-in\?next=%2F$/);
    await page.fill("#key", FRONT);
    await page.keyboard.press("Enter");
    await page.waitForSelector(".flash.error");
    assert.match(await text(".flash.error"), /front key/);
    await page.fill("#key", OPERATOR);
    await page.keyboard.press("Enter");
    await page.waitForSelector("h1:text('Overview')");
    // Keyboard first: the first Tab lands on the skip link.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent?.trim()), "Skip to content");
  });

  it("shows the hosts and their counts, and fills a host up", async () => {
    await page.getByRole("link", { name: "Hosts", exact: true }).click();
    const row = page.locator("tr[data-host=local]");
    assert.match(await row.innerText(), /local\s+local[\s\S]*0 \/ 2/);
    assert.equal(await page.getByRole("button", { name: "Delete local" }).isDisabled(), false);
    assert.equal(await page.getByRole("button", { name: "Reset local" }).isDisabled(), true, "nothing to reset on an empty host");
    await page.getByRole("button", { name: "Fill up local" }).click();
    await page.waitForSelector(".flash.ok");
    assert.match(await text(".flash.ok"), /Fill-up of local: 2 clusters being created/);
    assert.match(await row.innerText(), /2 \/ 2/);
    assert.equal(await page.getByRole("button", { name: "Fill up local" }).isDisabled(), true, "full now");
  });

  it("shows the clusters becoming free, then a /v2 apply made over plain HTTP, live without a reload", async (t) => {
    await page.getByRole("link", { name: "Overview", exact: true }).click();
    await page.waitForSelector("#live-status:text('Live')");
    const before = navigations;
    await tileBecomes("free", "2");
    const overviewFetches = () => requests.filter((u) => new URL(u).pathname === "/").length;
    const fetchedBefore = overviewFetches();
    const cluster = await v2("action=apply&user_id=alice");
    const ms = await tileBecomes("inUse", "1");
    t.diagnostic(`apply -> in-use tile shows 1 after ${ms} ms (the issue asks within 2,000 ms)`);
    assert.equal(navigations, before, "the page was never reloaded");
    assert.equal(overviewFetches(), fetchedBefore, "the fresh overview came in the live message: no refetch");
    assert.ok(requests.some((u) => u.endsWith("/console/live?view=overview")), "the overview follows its view on the feed");
    assert.equal(await tile("free"), "1");
    // The chart drew (uPlot, served by the daemon).
    await page.waitForSelector("#pool-chart .uplot");
    await page.screenshot({ path: `${SHOTS}overview-desktop.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${SHOTS}overview-phone.png`, fullPage: true });
    await page.getByRole("link", { name: "Hosts", exact: true }).click();
    await page.screenshot({ path: `${SHOTS}hosts-phone.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: `${SHOTS}hosts-desktop.png`, fullPage: true });
    // The cluster's own page reads its chain from its node through the daemon: alice's
    // transactions (example02 deployed and invoked through her api_url) are in its last blocks.
    const example = await runExample02(cluster.api_url);
    await page.goto(`${d.url}/clusters/${cluster.id}`);
    await page.waitForSelector("h2:text('Last blocks')");
    const main = await page.locator("main").innerText();
    assert.match(main, /alice/);
    assert.match(await page.locator("main table").first().innerText(), /vp0[\s\S]*\d+/);
    assert.ok(main.includes(example.txid.slice(0, 12)), `the invoke ${example.txid} is among the last blocks:\n${main}`);
    await page.screenshot({ path: `${SHOTS}cluster-desktop.png`, fullPage: true });
  });

  it("releases a cluster from the in-use list, and lists it as released", async () => {
    await page.getByRole("link", { name: "Clusters", exact: true }).click();
    await page.getByRole("link", { name: "In use", exact: true }).click();
    const release = page.locator("tr", { hasText: "alice" }).getByRole("button", { name: /^Release / });
    await release.click();
    await page.waitForSelector(".flash.ok");
    assert.match(await text(".flash.ok"), /released/);
    await page.getByRole("link", { name: "Released", exact: true }).click();
    assert.match(await page.locator("main table").innerText(), /alice/);
  });

  it("passes an axe audit (WCAG 2.1 A and AA: labels, contrast, roles, landmarks) on every page, at desktop and phone width", async () => {
    const [cluster] = (await d.call("GET", "/api/clusters?state=active", undefined, { authorization: `Bearer ${OPERATOR}` })).body.data as Array<{ id: string }>;
    assert.ok(cluster, "a cluster to show its own page");
    const pages = ["/", "/hosts", "/hosts/new", "/clusters?view=active", "/clusters?view=in-use", "/clusters?view=released", "/events", `/clusters/${cluster.id}`];
    const problems: string[] = [];
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      for (const path of pages) {
        await page.goto(`${d.url}${path}`);
        problems.push(...(await audit(page)).map((v) => `${path} at ${width} px: ${v}`));
      }
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    // The sign-in page, as a visitor without a session sees it.
    const visitor = await browser.newPage();
    await visitor.goto(`${d.url}/sign-in`);
    problems.push(...(await audit(visitor)).map((v) => `/sign-in: ${v}`));
    // The audit can fail: a button with no name planted in the page is found.
    await visitor.evaluate(() => (globalThis as any).document.querySelector("main").insertAdjacentHTML("beforeend", "<button></button>"));
    assert.match((await audit(visitor)).join("\n"), /^button-name \(critical\)/m);
    await visitor.close();
    assert.deepEqual(problems, []);
  });
  it("resets a host only after a confirmation that says what will be destroyed", async () => {
    await v2("action=apply&user_id=bob");
    await page.getByRole("link", { name: "Hosts", exact: true }).click();
    await page.getByRole("button", { name: "Reset local" }).click();
    const confirm = await page.locator(".confirm").innerText();
    assert.match(confirm, /Reset host local\?/);
    assert.match(confirm, /destroys all \d+ clusters? on local/);
    assert.match(confirm, /held by users \(bob\)/);
    await page.screenshot({ path: `${SHOTS}reset-confirm-desktop.png` });
    await page.getByRole("button", { name: "Reset local" }).click();
    await page.waitForSelector(".flash.ok");
    assert.match(await text(".flash.ok"), /Reset of local: \d+ clusters? deleted/);
  });

  it("signs out: the console asks for the key again", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForSelector("#key");
    await page.goto(`${d.url}/hosts`);
    assert.match(page.url(), /\/sign-in/);
  });

  it("made no request outside the daemon's origin", () => {
    const origin = new URL(d.url).origin;
    assert.ok(requests.length > 20, `the page made ${requests.length} requests`);
    const outside = requests.filter((u) => new URL(u).origin !== origin);
    assert.deepEqual(outside, []);
    for (const asset of ["/console/assets/uPlot.iife.min.js", "/console/assets/console.js", "/console/live"]) {
      assert.ok(requests.some((u) => new URL(u).pathname === asset), `${asset} was loaded from the daemon`);
    }
  });
});
