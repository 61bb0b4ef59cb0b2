/**
 * Rewrites an ES module's top-level `import` and `export` declarations into CommonJS, so
 * that every module of a package, whatever its syntax, is a function the sandbox calls
 * afresh in each transaction (an ES module can be evaluated only once per context, and its
 * top-level state would then outlive the transaction). Lines are kept: an error's line
 * number is the one in the user's file.
 *
 * A scanner, not a parser: it tracks strings, template literals, comments, regular
 * expressions and bracket depth, and rewrites only statements that begin at depth 0 with
 * `import` or `export`. Dynamic `import()` and `import.meta` are refused.
 */
export type EsmResult = { ok: true; code: string } | { ok: false; error: string };

const IDENT = /[A-Za-z0-9_$\u0080-\uffff]/;

export function esmToCommonJs(source: string): EsmResult {
  const exported: string[] = [];
  let out = "";
  let i = 0;
  let depth = 0;
  let lastSignificant = "";
  let temporary = 0;
  const n = source.length;
  const lineOf = (at: number) => source.slice(0, at).split("\n").length;

  while (i < n) {
    const c = source[i] ?? "";
    const next = source[i + 1] ?? "";
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end < 0 ? n : end;
      out += source.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      out += source.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === '"' || c === "'") {
      const stop = skipString(source, i, c);
      out += source.slice(i, stop);
      i = stop;
      lastSignificant = "a";
      continue;
    }
    if (c === "`") {
      const stop = skipTemplate(source, i);
      out += source.slice(i, stop);
      i = stop;
      lastSignificant = "a";
      continue;
    }
    if (c === "/" && regexMayStart(lastSignificant)) {
      const stop = skipRegex(source, i);
      out += source.slice(i, stop);
      i = stop;
      lastSignificant = "a";
      continue;
    }
    if (c === "{" || c === "(" || c === "[") depth++;
    if (c === "}" || c === ")" || c === "]") depth--;
    if (IDENT.test(c) && !IDENT.test(source[i - 1] ?? "")) {
      let end = i;
      while (end < n && IDENT.test(source[end] ?? "")) end++;
      const word = source.slice(i, end);
      const prevDot = lastSignificant === ".";
      if (depth === 0 && !prevDot && (word === "import" || word === "export")) {
        const handled = word === "import" ? importAt(source, i, end, () => temporary++) : exportAt(source, i, end, exported, () => temporary++);
        if (!handled.ok) return { ok: false, error: `line ${lineOf(i)}: ${handled.error}` };
        out += handled.code + "\n".repeat(countLines(source.slice(i, handled.end)) - countLines(handled.code));
        i = handled.end;
        lastSignificant = handled.code.endsWith("= ") ? "=" : ";";
        continue;
      }
      out += word;
      i = end;
      lastSignificant = word === "return" || word === "typeof" || word === "case" || word === "in" || word === "of" || word === "new" || word === "delete" || word === "void" || word === "throw" || word === "else" || word === "yield" || word === "await" ? "(" : "a";
      continue;
    }
    out += c;
    i++;
    if (!/\s/.test(c)) lastSignificant = c;
  }
  const tail = exported.length > 0 ? `\n;${exported.join(";")};` : "";
  return { ok: true, code: `Object.defineProperty(exports, "__esModule", { value: true });${out}${tail}` };
}

function skipString(source: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === "\\") i += 2;
    else if (c === quote || c === "\n") return i + 1;
    else i++;
  }
  return i;
}

function skipTemplate(source: string, start: number): number {
  let i = start + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === "\\") i += 2;
    else if (c === "`") return i + 1;
    else if (c === "$" && source[i + 1] === "{") {
      let depth = 1;
      i += 2;
      while (i < source.length && depth > 0) {
        const d = source[i];
        if (d === "{") depth++;
        else if (d === "}") depth--;
        else if (d === "`") {
          i = skipTemplate(source, i);
          continue;
        } else if (d === '"' || d === "'") {
          i = skipString(source, i, d);
          continue;
        }
        i++;
      }
    } else i++;
  }
  return i;
}

function skipRegex(source: string, start: number): number {
  let i = start + 1;
  let inClass = false;
  while (i < source.length) {
    const c = source[i];
    if (c === "\\") i += 2;
    else if (c === "\n") return i;
    else if (c === "[") inClass = true, i++;
    else if (c === "]") inClass = false, i++;
    else if (c === "/" && !inClass) {
      i++;
      while (i < source.length && IDENT.test(source[i] ?? "")) i++;
      return i;
    } else i++;
  }
  return i;
}

function regexMayStart(last: string): boolean {
  return last === "" || "(,=:[!&|?{};+-*%<>~^".includes(last);
}

function countLines(text: string): number {
  return text.split("\n").length - 1;
}

type Handled = { ok: true; code: string; end: number } | { ok: false; error: string };

function specifiers(list: string): { name: string; alias: string }[] | undefined {
  const out: { name: string; alias: string }[] = [];
  for (const raw of list.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const match = /^([\w$]+)(?:\s+as\s+([\w$]+))?$/.exec(part);
    if (!match) return undefined;
    out.push({ name: match[1] ?? "", alias: match[2] ?? match[1] ?? "" });
  }
  return out;
}

/** Skips `;` (and spaces before it) right after a statement. */
function withSemicolon(source: string, at: number): number {
  const semi = /^[ \t]*;/.exec(source.slice(at));
  return at + (semi ? semi[0].length : 0);
}

