/**
 * A structural check of an OpenAPI 3.1 document against the rules of the specification
 * (spec.openapis.org/oas/v3.1.0) that a generator can get wrong: required fields and their
 * types, the allowed keys of the objects this project writes, path templates against path
 * parameters, unique operationIds and parameters, response codes, security requirements
 * naming declared schemes, every local $ref resolving, and JSON Schema keywords holding
 * values of the right kind. No validator package is installed; this covers what the
 * document uses, not the whole meta-schema. Answers every problem found, each with its JSON
 * pointer.
 */
type Json = Record<string, unknown>;

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const PATH_ITEM_KEYS = new Set([...METHODS, "$ref", "summary", "description", "servers", "parameters"]);
const OPERATION_KEYS = new Set(["tags", "summary", "description", "externalDocs", "operationId", "parameters", "requestBody", "responses", "callbacks", "deprecated", "security", "servers"]);
const PARAMETER_KEYS = new Set(["name", "in", "description", "required", "deprecated", "allowEmptyValue", "style", "explode", "allowReserved", "schema", "example", "examples", "content"]);
const JSON_TYPES = new Set(["null", "boolean", "object", "array", "number", "string", "integer"]);

const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);
const ptr = (...parts: Array<string | number>) => parts.map((p) => `/${String(p).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");

export function openApi31Problems(doc: unknown): string[] {
  const problems: string[] = [];
  const bad = (where: string, what: string) => problems.push(`${where || "/"}: ${what}`);
  if (!isObject(doc)) return ["/: the document is not an object"];

  if (typeof doc["openapi"] !== "string" || !/^3\.1\.\d+$/.test(doc["openapi"])) bad("/openapi", "must be a 3.1.x version string");
  const info = doc["info"];
  if (!isObject(info)) bad("/info", "required object");
  else {
    if (typeof info["title"] !== "string") bad("/info/title", "required string");
    if (typeof info["version"] !== "string") bad("/info/version", "required string");
    const license = info["license"];
    if (license !== undefined) {
      if (!isObject(license) || typeof license["name"] !== "string") bad("/info/license", "an object with a name");
      else if (license["identifier"] !== undefined && license["url"] !== undefined) bad("/info/license", "identifier and url are mutually exclusive");
    }
  }
  if (doc["paths"] === undefined && doc["components"] === undefined && doc["webhooks"] === undefined) bad("/", "needs paths, components or webhooks");

  const components = isObject(doc["components"]) ? doc["components"] : {};
  const schemes = isObject(components["securitySchemes"]) ? components["securitySchemes"] : {};
  for (const [name, scheme] of Object.entries(schemes)) {
    const where = ptr("components", "securitySchemes", name);
    if (!isObject(scheme) || !["apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"].includes(String(scheme["type"]))) bad(where, "needs a known type");
    else if (scheme["type"] === "http" && typeof scheme["scheme"] !== "string") bad(where, "an http scheme needs `scheme`");
  }
  const checkSecurity = (security: unknown, where: string) => {
    if (security === undefined) return;
    if (!Array.isArray(security)) return bad(where, "must be an array");
    security.forEach((req, i) => {
      if (!isObject(req)) return bad(`${where}/${i}`, "must be an object");
      for (const [name, scopes] of Object.entries(req)) {
        if (!(name in schemes)) bad(`${where}/${i}`, `names undeclared security scheme ${name}`);
        if (!Array.isArray(scopes)) bad(`${where}/${i}/${name}`, "scopes must be an array");
      }
    });
  };
  checkSecurity(doc["security"], "/security");

  const declaredTags = new Set(Array.isArray(doc["tags"]) ? (doc["tags"] as Json[]).map((t) => t["name"]) : []);
  const operationIds = new Map<string, string>();
  const paths = doc["paths"];
  if (paths !== undefined && !isObject(paths)) bad("/paths", "must be an object");
  const templates = new Map<string, string>();
  for (const [path, item] of Object.entries(isObject(paths) ? paths : {})) {
    const where = ptr("paths", path);
    if (!path.startsWith("/")) bad(where, "a path must begin with /");
    const shape = path.replace(/\{[^}]+\}/g, "{}");
    if (templates.has(shape)) bad(where, `same template as ${templates.get(shape)}`);
    templates.set(shape, path);
    const templated = new Set([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!));
    if (!isObject(item)) {
      bad(where, "a path item must be an object");
      continue;
    }
    for (const key of Object.keys(item)) if (!PATH_ITEM_KEYS.has(key) && !key.startsWith("x-")) bad(where, `unknown key ${key}`);
    for (const method of METHODS) {
      const op = item[method];
      if (op === undefined) continue;
      const at = `${where}/${method}`;
      if (!isObject(op)) {
        bad(at, "an operation must be an object");
        continue;
      }
      for (const key of Object.keys(op)) if (!OPERATION_KEYS.has(key) && !key.startsWith("x-")) bad(at, `unknown key ${key}`);
      if (op["operationId"] !== undefined) {
        const id = String(op["operationId"]);
        if (operationIds.has(id)) bad(at, `operationId ${id} also used at ${operationIds.get(id)}`);
        operationIds.set(id, at);
      }
      for (const tag of (op["tags"] ?? []) as unknown[]) if (!declaredTags.has(tag)) bad(`${at}/tags`, `tag ${String(tag)} is not declared at /tags`);
      checkSecurity(op["security"], `${at}/security`);
      const seen = new Set<string>();
      const pathParams = new Set<string>();
      ((op["parameters"] ?? []) as unknown[]).forEach((p, i) => {
        const pat = `${at}/parameters/${i}`;
        if (!isObject(p)) return bad(pat, "must be an object");
        if ("$ref" in p) return;
        for (const key of Object.keys(p)) if (!PARAMETER_KEYS.has(key) && !key.startsWith("x-")) bad(pat, `unknown key ${key}`);
        if (typeof p["name"] !== "string") bad(pat, "needs a name");
        if (!["query", "header", "path", "cookie"].includes(String(p["in"]))) bad(pat, `in must be query, header, path or cookie, not ${String(p["in"])}`);
        const key = `${String(p["in"])}:${String(p["name"]).toLowerCase()}`;
        if (seen.has(key)) bad(pat, `parameter ${key} given twice`);
        seen.add(key);
        if (("schema" in p) === ("content" in p)) bad(pat, "needs exactly one of schema and content");
        if (p["schema"] !== undefined) schemaProblems(p["schema"], `${pat}/schema`, bad);
        if (p["in"] === "path") {
          pathParams.add(String(p["name"]));
          if (p["required"] !== true) bad(pat, "a path parameter must be required: true");
        }
        if (p["in"] === "header" && ["accept", "content-type", "authorization"].includes(String(p["name"]).toLowerCase())) bad(pat, `a header parameter named ${String(p["name"])} is ignored by the specification`);
      });
      for (const name of templated) if (!pathParams.has(name)) bad(at, `path parameter {${name}} is not described`);
      for (const name of pathParams) if (!templated.has(name)) bad(at, `path parameter ${name} is not in the path`);
      const body = op["requestBody"];
      if (body !== undefined) {
        if (!isObject(body) || !isObject(body["content"]) || Object.keys(body["content"]).length === 0) bad(`${at}/requestBody`, "needs a content map");
        else mediaProblems(body["content"], `${at}/requestBody/content`, bad);
        if (method === "get") bad(`${at}/requestBody`, "a GET has no defined body semantics");
      }
      const responses = op["responses"];
      if (!isObject(responses) || Object.keys(responses).length === 0) bad(`${at}/responses`, "needs at least one response");
      else {
        for (const [code, response] of Object.entries(responses)) {
          const rat = `${at}/responses/${code}`;
          if (code !== "default" && !/^[1-5](\d\d|XX)$/.test(code)) bad(rat, "a response key is an HTTP status, nXX, or default");
          if (!isObject(response)) bad(rat, "must be an object");
          else if (!("$ref" in response)) {
            if (typeof response["description"] !== "string") bad(rat, "needs a description");
            if (response["content"] !== undefined) {
              if (!isObject(response["content"])) bad(`${rat}/content`, "must be an object");
              else mediaProblems(response["content"], `${rat}/content`, bad);
            }
          }
        }
      }
    }
  }
  for (const [name, schema] of Object.entries(isObject(components["schemas"]) ? components["schemas"] : {})) {
    if (!/^[a-zA-Z0-9.\-_]+$/.test(name)) bad(ptr("components", "schemas", name), "a component name may hold letters, digits, . - _ only");
    schemaProblems(schema, ptr("components", "schemas", name), bad);
  }
  refProblems(doc, doc, "", bad);
  return problems;
}

function mediaProblems(content: Json, where: string, bad: (where: string, what: string) => void): void {
  for (const [type, media] of Object.entries(content)) {
    if (!/^[\w.+-]+\/[\w.+*-]+(\s*;.*)?$/.test(type)) bad(`${where}/${type}`, "not a media type");
    if (!isObject(media)) bad(`${where}/${type}`, "must be an object");
    else if (media["schema"] !== undefined) schemaProblems(media["schema"], `${where}/${type}/schema`, bad);
  }
}

/** JSON Schema 2020-12 keywords this document uses, each holding a value of the right kind. */
function schemaProblems(schema: unknown, where: string, bad: (where: string, what: string) => void): void {
  if (typeof schema === "boolean") return;
  if (!isObject(schema)) return bad(where, "a schema is an object or a boolean");
  const type = schema["type"];
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    if (types.length === 0 || !types.every((t) => JSON_TYPES.has(t as string))) bad(`${where}/type`, `not a JSON Schema type: ${JSON.stringify(type)}`);
  }
  if (schema["required"] !== undefined && (!Array.isArray(schema["required"]) || !schema["required"].every((r) => typeof r === "string"))) bad(`${where}/required`, "must be an array of strings");
  if (Array.isArray(schema["required"]) && isObject(schema["properties"])) {
    for (const r of schema["required"] as string[]) if (!(r in (schema["properties"] as Json))) bad(`${where}/required`, `${r} is required but not a property`);
  }
  if (schema["enum"] !== undefined && (!Array.isArray(schema["enum"]) || schema["enum"].length === 0)) bad(`${where}/enum`, "must be a non-empty array");
  for (const k of ["minimum", "maximum", "maxLength", "minLength", "minItems", "maxItems"]) {
    if (schema[k] !== undefined && typeof schema[k] !== "number") bad(`${where}/${k}`, "must be a number");
  }
  if (schema["pattern"] !== undefined) {
    try {
      new RegExp(String(schema["pattern"]), "u");
    } catch {
      bad(`${where}/pattern`, "not a regular expression");
    }
  }
  if (schema["properties"] !== undefined) {
    if (!isObject(schema["properties"])) bad(`${where}/properties`, "must be an object");
    else for (const [name, s] of Object.entries(schema["properties"])) schemaProblems(s, `${where}/properties/${name}`, bad);
  }
  for (const k of ["items", "additionalProperties", "not"]) if (schema[k] !== undefined) schemaProblems(schema[k], `${where}/${k}`, bad);
  for (const k of ["anyOf", "oneOf", "allOf"]) {
    if (schema[k] === undefined) continue;
    if (!Array.isArray(schema[k]) || (schema[k] as unknown[]).length === 0) bad(`${where}/${k}`, "must be a non-empty array");
    else (schema[k] as unknown[]).forEach((s, i) => schemaProblems(s, `${where}/${k}/${i}`, bad));
  }
}

function refProblems(node: unknown, doc: Json, where: string, bad: (where: string, what: string) => void): void {
  if (Array.isArray(node)) return node.forEach((n, i) => refProblems(n, doc, `${where}/${i}`, bad));
  if (!isObject(node)) return;
  const ref = node["$ref"];
  if (typeof ref === "string") {
    if (!ref.startsWith("#/")) bad(where, `only local references are expected, got ${ref}`);
    else {
      let target: unknown = doc;
      for (const part of ref.slice(2).split("/").map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))) target = isObject(target) ? target[part] : undefined;
      if (target === undefined) bad(where, `$ref ${ref} does not resolve`);
    }
  }
  for (const [k, v] of Object.entries(node)) refProblems(v, doc, `${where}/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`, bad);
}
