import type { PortLeaser } from "./contract.ts";

/**
 * The host port each node of a cluster is published on (docker and swarm hosts publish every
 * node's REST port). All are leased at once from the port ledger; a port found taken by
 * something chainpool does not own is blocked and that node alone moves to a fresh lease, the
 * others keep theirs.
 */
export class NodePorts {
  readonly #leaser: PortLeaser;
  readonly #clusterId: string;
  readonly #byNode = new Map<string, number>();

  constructor(options: { leaser: PortLeaser; clusterId: string; nodes: readonly string[] }) {
    this.#leaser = options.leaser;
    this.#clusterId = options.clusterId;
    const leased = this.#leaser.lease(this.#clusterId, options.nodes.length);
    options.nodes.forEach((node, i) => this.#byNode.set(node, leased[i]!));
  }

  /** The port `node` is published on now. */
  of(node: string): number {
    const port = this.#byNode.get(node);
    if (port === undefined) throw new Error(`no port leased for node ${node} of ${this.#clusterId}`);
    return port;
  }

  /**
   * Blocks `node`'s port (`why`: what said it is taken) and answers the node's new one. The
   * ledger answers the cluster's leases sorted, not by node: the new port is the one no node
   * holds. Block, lease and assignment happen in one synchronous step, so two nodes moving at
   * once never take the same fresh port.
   */
  move(node: string, why: string): number {
    this.#leaser.block(this.of(node), why);
    const held = new Set(this.#byNode.values());
    const fresh = this.#leaser.lease(this.#clusterId, this.#byNode.size).find((p) => !held.has(p));
    if (fresh === undefined) throw new Error(`no fresh port for node ${node} of ${this.#clusterId}`);
    this.#byNode.set(node, fresh);
    return fresh;
  }

  /** Node -> port, for the cluster's handle. */
  toRecord(): Record<string, number> {
    return Object.fromEntries(this.#byNode);
  }
}
