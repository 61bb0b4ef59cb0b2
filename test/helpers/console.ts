import assert from "node:assert/strict";

/**
 * The console answers at `url` with its server-rendered (hono/jsx) pages and its embedded
 * assets, uPlot included: what the single executable and Deno must serve with no files beside them.
 */
export async function assertConsoleServes(url: string): Promise<void> {
  const home = await fetch(`${url}/`, { redirect: "manual", headers: { accept: "text/html" } });
  if (home.status === 303) {
    assert.match(home.headers.get("location") ?? "", /^\/sign-in/);
    const signIn = await fetch(`${url}/sign-in`);
    assert.equal(signIn.status, 200);
    assert.match(await signIn.text(), /name="key"/);
  } else {
    assert.equal(home.status, 200);
    const html = await home.text();
    assert.match(html, /<h1>Overview<\/h1>/);
    assert.match(html, /\/console\/assets\/uPlot\.iife\.min\.js/);
  }
  for (const [asset, marker] of [["uPlot.iife.min.js", "uPlot"], ["console.js", "EventSource"], ["console.css", ":root"]] as const) {
    const res = await fetch(`${url}/console/assets/${asset}`);
    assert.equal(res.status, 200, asset);
    assert.ok((await res.text()).includes(marker), `${asset} holds its content`);
  }
}
