/**
 * How much of a value that came from outside an error reply or a log line repeats. A
 * caller may send megabytes where an id belongs; echoing it whole would let anyone who
 * reaches the port write that much into every reply and into node.log.
 */

/** Most characters of a caller-supplied value quoted in an error message. */
export const ECHO_LIMIT = 200;

/** The text, or its first `max` characters and a marker saying how many were left out. */
export function clip(text: string, max: number = ECHO_LIMIT): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…[${text.length - max} more characters]`;
}

/** Most levels of objects and arrays `clipStrings` descends into; deeper values become "…". */
const MAX_DEPTH = 8;

/** A copy of `value` with every string (keys too) clipped to `max` characters. */
export function clipStrings(value: unknown, max: number, depth = 0): unknown {
  if (typeof value === "string") return clip(value, max);
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) return "…";
  if (Array.isArray(value)) return value.map((item: unknown) => clipStrings(item, max, depth + 1));
  if (value instanceof Error) return clip(value.message, max);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[clip(key, max)] = clipStrings(item, max, depth + 1);
  return copy;
}
