/** An IPv4 CIDR cut into equal blocks, one per cluster network. */
export interface SubnetPool {
  count: number;
  /** Block `index` as CIDR plus its gateway (the first address). */
  block(index: number): { subnet: string; gateway: string };
}

function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

const formatIPv4 = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");

/** Reads "10.200.0.0/16" cut into /prefix blocks, or says what is wrong. */
export function subnetPool(cidr: string, prefix: number): SubnetPool | string {
  const m = /^(.+)\/(\d{1,2})$/.exec(cidr);
  const base = m ? parseIPv4(m[1]!) : undefined;
  const bits = m ? Number(m[2]) : NaN;
  if (base === undefined || !(bits >= 8 && bits <= 30)) return `"${cidr}" is not an IPv4 CIDR such as 10.200.0.0/16`;
  if (base % 2 ** (32 - bits) !== 0) return `"${cidr}" has host bits set`;
  if (!(prefix >= bits && prefix <= 29)) return `block prefix /${prefix} must be between /${bits} and /29`;
  const size = 2 ** (32 - prefix);
  return {
    count: 2 ** (prefix - bits),
    block(index) {
      const network = base + index * size;
      return { subnet: `${formatIPv4(network)}/${prefix}`, gateway: formatIPv4(network + 1) };
    },
  };
}

/** How many nodes a block holds: all addresses but network, gateway and broadcast. */
export const nodesPerBlock = (prefix: number) => 2 ** (32 - prefix) - 3;
