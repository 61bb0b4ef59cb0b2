/**
 * Anyone who reaches a local node's port cannot fill the disk through it: hostile requests
 * to the /peer routes (and to the client routes) are refused without their payload being
 * echoed into the reply or node.log, and node.log is rotated at its size cap. Real daemon,
 * real node processes, real node.log files written where the local driver puts them.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess, localHostToml } from "../helpers/daemon-process.ts";

const MiB = 1024 * 1024;
/** A reply or log line that carries more than this much of a payload echoes it. */
const ECHO = 1024;

interface Target {
  /** vp0's api_url: its client routes, under the cluster's URL secret. */
  url: string;
  /** vp0's address: its node-to-node routes (/peer/*), outside the secret. */
  node: string;
  clusterId: string;
  logFile: string;
}

async function firstFreeNode(d: DaemonProcess): Promise<Target> {
  const cluster = await waitFor(
    "a free cluster",
    async () => ((await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as { id: string; api_url: string }[] | undefined)?.[0],
    60_000,
  );
  return { url: cluster.api_url, node: new URL(cluster.api_url).origin, clusterId: cluster.id, logFile: join(d.clustersRoot, cluster.id, "vp0", "node.log") };
}

async function post(url: string, body: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(30_000) });
  return { status: response.status, text: await response.text() };
}

/** fetch sends no body with a GET; node:http does. */
function getWithBody(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: "GET", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

function size(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** The longest run of `char` in `text`. */
function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

describe("hostile requests to a local node", () => {
  let d: DaemonProcess;
  let target: Target;
  before(async () => {
    // pbft, so that both /peer/message and /peer/frame are served.
    d = await DaemonProcess.create(localHostToml(1, { tables: `[pool]\ntypes = [{ plugin = "pbft", mode = "classic", size = 4 }]` }));
    await d.start();
    target = await firstFreeNode(d);
    await waitFor("vp0 to write its log", () => size(target.logFile) > 0);
  });
  after(async () => d?.destroy());

  it("4 MiB senders, frames and chaincode calls are refused without echoing them into the reply or node.log", { timeout: 120_000 }, async () => {
    const logBefore = size(target.logFile);
    const rejectedBefore = (await getJson(`${target.url}/status`)).body.rejected_messages;
    const huge = "A".repeat(4 * MiB);
    const replies = [
      ...(await Promise.all(
        [1, 2, 3].map(() =>
          post(`${target.node}/peer/message`, JSON.stringify({ message: { cluster_id: target.clusterId, from: huge, to: "vp0", kind: "blocks", body: {} }, signature: "x" })),
        ),
      )),
      await post(`${target.node}/peer/message`, JSON.stringify({ message: { cluster_id: target.clusterId, from: "vp1", to: huge, kind: "blocks", body: {} }, signature: "x" })),
      await post(`${target.node}/peer/frame`, `${huge}\nvp0\n1\n1\nmac\n[]`),
      await post(`${target.node}/peer/frame`, `vp1\n${huge}\n1\n1\nmac\n[]`),
      await post(`${target.url}/chaincode`, JSON.stringify({ jsonrpc: "2.0", method: huge.slice(0, MiB - 100), params: {}, id: 1 })),
      await getWithBody(`${target.node}/peer/blocks?from=0`, huge.slice(0, 64 * 1024)),
    ];
    const grown = size(target.logFile) - logBefore;
    assert.ok(grown < 16 * 1024, `node.log grew by ${grown} bytes for ${replies.length} refused requests`);
    assert.ok(longestRun(readFileSync(target.logFile, "utf8"), "A") < ECHO, "node.log holds no long run of the payload");
    for (const [i, reply] of replies.entries()) {
      assert.ok(reply.status >= 400 && reply.status < 500, `request ${i} refused with a 4xx (got ${reply.status}: ${reply.text.slice(0, 200)})`);
      assert.ok(reply.text.length < ECHO, `reply ${i} is short (${reply.text.length} characters)`);
      assert.doesNotThrow(() => JSON.parse(reply.text), `reply ${i} is JSON`);
    }
    const rejected = (await getJson(`${target.url}/status`)).body.rejected_messages;
    assert.equal(rejected.non_member - rejectedBefore.non_member, 4, "3 messages and 1 frame from no member, counted");
    assert.equal(rejected.misdirected - rejectedBefore.misdirected, 2, "1 message and 1 frame for no one here, counted");
    assert.equal((await getJson(`${target.url}/chain`)).status, 200, "the node still serves");
  });
});

describe("node.log's size cap", () => {
  const cap = 64 * 1024;
  let d: DaemonProcess;
  let target: Target;
  before(async () => {
    d = await DaemonProcess.create(localHostToml(1, { tables: `[local]\nnode_log_max_bytes = ${cap}` }));
    await d.start();
    target = await firstFreeNode(d);
    await waitFor("vp0 to write its log", () => size(target.logFile) > 0);
  });
  after(async () => d?.destroy());

  it("rotates node.log to node.log.1 at local.node_log_max_bytes, so the two never hold more than twice the cap", { timeout: 120_000 }, async () => {
    const rotated = `${target.logFile}.1`;
    // Each refused message logs one line of a few hundred bytes.
    const message = JSON.stringify({ message: { cluster_id: target.clusterId, from: "B".repeat(2_000), to: "vp0", kind: "blocks", body: {} }, signature: "x" });
    let sent = 0;
    await waitFor(
      "node.log to be rotated twice over",
      async () => {
        for (let i = 0; i < 50; i++) assert.equal((await post(`${target.node}/peer/message`, message)).status, 403);
        sent += 50;
        // Past 3 caps of lines, node.log.1 was replaced at least once.
        return existsSync(rotated) && sent * 150 > 3 * cap;
      },
      90_000,
    );
    assert.ok(size(target.logFile) <= cap, `node.log is ${size(target.logFile)} bytes, cap ${cap}`);
    assert.ok(size(rotated) <= cap, `node.log.1 is ${size(rotated)} bytes, cap ${cap}`);
    assert.ok(size(rotated) > cap / 2, "node.log.1 holds a full file's worth of lines");
    for (const file of [target.logFile, rotated]) {
      for (const line of readFileSync(file, "utf8").trimEnd().split("\n")) assert.doesNotThrow(() => JSON.parse(line), `${file}: whole JSON lines`);
    }
    const refused = (await getJson(`${target.url}/status`)).body.rejected_messages.non_member as number;
    assert.ok(refused >= sent, `every message was counted (${refused} of ${sent})`);
    assert.equal((await getJson(`${target.url}/chain`)).status, 200, "the node still serves");
  });
});