/** `import ... from "x"` / `import "x"`, from `start` (the keyword) to after the specifier. */
function importAt(source: string, start: number, afterKeyword: number, temp: () => number): Handled {
  if (/^\s*[(.]/.test(source.slice(afterKeyword))) return { ok: false, error: "dynamic import() and import.meta are not available to chaincode" };
  const quote = /["']/.exec(source.slice(afterKeyword));
  if (!quote) return { ok: false, error: "an import without a module name" };
  const quoteAt = afterKeyword + quote.index;
  const specifierEnd = skipString(source, quoteAt, quote[0]);
  const from = JSON.stringify(source.slice(quoteAt + 1, specifierEnd - 1));
  const end = withSemicolon(source, specifierEnd);
  const clause = source.slice(afterKeyword, quoteAt).replace(/\s+/g, " ").trim().replace(/ ?from$/, "").trim();
  if (clause === "") return { ok: true, code: `require(${from});`, end };
  const tmp = `__import${temp()}`;
  const parts = [`const ${tmp} = require(${from});`];
  const asDefault = (name: string) => `const ${name} = ${tmp} && ${tmp}.__esModule ? ${tmp}.default : ${tmp};`;
  const ns = /^(?:([\w$]+)\s*,\s*)?\*\s*as\s+([\w$]+)$/.exec(clause);
  const named = /^(?:([\w$]+)\s*,\s*)?\{([^}]*)\}$/.exec(clause);
  if (ns) {
    if (ns[1]) parts.push(asDefault(ns[1]));
    parts.push(`const ${ns[2]} = ${tmp};`);
  } else if (named) {
    if (named[1]) parts.push(asDefault(named[1]));
    const specs = specifiers(named[2] ?? "");
    if (!specs) return { ok: false, error: `cannot read the import list {${named[2]}}` };
    for (const spec of specs) parts.push(spec.name === "default" ? asDefault(spec.alias) : `const ${spec.alias} = ${tmp}.${spec.name};`);
  } else if (/^[\w$]+$/.test(clause)) {
    parts.push(asDefault(clause));
  } else {
    return { ok: false, error: `cannot read the import clause "${clause.slice(0, 80)}"` };
  }
  return { ok: true, code: parts.join(" "), end };
}

/**
 * `export` declarations lose the keyword (their names are assigned to `exports` at the end
 * of the module), `export default expr` becomes `exports.default = expr`, and export lists
 * are rewritten whole.
 */
function exportAt(source: string, start: number, afterKeyword: number, exported: string[], temp: () => number): Handled {
  const rest = source.slice(afterKeyword);
  const space = /^\s*/.exec(rest)?.[0].length ?? 0;
  const body = rest.slice(space);
  const declaration = /^(default\s+)?((?:async\s+)?function\s*\*?\s*([\w$]+)|class\s+([\w$]+))/.exec(body);
  if (declaration) {
    const name = declaration[3] ?? declaration[4] ?? "";
    exported.push(declaration[1] ? `exports.default = ${name}` : `exports.${name} = ${name}`);
    return { ok: true, code: "", end: afterKeyword + space + (declaration[1]?.length ?? 0) };
  }
  const defaultExpression = /^default\s+/.exec(body);
  if (defaultExpression) return { ok: true, code: "exports.default = ", end: afterKeyword + space + defaultExpression[0].length };
  const variable = /^(const|let|var)\s+([\w$]+)\s*(=|;|\n)/.exec(body);
  if (variable) {
    exported.push(`exports.${variable[2]} = ${variable[2]}`);
    return { ok: true, code: "", end: afterKeyword };
  }
  if (/^(const|let|var)\s/.test(body)) return { ok: false, error: "export of a destructuring declaration is not supported: export the names in a list" };
  const star = /^\*\s*from\s*(["'])/.exec(body);
  if (star) {
    const quoteAt = afterKeyword + space + star[0].length - 1;
    const specifierEnd = skipString(source, quoteAt, star[1] ?? '"');
    const from = JSON.stringify(source.slice(quoteAt + 1, specifierEnd - 1));
    return { ok: true, code: `Object.assign(exports, require(${from}));`, end: withSemicolon(source, specifierEnd) };
  }
  if (body.startsWith("{")) {
    const close = source.indexOf("}", afterKeyword + space);
    if (close < 0) return { ok: false, error: "an export list without its closing brace" };
    const specs = specifiers(source.slice(afterKeyword + space + 1, close));
    if (!specs) return { ok: false, error: "cannot read the export list" };
    const fromClause = /^\s*from\s*(["'])/.exec(source.slice(close + 1));
    if (fromClause) {
      const quoteAt = close + 1 + fromClause[0].length - 1;
      const specifierEnd = skipString(source, quoteAt, fromClause[1] ?? '"');
      const tmp = `__reexport${temp()}`;
      const from = JSON.stringify(source.slice(quoteAt + 1, specifierEnd - 1));
      const code = `const ${tmp} = require(${from}); ${specs.map((s) => `exports.${s.alias} = ${tmp}.${s.name};`).join(" ")}`;
      return { ok: true, code, end: withSemicolon(source, specifierEnd) };
    }
    for (const spec of specs) exported.push(`exports.${spec.alias} = ${spec.name}`);
    return { ok: true, code: "", end: withSemicolon(source, close + 1) };
  }
  return { ok: false, error: `cannot read this export: ${source.slice(start, start + 60).split("\n")[0]}` };
}

/** Whether a lone file looks like an ES module: an import or export declaration at the start of a line. */
export function looksLikeEsModule(source: string): boolean {
  return /^\s*(import\s*[\w${*"']|export\s+(default|const|let|var|function|async|class|\{|\*))/m.test(source);
}
