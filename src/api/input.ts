import type { Context } from "hono";
import * as v from "valibot";
import { badRequest, ChainpoolError } from "../core/errors.ts";
import type { AppEnv } from "./env.ts";

/**
 * The body as text, refused with a 413 past `max` bytes: by Content-Length before reading,
 * and while reading for bodies sent without one, so an oversized body is never buffered whole.
 */
async function readBodyText(req: Request, max: number): Promise<string> {
  const tooLarge = () => new ChainpoolError("PAYLOAD_TOO_LARGE", `body: larger than ${max} bytes`);
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > max) throw tooLarge();
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
}

/**
 * Reads a request's fields the way Cello took them: the query string for GET (and DELETE
 * without a body), a JSON object or a form body otherwise. Values stay as sent; schemas
 * coerce "4" and 4, "False" and false alike.
 */
export async function readInput(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const fields: Record<string, unknown> = {};
  collect(new URL(c.req.url).searchParams, fields);
  if (c.req.method === "GET" || c.req.method === "HEAD") return fields;
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const text = await readBodyText(c.req.raw, c.var.maxBodyBytes);
  if (text.trim() === "") return fields;
  if (type === "application/x-www-form-urlencoded") return collect(new URLSearchParams(text), fields);
  if (type === "multipart/form-data") {
    return collect(await new Response(text, { headers: { "content-type": c.req.header("content-type")! } }).formData(), fields);
  }
  if (type !== "" && type !== "application/json" && !type.endsWith("+json") && type !== "text/plain") {
    throw new ChainpoolError("UNSUPPORTED_MEDIA_TYPE", `content-type ${type} is not accepted; send JSON or a form`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest("body: not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("body: must be a JSON object");
  return { ...fields, ...(body as Record<string, unknown>) };
}

/** Copies single-valued fields of a query string or form into `into`; a repeated key or a file is a 400. */
function collect(source: URLSearchParams | FormData, into: Record<string, unknown>): Record<string, unknown> {
  for (const key of new Set(source.keys())) {
    const values = source.getAll(key);
    if (values.length > 1) throw badRequest(`${key}: given more than once`);
    if (typeof values[0] !== "string") throw badRequest(`${key}: files are not accepted`);
    into[key] = values[0];
  }
  return into;
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

const show = (x: unknown) => (typeof x === "string" ? JSON.stringify(x) : String(x));

/** An integer sent as 4 or "4". */
export const intField = (min: number, max: number) =>
  v.pipe(
    v.unknown(),
    v.transform((x) => (typeof x === "string" && /^\s*-?\d+\s*$/.test(x) ? Number(x) : x)),
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
        const s = x.trim().toLowerCase();
        if (TRUE.has(s)) return true;
        if (FALSE.has(s)) return false;
      }
      if (x === 1) return true;
      if (x === 0) return false;
      return x;
    }),
    v.boolean((i) => `expected true or false, got ${show(i.input)}`),
  );

/** A non-empty string of at most `max` characters; numbers are taken as their decimal text. */
export const idField = (max = 128) =>
  v.pipe(
    v.unknown(),
    v.transform((x) => (typeof x === "number" && Number.isFinite(x) ? String(x) : x)),
    v.string((i) => `expected a string, got ${show(i.input)}`),
    v.trim(),
    v.nonEmpty("must not be empty"),
    v.maxLength(max, `must be at most ${max} characters`),
  );

/** One of a fixed set of strings. */
export const choiceField = <const T extends readonly string[]>(choices: T) =>
  v.picklist(choices, (i) => `expected one of ${choices.map((c) => JSON.stringify(c)).join(", ")}, got ${show(i.input)}`);
