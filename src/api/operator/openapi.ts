import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { onlyKeys, readInput } from "../input.ts";
import { openApiDocument, type OpenApiDocument } from "../openapi.ts";
import { apiReferencePage } from "../openapi-page.ts";
import type { RouteDoc } from "../route-doc.ts";

export const openApiDocs: RouteDoc[] = [
  { method: "GET", path: "/api/openapi.json", summary: "This API as an OpenAPI 3.1 document", access: "operator", answer: { raw: "application/json", description: "the OpenAPI document" } },
  { method: "GET", path: "/api/docs", summary: "This API as a reference page (HTML, no outside resources)", access: "operator", answer: { raw: "text/html; charset=utf-8", description: "the reference page" } },
];

/**
 * GET /api/openapi.json and GET /api/docs, for the routes given (every route of the app:
 * app.ts passes the route files' docs). Built on first request and kept: the routes do not
 * change while the daemon runs.
 */
export function openApiRoutes(options: { version: string; routes: readonly RouteDoc[] }): Hono<AppEnv> {
  let doc: OpenApiDocument | undefined;
  let page: string | undefined;
  const document = () => (doc ??= openApiDocument(options));
  const routes = new Hono<AppEnv>();
  routes.get("/openapi.json", async (c) => {
    onlyKeys(await readInput(c), [], "field");
    return c.json(document());
  });
  routes.get("/docs", async (c) => {
    onlyKeys(await readInput(c), [], "field");
    page ??= apiReferencePage(document());
    return c.html(page, 200, { "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'" });
  });
  return routes;
}
