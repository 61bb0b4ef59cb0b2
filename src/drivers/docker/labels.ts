/** Labels on every container, network, service, secret and volume chainpool makes. */
export const LABEL = {
  instance: "io.chainpool.instance",
  host: "io.chainpool.host",
  cluster: "io.chainpool.cluster",
  node: "io.chainpool.node",
} as const;

/** The port a node's REST API listens on inside its container. */
export const NODE_PORT = 7050;

/**
 * A Docker label filter for what this instance made for this host (and one cluster). Both
 * labels together: one Docker engine may be two hosts of one instance (a docker host and the
 * swarm it manages), and reset of one must not touch the other.
 */
export function ownedBy(instance: string, hostId: string): (clusterId?: string) => string[] {
  return (clusterId) => [
    `${LABEL.instance}=${instance}`,
    `${LABEL.host}=${hostId}`,
    ...(clusterId !== undefined ? [`${LABEL.cluster}=${clusterId}`] : []),
  ];
}
