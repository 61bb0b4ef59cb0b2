import type { OpenApiDocument } from "./openapi.ts";

type Json = Record<string, unknown>;

const escape = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

/** A JSON Schema in a few words: its type, choices, bounds and default. */
function describeSchema(s: Json | undefined): string {
  if (!s) return "";
  if (typeof s["$ref"] === "string") return (s["$ref"] as string).split("/").pop()!;
  const parts: string[] = [];
  if (Array.isArray(s["enum"])) parts.push((s["enum"] as unknown[]).map((v) => JSON.stringify(v)).join(" | "));
  else if (s["const"] !== undefined) parts.push(JSON.stringify(s["const"]));
  else if (s["type"] !== undefined) parts.push(Array.isArray(s["type"]) ? (s["type"] as string[]).join(" | ") : String(s["type"]));
  else if (Array.isArray(s["anyOf"])) parts.push((s["anyOf"] as Json[]).map(describeSchema).join(" or "));
  if (s["type"] === "array") parts.push(`of ${describeSchema(s["items"] as Json)}`);
  if (s["minimum"] !== undefined || s["maximum"] !== undefined) parts.push(`${s["minimum"] ?? ""}..${s["maximum"] ?? ""}`);
  if (s["maxLength"] !== undefined) parts.push(`at most ${s["maxLength"]} characters`);
  if (s["default"] !== undefined) parts.push(`default ${JSON.stringify(s["default"])}`);
  return parts.join(", ");
}

function fieldsTable(rows: Array<{ name: string; where: string; required: boolean; schema: string; description: string }>): string {
  if (rows.length === 0) return "";
  return `<table><thead><tr><th scope="col">field</th><th scope="col">in</th><th scope="col">required</th><th scope="col">type</th><th scope="col">notes</th></tr></thead><tbody>${rows
    .map((r) => `<tr><td><code>${escape(r.name)}</code></td><td>${escape(r.where)}</td><td>${r.required ? "yes" : ""}</td><td>${escape(r.schema)}</td><td>${escape(r.description)}</td></tr>`)
    .join("")}</tbody></table>`;
}

function operationSection(path: string, method: string, op: Json): string {
  const rows: Array<{ name: string; where: string; required: boolean; schema: string; description: string }> = [];
  for (const p of (op["parameters"] ?? []) as Json[]) {
    rows.push({ name: String(p["name"]), where: String(p["in"]), required: p["required"] === true, schema: describeSchema(p["schema"] as Json), description: String(p["description"] ?? "") });
  }
  const body = (op["requestBody"] as Json | undefined)?.["content"] as Record<string, Json> | undefined;
  const bodySchema = body?.["application/json"]?.["schema"] as Json | undefined;
  if (bodySchema) {
    const members = ((bodySchema["anyOf"] ?? bodySchema["oneOf"]) as Json[] | undefined) ?? [bodySchema];
    const seen = new Set<string>();
    for (const member of members) {
      const required = new Set((member["required"] ?? []) as string[]);
      for (const [name, s] of Object.entries((member["properties"] ?? {}) as Record<string, Json>)) {
        const key = `${name}:${describeSchema(s)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        rows.push({ name, where: "body", required: required.has(name), schema: describeSchema(s), description: String(s["description"] ?? "") });
      }
    }
  }
  const responses = Object.entries((op["responses"] ?? {}) as Record<string, Json>)
    .map(([code, r]) => `<li><strong>${escape(code)}</strong> ${escape(r["description"])}</li>`)
    .join("");
  const security = ((op["security"] ?? []) as Json[]).map((s) => Object.keys(s)[0]).join(" or ") || "none";
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
  return `<section id="${escape(id)}" aria-labelledby="${escape(id)}-h">
<h3 id="${escape(id)}-h"><span class="method ${escape(method)}">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code></h3>
<p>${escape(op["summary"])}</p>${op["description"] ? `<p class="note">${escape(op["description"])}</p>` : ""}
<p class="auth">key: ${escape(security)}</p>
${fieldsTable(rows)}
<ul class="responses">${responses}</ul>
</section>`;
}

/**
 * The API reference as one self-contained HTML page rendered from the OpenAPI document:
 * no script, no font or stylesheet from anywhere else, so it reads offline and from the
 * single executable alike.
 */
export function apiReferencePage(doc: OpenApiDocument): string {
  const info = doc["info"] as Json;
  const sections: string[] = [];
  const toc: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
      toc.push(`<li><a href="#${escape(id)}"><span class="method ${escape(method)}">${escape(method.toUpperCase())}</span> ${escape(path)}</a></li>`);
      sections.push(operationSection(path, method, op as Json));
    }
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chainpool API reference</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 64rem; padding: 1rem; color: #111; background: #fff; }
code { font-family: ui-monospace, monospace; }
nav ul { columns: 2 20rem; padding-left: 1rem; }
section { border-top: 1px solid #ccc; padding: .5rem 0; }
.method { display: inline-block; min-width: 4.5em; font-weight: 700; font-family: ui-monospace, monospace; }
.get { color: #0b5394; } .post { color: #1e6b1e; } .put { color: #7a4a00; } .delete { color: #a30000; }
.note { color: #333; } .auth { font-size: .9em; color: #444; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
a { color: #0b5394; } a:focus { outline: 2px solid #0b5394; }
</style>
</head>
<body>
<header><h1>${escape(info["title"])} API <small>${escape(info["version"])}</small></h1>
<p>${escape(info["description"])}</p>
<p>The machine-readable document: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI ${escape(doc.openapi)}).</p></header>
<nav aria-label="routes"><h2>Routes</h2><ul>${toc.join("")}</ul></nav>
<main><h2>Reference</h2>${sections.join("\n")}</main>
</body>
</html>
`;
}
