/** How the CLI writes: tables and lines for people, one JSON document for scripts. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** stderr (where progress goes) is a terminal: progress redraws one line. */
  isTTY: boolean;
}

/** Plain columns, left-aligned, two spaces apart; the first row is the header. */
export function table(rows: ReadonlyArray<ReadonlyArray<string | number | boolean>>): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths: number[] = [];
  for (const row of cells) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}

/** `key: value` lines for one object; nested values as compact JSON. */
export function keyValues(obj: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(obj).map((k) => k.length));
  return (
    Object.entries(obj)
      .map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join("\n") + "\n"
  );
}

export const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
