/**
 * The contract between the daemon and the chain node program: the JSON file the daemon
 * writes for each node before starting it (`chain-node --config FILE`). This is a leaf
 * module: both sides import it, neither imports the other.
 */
export const CONSENSUS_PLUGINS = ["noops", "pbft"] as const;
export type ConsensusPlugin = (typeof CONSENSUS_PLUGINS)[number];
export const CONSENSUS_MODES = ["", "classic", "batch"] as const;
export type ConsensusMode = (typeof CONSENSUS_MODES)[number];

export interface NodePeer {
  /** Node id, "vp0".."vpN-1". */
  id: string;
  /** Base URL of that node's REST API as seen from this node, e.g. "http://127.0.0.1:7050". */
  url: string;
  /** Ed25519 public key, SPKI PEM. */
  public_key: string;
}

export interface NodeConfig {
  cluster_id: string;
  /** This node's id: "vp0".."vpN-1". */
  node_id: string;
  /** Address the REST API binds to. */
  listen: { host: string; port: number };
  /** Directory that holds this node's ledger; survives restarts. */
  data_dir: string;
  consensus: {
    plugin: ConsensusPlugin;
    mode: ConsensusMode;
    /** Most requests per block (noops, pbft batch). */
    batch_size: number;
    /** How long a leader waits to fill a batch, in ms. */
    batch_timeout_ms: number;
  };
  /** Every node of the cluster in order, this one included. */
  peers: NodePeer[];
  /** This node's Ed25519 private key, PKCS#8 PEM. */
  private_key: string;
  /**
   * Where the node writes its JSON log lines: `file`, moved to `file.1` when it would grow
   * past `max_bytes`. Absent: stdout (docker and swarm nodes, whose engine keeps the log).
   */
  log?: NodeLogConfig;
  /**
   * A file holding the cluster's URL secret (lib/url-secret.ts), read at start: every client
   * route then answers only under `/<secret>/`, anything else is a bare 404. A file of its
   * own, not a field here, so that the daemon can replace the secret (a rotation) without
   * this file, which holds the private key and which swarm cannot hand back. Absent: client
   * routes need no prefix (secrets off, or a cluster from before them).
   */
  url_secret_file?: string;
  /**
   * Tests only; the daemon never writes it, and a node refuses it (exit 2) unless its
   * environment has CHAIN_NODE_TEST_FAULTS=1. `corrupt_block`: the first time this process
   * executes block N, one write comes out wrong, so its state diverges from the others'
   * through the real paths (see src/chain/README.md, divergence).
   */
  test_faults?: NodeTestFaults;
  /**
   * Largest JavaScript chaincode package (decoded bytes) a deploy sent to this node may
   * carry, at most the chain node's own ceiling (1 MiB, src/chain/size-limits.ts); checked
   * where the deploy enters, so nodes with different settings still agree on every block.
   * Absent: the ceiling.
   */
  max_package_bytes?: number;
}

export interface NodeTestFaults {
  corrupt_block?: number;
}

/**
 * The ceiling of `max_package_bytes`: the chain node's size limits (src/chain/size-limits.ts)
 * are derived from it, and the daemon's `[chaincode] max_package_bytes` may not pass it.
 */
export const MAX_PACKAGE_BYTES_CEILING = 1024 * 1024;

/** The environment variable (value "1") without which a node refuses `test_faults`. */
export const TEST_FAULTS_ENV = "CHAIN_NODE_TEST_FAULTS";

export interface NodeLogConfig {
  file: string;
  max_bytes: number;
}

/** Smallest and default `log.max_bytes`. */
export const NODE_LOG_MIN_BYTES = 16 * 1024;
export const NODE_LOG_DEFAULT_BYTES = 10 * 1024 * 1024;
