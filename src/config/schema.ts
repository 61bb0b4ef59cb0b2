import * as v from "valibot";
import { CONSENSUS_MODES, CONSENSUS_PLUGINS, MAX_PACKAGE_BYTES_CEILING, NODE_LOG_DEFAULT_BYTES, NODE_LOG_MIN_BYTES } from "../lib/node-config.ts";
import { hostSpecProblems } from "../core/host-params.ts";
import { describeValue, isPlainObject } from "../core/values.ts";
import { HOST_LOG_LEVELS, type HostType } from "../core/types.ts";
import { subnetPool } from "../lib/subnets.ts";

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const seconds = v.pipe(v.number(), v.minValue(0.05));
const port = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535));

export const ConsensusTypeSchema = v.pipe(
  v.strictObject({
    plugin: v.picklist(CONSENSUS_PLUGINS),
    mode: v.optional(v.picklist(CONSENSUS_MODES), ""),
    size: v.optional(v.pipe(positiveInt, v.maxValue(64)), 4),
  }),
  // The same rules the operator API applies to one cluster, so autofill never makes a type that cannot run.
  v.forward(v.check((t) => t.plugin !== "noops" || t.mode === "", "noops takes no mode"), ["mode"]),
  v.forward(v.check((t) => t.plugin !== "pbft" || t.mode !== "", "pbft needs classic or batch"), ["mode"]),
  v.forward(v.check((t) => t.plugin !== "pbft" || t.size >= 4, "pbft needs at least 4 nodes"), ["size"]),
);

/**
 * A host's daemon_url and params under the same rules the operator API applies
 * (core/host-params.ts), each wrong key its own issue so that check-config names every one.
 */
const daemonUrlIssues = (type: HostType) =>
  v.rawCheck<string>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const problem of hostSpecProblems({ type, daemon_url: dataset.value })) addIssue({ message: problem.message });
  });

const paramsIssues = (type: HostType) =>
  v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const params = dataset.value;
    for (const problem of hostSpecProblems({ type, params })) {
      const key = String(problem.path[1]);
      addIssue({ message: problem.message, path: [{ type: "object", origin: "value", input: params, key, value: params[key] }] });
    }
  });

const hostSeed = <const T extends HostType>(type: T) =>
  v.strictObject({
    name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "a host name is 1-63 letters, digits, '_', '.', '-'")),
    type: v.literal(type),
    daemon_url: v.optional(v.pipe(v.string(), daemonUrlIssues(type)), ""),
    capacity: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 4),
    autofill: v.optional(v.boolean(), true),
    schedulable: v.optional(v.boolean(), true),
    log_level: v.optional(v.picklist(HOST_LOG_LEVELS, (i) => `expected one of ${HOST_LOG_LEVELS.join(", ")}, got ${describeValue(i.input)}`), "INFO"),
    params: v.optional(
      v.pipe(
        v.custom<Record<string, unknown>>(isPlainObject, (issue) => `expected an object, got ${describeValue(issue.input)}`),
        paramsIssues(type),
        // A plain copy: TOML tables come with a null prototype.
        v.transform((params) => ({ ...params })),
      ),
      {},
    ),
  });

/** A `[[hosts]]` entry; its type decides which daemon_url and params it takes. */
export const HostSeedSchema = v.variant("type", [hostSeed("local"), hostSeed("docker"), hostSeed("swarm"), hostSeed("memory")]);

const ConsensusTuning = v.strictObject({
  batch_size: v.optional(positiveInt, 500),
  batch_timeout_ms: v.optional(v.pipe(v.number(), v.minValue(0)), 10),
});

