import { createRequire } from "node:module";

/** Where this code runs: plain Node, the single executable (Node SEA) built by scripts/build-exe.ts, or Deno. */
export type RuntimeKind = "node" | "sea" | "deno";

let kind: RuntimeKind | undefined;

export function runtimeKind(): RuntimeKind {
  if (kind) return kind;
  if ("Deno" in globalThis) return (kind = "deno");
  try {
    const sea = createRequire(import.meta.url)("node:sea") as { isSea?: () => boolean };
    kind = sea.isSea?.() ? "sea" : "node";
  } catch {
    kind = "node"; // Node before 20.12 has no node:sea
  }
  return kind;
}
