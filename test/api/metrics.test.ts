import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";
import { sample } from "../helpers/prometheus.ts";

const OPERATOR = "operator-key-0123456789";
const FRONT = "front-key-0123456789ab";
const METRICS = "metrics-key-0123456789";

describe("GET /metrics", () => {
  let t: TestDaemon;
  afterEach(async () => {
    await t.close();
  });
  const scrape = async (headers: Record<string, string> = {}) => {
    const res = await t.daemon.app.request("/metrics", { headers });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const noops = { state: "", host: "", consensus_plugin: "noops", consensus_mode: "", size: "4" };

  it("counts applies by result, releases, and the pool's clusters by state after known actions", async () => {
    t = createTestDaemon({ pool: { max_clusters_per_user: 1 } });
    const host = await t.addMemoryHost({ name: "m1", ready: 2, capacity: 4 });
    const before = await scrape();
    assert.equal(sample(before, "chainpool_applies_total", { result: "ok" }), 0);
    assert.equal(sample(before, "chainpool_clusters", { ...noops, state: "free", host: "m1" }), 2);

    const a = await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice");
    assert.equal(a.status, 200);
    assert.equal((await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice&allow_multiple=true")).status, 409); // user limit
    assert.equal((await t.call("GET", "/v2/cluster_op?action=apply&user_id=bob")).status, 200);
    assert.equal((await t.call("GET", "/v2/cluster_op?action=apply&user_id=carol")).status, 404); // none left
    assert.equal((await t.call("GET", "/v2/cluster_op?action=apply&user_id=%20carol")).status, 400);
    let text = await scrape();
    assert.equal(sample(text, "chainpool_applies_total", { result: "ok" }), 2);
    assert.equal(sample(text, "chainpool_applies_total", { result: "user_limit" }), 1);
    assert.equal(sample(text, "chainpool_applies_total", { result: "none_available" }), 1);
    assert.equal(sample(text, "chainpool_applies_total", { result: "bad_request" }), 1);
    assert.equal(sample(text, "chainpool_apply_duration_seconds_count", { result: "ok" }), 2);
    assert.equal(sample(text, "chainpool_apply_duration_seconds_bucket", { result: "ok", le: "+Inf" }), 2);
    assert.equal(sample(text, "chainpool_clusters", { ...noops, state: "in_use", host: "m1" }), 2);
    assert.equal(sample(text, "chainpool_clusters", { ...noops, state: "free", host: "m1" }), 0);

    assert.equal((await t.call("POST", "/v2/cluster_op", { action: "release", cluster_id: a.body.data.id })).status, 200);
    assert.equal((await t.call("POST", "/v2/cluster_op", { action: "release", cluster_id: "nope" })).status, 404);
    const free = await t.addMemoryHost({ name: "m1b", ready: 1 });
    const [unheld] = t.daemon.services.store.listClusters({ host_id: free.id });
    assert.equal((await t.call("POST", "/v2/cluster_op", { action: "release", cluster_id: unheld!.id })).status, 409);
    text = await scrape();
    assert.equal(sample(text, "chainpool_releases_total", { result: "ok" }), 1);
    assert.equal(sample(text, "chainpool_releases_total", { result: "not_held" }), 1);
    assert.equal(sample(text, "chainpool_releases_total", { result: "not_found" }), 1);

    await t.daemon.deps.reconciler.runOnce();
    text = await scrape();
    assert.equal(sample(text, "chainpool_reconciler_backlog"), 0);
    assert.equal(sample(text, "chainpool_cluster_recycle_duration_seconds_count", { host_type: "memory" }), 1);
    assert.equal(sample(text, "chainpool_cluster_create_duration_seconds_count", { host_type: "memory" }), 4);
    assert.equal(sample(text, "chainpool_clusters", { ...noops, state: "free", host: "m1" }), 1);
    assert.equal(sample(text, "chainpool_host_up", { host: "m1", type: "memory" }), 1);
    assert.equal(sample(text, "chainpool_hosts_up"), 2);
    assert.ok(sample(text, "chainpool_process_cpu_seconds_total") !== undefined, "process metrics carry the prefix");
    // Work written and not yet done: the reconciler's backlog.
    t.daemon.services.store.createCluster(host.id, { plugin: "noops", mode: "", size: 4 });
    t.daemon.services.store.createCluster(host.id, { plugin: "noops", mode: "", size: 4 });
    text = await scrape();
    assert.equal(sample(text, "chainpool_reconciler_backlog"), 2);
    assert.equal(sample(text, "chainpool_clusters", { ...noops, state: "creating", host: "m1" }), 2);
  });

  it("counts failed probes, hosts going down, and scheduler runs and failures", async () => {
    t = createTestDaemon({ scheduler: { health_failures: 1, host_failures: 1 } });
    const host = await t.addMemoryHost({ name: "m2", ready: 1 });
    const driver = t.memory.get(host.id)!;
    const [cluster] = t.daemon.services.store.listClusters();
    driver.breakCluster(cluster!.id);
    await t.daemon.scheduler.runNow("cluster-health");
    driver.setReachable(false);
    await t.daemon.scheduler.runNow("host-check");
    const text = await scrape();
    assert.equal(sample(text, "chainpool_health_check_failures_total", { host_type: "memory" }), 1);
    assert.equal(sample(text, "chainpool_host_up", { host: "m2", type: "memory" }), 0);
    assert.equal(sample(text, "chainpool_hosts_up"), 0);
    assert.equal(sample(text, "chainpool_scheduler_job_runs_total", { job: "cluster-health" }), 1);
    assert.equal(sample(text, "chainpool_scheduler_job_runs_total", { job: "host-check" }), 1);
    assert.equal(sample(text, "chainpool_scheduler_job_failures_total", { job: "host-check" }), undefined);
    assert.equal(sample(text, "chainpool_scheduler_job_duration_seconds_count", { job: "host-check" }), 1);
  });

  it("a job that throws is counted as a failed run", async () => {
    t = createTestDaemon();
    // The sweep job reads every host's driver: a host whose driver cannot be made fails it.
    t.daemon.services.store.insertHost({ name: "ghost", type: "docker", daemon_url: "unix:///nonexistent.sock", capacity: 1, autofill: false, schedulable: true, log_level: "INFO", params: {} });
    t.daemon.deps.drivers.get = () => {
      throw new Error("no driver for this host");
    };
    await t.daemon.scheduler.runNow("sweep");
    const text = await scrape();
    assert.equal(sample(text, "chainpool_scheduler_job_failures_total", { job: "sweep" }), 1);
    assert.equal(sample(text, "chainpool_scheduler_job_runs_total", { job: "sweep" }), 1);
  });

  it("opens to operator and metrics keys only; a metrics key opens nothing else", async () => {
    t = createTestDaemon({ api: { operator_keys: [OPERATOR], front_keys: [FRONT], metrics_keys: [METRICS] } });
    const status = async (path: string, key?: string) =>
      (await t.daemon.app.request(path, { headers: key ? { authorization: `Bearer ${key}` } : {} })).status;
    assert.equal(await status("/metrics"), 401);
    assert.equal(await status("/metrics", "not-a-key-at-all-0000"), 401);
    assert.equal(await status("/metrics", FRONT), 403);
    assert.equal(await status("/metrics", METRICS), 200);
    assert.equal(await status("/metrics", OPERATOR), 200);
    assert.equal(await status("/api/hosts", METRICS), 403);
    assert.equal(await status("/api/events?format=json", METRICS), 403);
    assert.equal(await status("/v2/clusters", METRICS), 403);
    const body = (await (await t.daemon.app.request("/api/hosts", { headers: { authorization: `Bearer ${METRICS}` } })).json()) as { error: string };
    assert.match(body.error, /^authorization: a metrics key opens GET \/metrics only/);
  });

  it("takes no query fields", async () => {
    t = createTestDaemon();
    const r = await t.call("GET", "/metrics?name=x");
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^name: unknown field/);
  });
});
