/** Small facts about input values, shared by the API's and the config's validation. */

/** C0, DEL and C1 control characters: never part of an id, a name, an address or a path. */
export const CONTROL_CHARACTER = /\p{Cc}/u;

/** How a value is named in an error, whatever it is (never calls its own toString). */
export function describeValue(x: unknown): string {
  if (typeof x === "string") return x.length > 80 ? `${JSON.stringify(x.slice(0, 80))}...` : JSON.stringify(x);
  if (Array.isArray(x)) return "an array";
  if (x === null) return "null";
  if (typeof x === "object") return "an object";
  if (x === undefined) return "nothing";
  return String(x);
}

export const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