/** The whole configuration; every key has a default, so an empty file is a valid config. */
export const ConfigSchema = v.strictObject({
  /** HOST:PORT the API listens on. */
  listen: v.optional(v.pipe(v.string(), v.regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, "listen must be HOST:PORT")), "127.0.0.1:8080"),
  /** Directory for the SQLite file and local clusters' node data. */
  data_dir: v.optional(v.string(), "./data"),
  log_level: v.optional(v.picklist(["debug", "info", "warn", "error"]), "info"),
  /** Force JSON log lines (default: JSON unless stdout is a terminal). */
  log_json: v.optional(v.boolean()),
  /** SQLite driver: auto picks node:sqlite in the single executable and under Deno; on Node, better-sqlite3, falling back to node:sqlite. */
  sqlite_driver: v.optional(v.picklist(["auto", "better-sqlite3", "node:sqlite"]), "auto"),
  api: v.optional(
    v.strictObject({
      front_keys: v.optional(v.array(v.pipe(v.string(), v.minLength(16, "an API key has at least 16 characters"))), []),
      operator_keys: v.optional(v.array(v.pipe(v.string(), v.minLength(16, "an API key has at least 16 characters"))), []),
      max_body_bytes: v.optional(positiveInt, 64 * 1024),
      /** Applies per second each API key may make (a burst of one second's worth); 0, the default, means no limit. */
      apply_rate_per_key: v.optional(v.pipe(v.number(), v.minValue(0)), 0),
      /** Whether /v2 answers show each cluster's host daemon_url (and worker_api), as Cello's did; false answers them as "". */
      show_daemon_url: v.optional(v.boolean(), true),
      /** Bearer keys that open GET /metrics only (a scraper's); operator keys open it too. */
      metrics_keys: v.optional(v.array(v.pipe(v.string(), v.minLength(16, "an API key has at least 16 characters"))), []),
    }),
    {},
  ),
  /** The event log (GET /api/events, the console): its bounds. */
  events: v.optional(
    v.strictObject({
      /** Most events kept. */
      keep: v.optional(v.pipe(positiveInt, v.minValue(100, "events.keep must be at least 100")), 10_000),
      /** Events older than this many days are dropped. */
      keep_days: v.optional(v.pipe(v.number(), v.minValue(0.01)), 7),
    }),
    {},
  ),
  scheduler: v.optional(
    v.strictObject({
      host_check_s: v.optional(seconds, 15),
      health_check_s: v.optional(seconds, 5),
      autofill_s: v.optional(seconds, 5),
      reconcile_s: v.optional(seconds, 2),
      sweep_s: v.optional(seconds, 60),
      sweep_grace_s: v.optional(v.pipe(v.number(), v.minValue(0)), 120),
      host_failures: v.optional(positiveInt, 3),
      health_failures: v.optional(positiveInt, 2),
      max_parallel_ops: v.optional(positiveInt, 4),
      ready_timeout_s: v.optional(seconds, 30),
    }),
    {},
  ),
  console: v.optional(
    v.strictObject({
      /** Whether the daemon serves the operator console at `/`. */
      enabled: v.optional(v.boolean(), true),
      /** A console session unused this long is signed out. */
      session_idle_s: v.optional(seconds, 1800),
      /** A console session ends this long after sign-in, however busy. */
      session_max_s: v.optional(seconds, 43_200),
    }),
    {},
  ),
  pool: v.optional(
    v.strictObject({
      types: v.optional(v.pipe(v.array(ConsensusTypeSchema), v.minLength(1)), [{ plugin: "noops", mode: "", size: 4 }]),
      /** Most clusters one user may hold at once; 0 (the default, as in Cello) means no limit. */
      max_clusters_per_user: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 0),
      /** Whether each cluster gets a random secret path prefix in its URLs that its nodes require; off for trusted single-user setups. */
      url_secrets: v.optional(v.boolean(), true),
    }),
    {},
  ),
  ports: v.optional(
    v.pipe(
      v.strictObject({
        min: v.optional(port, 7050),
        max: v.optional(port, 7999),
        /** How long a port found taken by something chainpool does not own is left alone before it is tried again. */
        retry_blocked_s: v.optional(seconds, 600),
      }),
      v.check((p) => p.min <= p.max, "ports.min must not be above ports.max"),
    ),
    {},
  ),
  local: v.optional(
    v.strictObject({
      /** Command that runs one chain node; the node's `--config FILE` is appended. Default: this runtime + dist/chain-node.mjs. */
      node_command: v.optional(v.array(v.string()), []),
      /** Each local node's node.log is moved to node.log.1 when it would grow past this. */
      node_log_max_bytes: v.optional(
        v.pipe(v.number(), v.integer(), v.minValue(NODE_LOG_MIN_BYTES, `node_log_max_bytes must be at least ${NODE_LOG_MIN_BYTES}`)),
        NODE_LOG_DEFAULT_BYTES,
      ),
      /**
       * The full HTTP health probe of a healthy local cluster runs at most this often; the
       * health_check_s rounds in between check that each node's process is alive (nothing
       * asked of the nodes). 0: the full probe every round.
       */
      http_probe_s: v.optional(v.pipe(v.number(), v.minValue(0, "http_probe_s must be 0 or more")), 30),
    }),
    {},
  ),
  /** Docker and swarm hosts. */
  docker: v.optional(
    v.pipe(
      v.strictObject({
        /** An image of your own that runs a chain node given `--config FILE`; default: built by chainpool on each host. */
        image: v.optional(v.string(), ""),
        node_memory_mb: v.optional(v.pipe(v.number(), v.integer(), v.minValue(32)), 256),
        node_cpus: v.optional(v.pipe(v.number(), v.minValue(0.01)), 1),
        /** Each docker cluster's bridge network is one /subnet_prefix block of this range. */
        subnet_pool: v.optional(v.string(), "10.200.0.0/16"),
        subnet_prefix: v.optional(v.pipe(v.number(), v.integer()), 26),
      }),
      v.forward(
        v.check((d) => typeof subnetPool(d.subnet_pool, d.subnet_prefix) !== "string", (issue) => {
          const d = issue.input as { subnet_pool: string; subnet_prefix: number };
          return String(subnetPool(d.subnet_pool, d.subnet_prefix));
        }),
        ["subnet_pool"],
      ),
    ),
    {},
  ),
  consensus: v.optional(
    v.strictObject({
      noops: v.optional(ConsensusTuning, {}),
      pbft: v.optional(ConsensusTuning, {}),
    }),
    {},
  ),
  chaincode: v.optional(
    v.strictObject({
      /**
       * Largest JavaScript chaincode package (decoded bytes) a deploy may carry, written into
       * every new cluster's node configs; at most the chain node's ceiling (1 MiB).
       */
      max_package_bytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_PACKAGE_BYTES_CEILING)), MAX_PACKAGE_BYTES_CEILING),
    }),
    {},
  ),
  /** Hosts registered at start when no host of that name exists yet. */
  hosts: v.optional(v.array(HostSeedSchema), [{ name: "local", type: "local", daemon_url: "", capacity: 4, autofill: true, schedulable: true, log_level: "INFO", params: {} }]),
});

export type Config = v.InferOutput<typeof ConfigSchema>;
export type HostSeed = v.InferOutput<typeof HostSeedSchema>;
