import { networkInterfaces } from "node:os";

/**
 * The IP addresses of this machine's network interfaces, lower case: a Docker engine reached
 * at one of them publishes its ports on this machine. Empty when they cannot be read (a
 * sandbox without the permission): engines at those addresses then count as other machines.
 */
export function machineAddresses(): Set<string> {
  try {
    return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.toLowerCase())));
  } catch {
    return new Set();
  }
}
