import type { Context } from "hono";
import * as v from "valibot";
import { badRequest, ChainpoolError } from "../core/errors.ts";
import { CONTROL_CHARACTER, describeValue } from "../core/values.ts";
import type { AppEnv } from "./env.ts";
import { givenTwice, parseStrictJson, RESERVED_FIELD_NAMES, reservedName } from "./strict-json.ts";

/**
 * The client went away (or was cut off by the listener's request timeout) before its body
 * arrived: nothing is wrong on this side, and no one is left to answer. app.ts logs it as
 * one warning line, without a stack.
 */
export class ClientClosedError extends Error {
  override name = "ClientClosedError";
}

/**
 * The body as text, refused with a 413 past `max` bytes: by Content-Length before reading,
 * and while reading for bodies sent without one, so an oversized body is never buffered whole.
 */
async function readBodyText(req: Request, max: number): Promise<string> {
  const tooLarge = () => new ChainpoolError("PAYLOAD_TOO_LARGE", `body: larger than ${max} bytes`);
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > max) throw tooLarge();
  try {
    if (Number.isFinite(declared)) {
      // text() without touching req.body first: @hono/node-server then reads the socket
      // directly instead of building a web stream (a fifth of an apply's time otherwise).
      const text = await req.text();
      if (Buffer.byteLength(text) > max) throw tooLarge();
      return text;
    }
    if (!req.body) return "";
    const reader = req.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString("utf8");
  } catch (err) {
    if (err instanceof ChainpoolError) throw err;
    // Reading a request's body fails only when its connection does.
    throw new ClientClosedError(`the client closed the connection before the body arrived: ${(err as Error).message}`, { cause: err });
  }
}

const BODY_METHODS_TAKE_NO_QUERY = (method: string, keys: string[]) =>
  badRequest(`${keys.join(", ")}: fields in the query string are not taken on ${method}; send every field in the body`);

/**
 * Reads a request's fields, under one rule for every form they come in:
 * - GET (and HEAD) take the query string; POST, PUT and DELETE take the body only (a JSON
 *   object, a urlencoded form or a multipart form), and fields in their query string are a
 *   400 naming them rather than merged in unseen.
 * - A field given twice, or named `__proto__`, `constructor` or `prototype`, is a 400
 *   naming it, in a query, a form or JSON alike (at any depth in JSON).
 * - JSON nests at most MAX_JSON_DEPTH levels; a file in a multipart form is a 400.
 * Values stay as sent, never trimmed; schemas coerce "4" and 4, "False" and false alike.
 */
export async function readInput(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const query = collect(new URL(c.req.url).searchParams);
  const method = c.req.method;
  if (method === "GET" || method === "HEAD") return query;
  const queryKeys = Object.keys(query);
  if (queryKeys.length > 0) throw BODY_METHODS_TAKE_NO_QUERY(method, queryKeys);
  const contentType = c.req.header("content-type") ?? "";
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  const text = await readBodyText(c.req.raw, c.var.maxBodyBytes);
  if (text.trim() === "") return query;
  if (type === "application/x-www-form-urlencoded") return collect(new URLSearchParams(text));
  if (type === "multipart/form-data") return collect(await multipartEntries(contentType, text));
  if (type !== "" && type !== "application/json" && !type.endsWith("+json") && type !== "text/plain") {
    throw new ChainpoolError("UNSUPPORTED_MEDIA_TYPE", `content-type ${type} is not accepted; send JSON or a form`);
  }
  const body = parseStrictJson(text);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("body: must be a JSON object");
  return body as Record<string, unknown>;
}

/** A multipart body's fields; a missing boundary or a body that does not parse is a 400. */
async function multipartEntries(contentType: string, text: string): Promise<FormData> {
  if (!/;\s*boundary=("[^"]+"|[^;\s]+)/i.test(contentType)) throw badRequest("content-type: multipart/form-data needs a boundary parameter");
  try {
    return await new Response(text, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw badRequest("body: not a valid multipart/form-data body for its boundary");
  }
}

/** The fields of a query string or form, refusing what parseStrictJson refuses in JSON, and files. */
function collect(source: URLSearchParams | FormData): Record<string, unknown> {
  // No prototype: whatever the keys, nothing but own fields is ever read back.
  const fields: Record<string, unknown> = Object.create(null);
  for (const [key, value] of source.entries()) {
    if (RESERVED_FIELD_NAMES.has(key)) throw reservedName(key);
    if (Object.hasOwn(fields, key)) throw givenTwice(key);
    if (typeof value !== "string") throw badRequest(`${key}: files are not accepted`);
    fields[key] = value;
  }
  return fields;
}

/** The entries whose value was given: optional fields left out stay out (exactOptionalPropertyTypes). */
export function definedOnly<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** Rejects keys outside `allowed`, naming the first unknown one. */
export function onlyKeys(input: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) throw badRequest(`${key}: unknown ${what} (accepted: ${allowed.join(", ")})`);
  }
}

/** Parses with a valibot schema; the first issue becomes a 400 naming its field. */
export function parseInput<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = v.getDotPath(issue) ?? "body";
  throw badRequest(`${path}: ${issue.message}`);
}

/** How an input value is named in an error: never by calling its own toString (`{"toString": 1}`). */
const show = describeValue;

/** An integer sent as 4 or "4". */
export const intField = (min: number, max: number) =>
  v.pipe(
    v.unknown(),
    v.transform((x) => (typeof x === "string" && /^-?\d{1,15}$/.test(x) ? Number(x) : x)),
    v.number((i) => `expected an integer, got ${show(i.input)}`),
    v.integer((i) => `expected an integer, got ${show(i.input)}`),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/** A boolean sent as true/false, "True"/"False", 1/0, "yes"/"no": "False" is false (Cello got this wrong). */
export const boolField = () =>
  v.pipe(
    v.unknown(),
    v.transform((x) => {
      if (typeof x === "string") {
        const s = x.toLowerCase();
        if (TRUE.has(s)) return true;
        if (FALSE.has(s)) return false;
      }
      if (x === 1) return true;
      if (x === 0) return false;
      return x;
    }),
    v.boolean((i) => `expected true or false, got ${show(i.input)}`),
  );

/**
 * A string taken exactly as sent: no control characters, and no surrounding whitespace rather
 * than trimming it away unseen (" alice" and "alice" would be two users, or silently one).
 */
export const exactString = (max: number) =>
  v.pipe(
    v.string((i) => `expected a string, got ${show(i.input)}`),
    v.check((s) => !CONTROL_CHARACTER.test(s), "must not contain control characters (such as NUL, tab or newline)"),
    v.check((s) => s === s.trim(), "must not begin or end with whitespace; values are taken exactly as sent"),
    v.maxLength(max, `must be at most ${max} characters`),
  );

/** A non-empty string of at most `max` characters, taken exactly; numbers are taken as their decimal text. */
export const idField = (max = 128) =>
  v.pipe(
    v.unknown(),
    v.transform((x) => (typeof x === "number" && Number.isFinite(x) ? String(x) : x)),
    v.string((i) => `expected a string, got ${show(i.input)}`),
    v.check((s) => s.trim() !== "", "must not be empty"),
    exactString(max),
  );

/** One of a fixed set of strings. */
export const choiceField = <const T extends readonly string[]>(choices: T) =>
  v.picklist(choices, (i) => `expected one of ${choices.map((c) => JSON.stringify(c)).join(", ")}, got ${show(i.input)}`);
