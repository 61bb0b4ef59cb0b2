import { badRequest } from "../core/errors.ts";

/**
 * Field names refused in every input form: they name Object.prototype's machinery, so a
 * reader that copies fields into an object could act on them (a form's `__proto__` was
 * silently dropped while JSON's was refused).
 */
export const RESERVED_FIELD_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** Deepest nesting of objects and arrays a JSON body may have; a host's params are level 2. */
export const MAX_JSON_DEPTH = 8;

export const reservedName = (path: string) => badRequest(`${path}: not accepted as a field name`);
export const givenTwice = (path: string) => badRequest(`${path}: given more than once`);

interface Frame {
  /** The keys seen so far in an object; null for an array. */
  keys: Set<string> | null;
  path: string;
  /** In an object: the next string is a key. In an array: the index of the current element. */
  expectKey: boolean;
  index: number;
  key: string;
}

const join = (path: string, name: string | number) => (path === "" ? String(name) : `${path}.${name}`);

/** The index of the quote closing the JSON string that opens at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5c) i++; // backslash: the next character is escaped
    else if (ch === 0x22) return i;
  }
  return -1;
}

/**
 * JSON.parse with the three rules the query and form readers apply too: a key given twice
 * in one object, or a reserved name as a key, is a 400 naming its path; and nesting deeper
 * than MAX_JSON_DEPTH is a 400 before anything deep is built. One linear pass over the text
 * (bounded by the body size limit) and no recursion; text that is not JSON is left for
 * JSON.parse to refuse.
 */
export function parseStrictJson(text: string): unknown {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (ch === 0x22) {
      const end = stringEnd(text, i);
      if (end < 0) break;
      if (top?.keys && top.expectKey) {
        let name: string;
        try {
          name = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          break;
        }
        const path = join(top.path, name);
        if (RESERVED_FIELD_NAMES.has(name)) throw reservedName(path);
        if (top.keys.has(name)) throw givenTwice(path);
        top.keys.add(name);
        top.key = name;
        top.expectKey = false;
      }
      i = end;
    } else if (ch === 0x7b || ch === 0x5b) {
      // { or [: the path of what opens here is its key (or index) in the enclosing value.
      const path = top === undefined ? "" : top.keys ? join(top.path, top.key) : join(top.path, top.index);
      if (stack.length >= MAX_JSON_DEPTH) throw badRequest(`${path || "body"}: nested deeper than ${MAX_JSON_DEPTH} levels`);
      stack.push({ keys: ch === 0x7b ? new Set() : null, path, expectKey: ch === 0x7b, index: 0, key: "" });
    } else if (ch === 0x7d || ch === 0x5d) {
      stack.pop();
    } else if (ch === 0x2c && top) {
      if (top.keys) top.expectKey = true;
      else top.index++;
    }
  }
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("body: not valid JSON");
  }
}
