/**
 * SIGTERM while the daemon is busy: concurrent applies and releases over keep-alive
 * connections, recycles creating local clusters, and one request whose body is still on its
 * way when the signal comes. The daemon must answer every request it took, exit 0 within
 * its bound, and the next start must find exactly the state its answers promised.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { after, describe, it } from "node:test";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess, localPoolToml } from "../helpers/daemon-process.ts";

interface Outcome {
  id: string;
  action: "apply" | "release" | "list";
  user: string;
  status?: number;
  cluster?: string;
  error?: string;
}

const toml = localPoolToml({ capacity: 4, size: 1, autofill: true });

describe("SIGTERM during load", () => {
  let daemon: DaemonProcess;
  after(async () => daemon?.destroy());

  it("answers every request it took, exits 0, and loses no state", async () => {
    daemon = await DaemonProcess.create(toml);
    await daemon.start();
    const ready = async () => {
      const r = await daemon.call("GET", "/v2/clusters");
      const list = r.body.data as Array<{ id: string; status: string; health: string; user_id: string }>;
      return list.length === 4 && list.every((c) => c.status === "running" && c.health === "OK") ? list : undefined;
    };
    await waitFor("a full pool", ready, 30_000);

    const outcomes: Outcome[] = [];
    const send = async (action: Outcome["action"], user: string, body?: Record<string, unknown>): Promise<Outcome> => {
      const o: Outcome = { id: randomUUID(), action, user };
      outcomes.push(o);
      try {
        const res = await fetch(`${daemon.url}${body ? "/v2/cluster_op" : "/v2/clusters"}`, {
          method: body ? "POST" : "GET",
          headers: { "x-request-id": o.id, ...(body && { "content-type": "application/json" }) },
          ...(body && { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(30_000),
        });
        const envelope = (await res.json()) as { code: number; data: { id?: string } };
        assert.equal(envelope.code, res.status, "a whole envelope came back");
        o.status = res.status;
        if (action === "apply" && res.status === 200) o.cluster = envelope.data.id!;
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        o.error = cause?.code ?? (err as Error).message;
      }
      return o;
    };

    let stopped = false;
    const worker = async (w: number) => {
      for (let n = 0; !stopped; n++) {
        const user = `w${w}-u${n}`;
        const applied = await send("apply", user, { action: "apply", user_id: user });
        if (applied.error === "ECONNREFUSED") break;
        if (applied.cluster) await send("release", user, { action: "release", cluster_id: applied.cluster });
        await send("list", user);
      }
    };

    // One apply whose body arrives after the signal: it is in flight, and must be answered.
    const slowUser = "slow-user";
    const slowId = randomUUID();
    let finishSlowBody = () => {};
    const slow = new Promise<{ status: number; body: string }>((done, fail) => {
      const req = request(`${daemon.url}/v2/cluster_op`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": slowId } }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d));
        res.on("end", () => done({ status: res.statusCode!, body }));
        res.on("error", fail);
      });
      req.on("error", fail);
      req.flushHeaders();
      finishSlowBody = () => req.end(JSON.stringify({ action: "apply", user_id: slowUser }));
    });

    // Load by count, not by time, so that a busy machine still gets a real load.
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    await waitFor(
      "the load to get going",
      () => outcomes.filter((o) => o.status !== undefined).length >= 60 && outcomes.filter((o) => o.action === "release" && o.status === 200).length >= 3,
      60_000,
    );
    const exit = daemon.kill("SIGTERM");
    const signalled = Date.now();
    setTimeout(() => finishSlowBody(), 300);
    const code = await exit;
    const stopMs = Date.now() - signalled;
    stopped = true;
    await Promise.all(workers);
    const slowReply = await slow;

    assert.equal(code, 0, daemon.log().slice(-3000));
    assert.ok(stopMs < 20_000, `stopped in ${stopMs} ms`);
    // Answered in full: a cluster, or (all held at that moment) Cello's 404 envelope.
    const slowEnvelope = JSON.parse(slowReply.body) as { code: number; data: { id?: string } };
    assert.ok([200, 404].includes(slowReply.status) && slowEnvelope.code === slowReply.status, `the request in flight was finished: ${slowReply.body}`);
    const slowCluster = slowEnvelope.data.id;

    // No request the daemon took was cut off: every request line it logged reached the client.
    const logged = new Set(
      daemon
        .log()
        .split("\n")
        .filter((l) => l.includes('"msg":"request"'))
        .map((l) => (JSON.parse(l) as { request_id: string }).request_id),
    );
    assert.ok(logged.has(slowId));
    const answered = outcomes.filter((o) => o.status !== undefined);
    const failed = outcomes.filter((o) => o.error !== undefined);
    assert.ok(answered.length > 40, `load ran: ${answered.length} answered`);
    assert.ok(answered.some((o) => o.action === "release"), "releases ran, so recycles were under way");
    for (const o of failed) assert.ok(!logged.has(o.id), `request ${o.id} (${o.action}) was handled but its answer was lost: ${o.error}`);
    assert.deepEqual([...new Set(failed.map((o) => o.error))].filter((e) => e !== "ECONNREFUSED" && e !== "ECONNRESET" && e !== "UND_ERR_SOCKET"), []);

    // The next start finds what the answers said.
    await daemon.start();
    const holders = async (user: string) => ((await daemon.call("GET", `/v2/clusters?user_id=${user}`)).body.data as Array<{ id: string }>).map((c) => c.id);
    assert.deepEqual(await holders(slowUser), slowCluster ? [slowCluster] : []);
    const releasedOk = new Set(outcomes.filter((o) => o.action === "release" && o.status === 200).map((o) => o.user));
    for (const o of outcomes.filter((x) => x.action === "apply")) {
      const held = await holders(o.user);
      if (o.cluster && !releasedOk.has(o.user) && !outcomes.some((x) => x.action === "release" && x.user === o.user && x.error)) {
        assert.deepEqual(held, [o.cluster], `${o.user} was told it holds ${o.cluster}`);
      } else if (!o.cluster || releasedOk.has(o.user)) {
        assert.deepEqual(held, [], `${o.user} holds nothing it was told of`);
      }
    }
    // Recycles cut short by the signal were left as intent and finished now: the pool is whole.
    await waitFor(
      "the pool to be whole again",
      async () => {
        const list = ((await daemon.call("GET", "/v2/clusters")).body.data as Array<{ status: string; health: string }>);
        return list.length === 4 && list.every((c) => c.status === "running" && c.health === "OK");
      },
      30_000,
    );
    assert.equal((await daemon.kill("SIGTERM")), 0);
  });
});
