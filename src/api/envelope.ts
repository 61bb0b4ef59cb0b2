import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Cello's reply envelope, with the HTTP status equal to `code`. */
export function ok(c: Context, data: unknown, code: ContentfulStatusCode = 200) {
  return c.json({ code, status: "OK", error: "", data }, code);
}

export function failBody(code: number, error: string) {
  return { code, status: "FAIL", error, data: {} };
}
