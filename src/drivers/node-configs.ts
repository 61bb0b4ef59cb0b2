import type { Cluster, ConsensusPlugin } from "../core/types.ts";
import type { NodeConfig } from "../lib/node-config.ts";
import { generateNodeKeys } from "../lib/node-keys.ts";
import type { DriverContext } from "./contract.ts";

/** Where each node of a cluster listens, how its peers reach it and where it keeps its ledger. */
export interface NodeLayout {
  listen(nodeId: string, index: number): { host: string; port: number };
  peerUrl(nodeId: string, index: number): string;
  dataDir(nodeId: string): string;
  /** Where the node reads the cluster's URL secret from; the driver puts it there, and replaces it on rotation. */
  urlSecretFile(nodeId: string): string;
}

/** The name of the file that holds a node's URL secret, beside its config. */
export const URL_SECRET_FILE = "url-secret";

export function nodeIds(cluster: Pick<Cluster, "size">): string[] {
  return Array.from({ length: cluster.size }, (_, i) => `vp${i}`);
}

/**
 * Every node's config for a fresh cluster, with a fresh Ed25519 key pair per node: no two
 * clusters (and no recycled successor) ever share a key. A cluster with a URL secret names
 * the file its nodes read it from; the secret itself is not in the config.
 */
export function clusterNodeConfigs(cluster: Cluster, layout: NodeLayout, ctx: Pick<DriverContext, "consensus" | "chaincode">): NodeConfig[] {
  const ids = nodeIds(cluster);
  const keys = ids.map(() => generateNodeKeys());
  const peers = ids.map((id, i) => ({ id, url: layout.peerUrl(id, i), public_key: keys[i]!.publicKey }));
  const tuning = ctx.consensus[cluster.consensus_plugin];
  return ids.map((id, i) => ({
    cluster_id: cluster.id,
    node_id: id,
    listen: layout.listen(id, i),
    data_dir: layout.dataDir(id),
    consensus: { plugin: cluster.consensus_plugin, mode: cluster.consensus_mode, ...tuning },
    peers,
    private_key: keys[i]!.privateKey,
    ...(cluster.url_secret !== "" && { url_secret_file: layout.urlSecretFile(id) }),
    ...(ctx.chaincode && { max_package_bytes: ctx.chaincode.max_package_bytes }),
  }));
}

/**
 * Consensus plugins the chain node program runs (drivers that run it declare these); pbft
 * needs 4 nodes or more, which the operator API checks.
 */
export const NODE_PLUGINS: readonly ConsensusPlugin[] = ["noops", "pbft"];
