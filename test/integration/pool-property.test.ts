/**
 * A property test of the pool against a real daemon and real node processes: several clients
 * apply, write to their clusters, release, start, stop, restart and delete in random order
 * and random overlaps. Whatever the interleaving:
 * - a cluster is handed out only with an empty ledger (never another user's state);
 * - every 5xx is a failure; 409/404 are the answers a race may rightly get;
 * - once everyone has released and the work settles, the pool is full again with clusters
 *   that are all new (no id ever handed out survives a release), empty, running and healthy,
 *   and nothing is left in a transitional state or running for an old cluster.
 * The seed is printed with any failure; PROPERTY_SEED=N replays one.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getJson, postJson, sleep, waitFor } from "../chain/helpers/chain-cluster.ts";
import { seededRandom } from "../chain/helpers/pbft-sim.ts";
import { DaemonProcess, localPoolToml } from "../helpers/daemon-process.ts";

const CAPACITY = 3;
const CLIENTS = 4;
const STEPS = 12;

const MAP = { type: 1, chaincodeID: { path: "github.com/hyperledger/fabric/examples/chaincode/go/map" } };
const rpc = (method: string, fn: string, args: string[]) => ({ jsonrpc: "2.0", method, params: { ...MAP, ctorMsg: { function: fn, args } }, id: 1 });

describe("the pool under random interleavings of every front and operator verb", () => {
  let d: DaemonProcess;
  const seed = Number(process.env["PROPERTY_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
  const ctx = `(PROPERTY_SEED=${seed})`;
  before(async () => {
    d = await DaemonProcess.create(localPoolToml({ capacity: CAPACITY, size: 2, autofill: true }));
    await d.start();
  });
  after(async () => d.destroy());

  it("never hands out another user's state, and always settles to a full pool of fresh clusters", { timeout: 300_000 }, async (t) => {
    const stat = async () => (await d.call("GET", "/api/stat")).body.data;
    await waitFor("the pool full", async () => (await stat()).clusters.free === CAPACITY, 60_000);

    const handedOut = new Set<string>();
    const violations: string[] = [];
    const tally = new Map<string, number>();
    /** Every answer a race may give; a 5xx or anything else is a violation. */
    const expect = (what: string, r: { status: number; body: any }, allowed: number[]) => {
      const key = `${what.split(" ")[0]} ${r.status}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      if (!allowed.includes(r.status)) violations.push(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
      return r;
    };

    const client = async (n: number) => {
      const random = seededRandom(seed + n);
      const user = `user${n}`;
      const held = new Map<string, string>(); // id -> api_url
      const pick = () => [...held.keys()][Math.floor(random() * held.size)];
      const op = (action: string, id: string) => d.call("POST", "/v2/cluster_op", { action, cluster_id: id }).then((r) => expect(`${action} ${id}`, r, [200, 404, 409, 503]));
      const release = (id: string) =>
        d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: id }).then((r) => {
          expect(`release ${id}`, r, [200, 404, 409]);
          held.delete(id);
        });
      const remove = (id: string) =>
        d.call("DELETE", "/api/cluster", { id }).then((r) => {
          expect(`delete ${id}`, r, [200, 404]);
          held.delete(id);
        });
      for (let step = 0; step < STEPS; step++) {
        const roll = random();
        const id = pick();
        if (id === undefined || roll < 0.3) {
          const allow_multiple = held.size < 2 && random() < 0.5;
          const apply = async () => expect(`apply ${user}`, await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: user, allow_multiple }), [200, 404]);
          // A client holding nothing waits for the pool to give it something (others release);
          // one that holds clusters takes a "none free" and goes on.
          const r = held.size > 0 ? await apply() : await waitFor(`a cluster for ${user}`, async () => ((r) => r.status === 200 && r)(await apply()), 120_000);
          if (r.status !== 200 || held.has(r.body.data.id)) continue;
          const got = r.body.data as { id: string; api_url: string };
          handedOut.add(got.id);
          held.set(got.id, got.api_url);
          const height = (await getJson(`${got.api_url}/chain`)).body.height;
          if (height !== 1) violations.push(`${user} got ${got.id} with a ledger of height ${height}`);
          const deploy = await postJson(`${got.api_url}/chaincode`, rpc("deploy", "init", [])).catch(() => undefined);
          if (deploy?.body.result?.status === "OK") await postJson(`${got.api_url}/chaincode`, rpc("invoke", "put", ["owner", user])).catch(() => undefined);
        } else if (roll < 0.45) {
          await release(id);
        } else if (roll < 0.6) {
          await op((["start", "stop", "restart"] as const)[Math.floor(random() * 3)]!, id);
        } else if (roll < 0.75) {
          // A release racing an operation on the same cluster, a random moment apart.
          const action = random() < 0.5 ? "restart" : "stop";
          await Promise.all([op(action, id), sleep(Math.floor(random() * 300)).then(() => release(id))]);
        } else if (roll < 0.85) {
          await Promise.all([op("restart", id), sleep(Math.floor(random() * 300)).then(() => remove(id))]);
        } else {
          await remove(id);
        }
      }
      expect(`release ${user}`, await d.call("POST", "/v2/cluster_op", { action: "release", user_id: user }), [200]);
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    t.diagnostic(`${ctx} answers: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);
    assert.deepEqual(violations, [], ctx);
    assert.ok(handedOut.size > 0, `some clusters were handed out ${ctx}`);

    const settled = await waitFor(
      "the pool to settle full, running and healthy",
      async () => {
        const clusters = (await d.call("GET", "/v2/clusters")).body.data as any[];
        const ok = clusters.length === CAPACITY && clusters.every((c) => c.user_id === "" && c.status === "running" && c.health === "OK");
        return ok && (await stat()).clusters.free === CAPACITY && clusters;
      },
      120_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message} ${ctx}: ${JSON.stringify((await d.call("GET", "/v2/clusters")).body.data.map((c: any) => [c.id, c.status, c.health, c.user_id]))}`);
    });
    for (const c of settled) {
      assert.ok(!handedOut.has(c.id), `${c.id} was handed out and is back in the pool under its old id ${ctx}`);
      assert.equal((await getJson(`${c.api_url}/chain`)).body.height, 1, `${c.id}'s ledger is empty ${ctx}`);
    }
    await waitFor("only the settled clusters' nodes run", () => {
      const ids = new Set(d.nodeProcesses().map((p) => p.clusterId));
      return ids.size === CAPACITY && settled.every((c) => ids.has(c.id));
    }, 30_000);
  });
});
