/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { JSX } from "hono/jsx/jsx-runtime";
import { parseHostUpdate, parseNewHost } from "../api/operator/hosts.ts";
import { hostView, clusterView } from "../api/views.ts";
import type { KeyMatcher } from "../api/auth.ts";
import { parseStrictJson } from "../api/strict-json.ts";
import { ChainpoolError, httpStatus } from "../core/errors.ts";
import type { Cluster } from "../core/types.ts";
import type { PoolStore } from "../store/pool-store.ts";
import { CONSOLE_ASSETS } from "./assets/embedded.generated.ts";
import type { ConsoleEnv } from "./env.ts";
import { clearSessionCookie, requireSession, sameOrigin, sessionOf, setSessionCookie } from "./guard.ts";
import type { LiveHub, LiveHubOptions } from "./live-hub.ts";
import { readChain } from "./node-reader.ts";
import { overviewData } from "./overview-data.ts";
import type { SessionStore } from "./sessions.ts";
import { ClusterPage } from "./views/cluster.tsx";
import { ActiveTable, CLUSTER_STATES, ClusterConfirm, CLUSTER_VIEWS, ClusterFilterForm, clusterActions, ClusterTabs, clusterState, ReleasedTable, type ClusterFilters, type ClusterViewId } from "./views/clusters.tsx";
import { HostConfirm, HostForm, hostActions, HostsTable, type HostFormValues, type HostRow } from "./views/hosts.tsx";
import { EventsPage } from "./views/events.tsx";
import { Layout, MainBody, type NavId } from "./views/layout.tsx";
import { Overview } from "./views/overview.tsx";
import { SignInPage } from "./views/sign-in.tsx";

export interface ConsoleOptions {
  keys: KeyMatcher;
  sessions: SessionStore;
  live: LiveHub;
  /** Milliseconds since the epoch (tests inject it with the sessions' clock). */
  now?: () => number;
  /** Seconds between SSE keep-alive comments, so proxies keep an idle stream open. */
  keepAliveS?: number;
}

/** Most rows one cluster list shows; filters narrow it. */
const LIST_LIMIT = 500;

/**
 * Everything the console page may load comes from this origin; scripts only from its own
 * files. style-src-attr: the capacity bars' widths are style attributes (no script in them).
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The operator console: server-rendered pages at `/`, their assets, and their live feed. */
export function createConsole(options: ConsoleOptions): Hono<ConsoleEnv> {
  const { keys, sessions, live } = options;
  const now = options.now ?? Date.now;
  const app = new Hono<ConsoleEnv>();

  app.use(async (c, next) => {
    await next();
    c.header("content-security-policy", CSP);
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "same-origin");
    c.header("x-frame-options", "DENY");
    if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
  });

  // ------------------------------------------------------------------ assets (no session needed)
  app.get("/console/assets/:name", (c) => {
    const asset = CONSOLE_ASSETS[c.req.param("name")];
    if (!asset) return c.text("no such asset", 404);
    return c.body(asset.body, 200, { "content-type": asset.type, "cache-control": "no-cache", etag: asset.etag });
  });

  // ------------------------------------------------------------------ sign-in, sign-out
  const safeNext = (raw: unknown) => (typeof raw === "string" && /^\/(?![/\\])/.test(raw) ? raw : "/");

  app.get("/sign-in", async (c) => {
    if (keys.open || sessionOf(c, sessions)) return c.redirect(safeNext(c.req.query("next")), 303);
    return html(c, <SignInPage next={safeNext(c.req.query("next"))} />);
  });

  app.post("/sign-in", async (c) => {
    if (!sameOrigin(c)) return c.text("refused: this request did not come from the console's own pages (Origin)", 403);
    const form = await c.req.parseBody();
    const next = safeNext(form["next"]);
    const key = typeof form["key"] === "string" ? form["key"] : "";
    const found = keys.match(key);
    if (!found || found.role !== "operator") {
      const error = found ? `That is a ${found.role} key; the console needs an operator key.` : "That key is not an operator key of this daemon.";
      return html(c, <SignInPage error={error} next={next} />, 401);
    }
    setSessionCookie(c, sessions, sessions.create(found.caller));
    return c.redirect(next, 303);
  });

  const guarded = requireSession(keys, sessions);
  app.use("/", guarded);
  for (const path of ["/hosts", "/hosts/*", "/clusters", "/clusters/*", "/events", "/sign-out", "/console/live"]) app.use(path, guarded);

  app.post("/sign-out", (c) => {
    sessions.delete(c.var.session.id);
    clearSessionCookie(c);
    return c.redirect(keys.open ? "/" : "/sign-in", 303);
  });

  // ------------------------------------------------------------------ page plumbing
  /** A whole page, or (x-console-fragment: main, the live refresh) its main part only. */
  const page = (c: Context<ConsoleEnv>, p: { title: string; nav: NavId; live: boolean; liveView?: string; body: JSX.Element; status?: 200 | 400 | 404 | 409 }) => {
    const session = c.var.session;
    const flash = session.flash;
    session.flash = undefined;
    if (c.req.header("x-console-fragment") === "main") {
      return html(c, <MainBody title={p.title} flash={flash}>{p.body}</MainBody>, p.status, false);
    }
    return html(c, <Layout title={p.title} nav={p.nav} csrf={session.csrf} signOut={!keys.open} live={p.live} liveView={p.liveView} flash={flash}>{p.body}</Layout>, p.status);
  };
  const done = (c: Context<ConsoleEnv>, to: string, text: string, kind: "ok" | "error" = "ok") => {
    c.var.session.flash = { kind, text };
    return c.redirect(to, 303);
  };
  /** Runs an action; a refusal (a ChainpoolError) goes back as the page's error message. */
  const act = async (c: Context<ConsoleEnv>, back: string, fn: () => Promise<string> | string) => {
    try {
      return done(c, back, await fn());
    } catch (err) {
      if (err instanceof ChainpoolError && httpStatus(err.code) < 500) return done(c, back, err.message, "error");
      if (err instanceof ChainpoolError) return done(c, back, err.message, "error");
      throw err;
    }
  };

  // ------------------------------------------------------------------ overview
  app.get("/", (c) => page(c, { title: "Overview", nav: "overview", live: true, liveView: "overview", body: <Overview data={overviewData(c.var.services.store, now())} /> }));

  // ------------------------------------------------------------------ live
  /**
   * The tab's feed: a "change" message at most once a second while the pool changes. A tab
   * following a view the hub renders (`?view=overview`) gets that view's fresh content in the
   * message and needs no request of its own; any other refetches its page. A message goes out
   * only while the tab's session holds (and keeps it alive, as the refetch it saves would); the
   * stream ends when it does not, and the page, refused a new one, signs in again.
   */
  app.get("/console/live", (c) => {
    const sessionId = c.var.session.id;
    const view = c.req.query("view");
    return streamSSE(c, async (stream) => {
      let wake: () => void = () => {};
      let ended = false;
      let changes = 0;
      let content: string | undefined;
      const disconnect = live.connect({
        view: view !== undefined && live.renders(view) ? view : undefined,
        send: (message) => {
          changes += message.changes;
          content = message.content;
          wake();
        },
        end: () => {
          ended = true;
          wake();
        },
      });
      stream.onAbort(() => wake());
      try {
        await stream.writeSSE({ event: "hello", data: "{}", retry: 2000 });
        while (!stream.aborted && !stream.closed && !ended) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, (options.keepAliveS ?? 20) * 1000).unref?.();
          });
          if (stream.aborted || stream.closed || ended) break;
          if (changes === 0) {
            await stream.write(": keep-alive\n\n");
            continue;
          }
          // As the refetch it saves would: the session must hold, and using it keeps it alive.
          if (!sessions.get(sessionId)) break;
          // The content is JSON text already, rendered once for every tab on the view.
          const data = content === undefined ? `{"changes":${changes}}` : `{"changes":${changes},"view":${content}}`;
          changes = 0;
          content = undefined;
          await stream.writeSSE({ event: "change", data });
        }
      } finally {
        disconnect();
      }
    });
  });

  // ------------------------------------------------------------------ hosts
  const hostRows = (c: Context<ConsoleEnv>): HostRow[] => {
    const { store } = c.var.services;
    const byHost = store.clusterCountsByHost();
    return store.listHosts().map((host) => ({ host, clusters: byHost.get(host.id)?.total ?? 0, held: byHost.get(host.id)?.held ?? 0 }));
  };
  const hostRow = (c: Context<ConsoleEnv>, id: string): HostRow => {
    const host = c.var.services.hosts.get(id);
    const counts = c.var.services.store.clusterCountsByHost().get(host.id);
    return { host, clusters: counts?.total ?? 0, held: counts?.held ?? 0 };
  };

  app.get("/hosts", (c) => page(c, { title: "Hosts", nav: "hosts", live: true, body: <HostsTable rows={hostRows(c)} csrf={c.var.session.csrf} /> }));

  const blankHost: HostFormValues = { name: "", type: "local", daemon_url: "", capacity: "4", autofill: false, schedulable: true, log_level: "INFO", params: "" };
  /** The form's fields as the API takes them: unchecked boxes are false, params is JSON text. */
  const hostInput = (form: Record<string, unknown>, keepParams?: string): { input: Record<string, unknown>; values: HostFormValues } => {
    const text = (k: string) => (typeof form[k] === "string" ? (form[k] as string) : "");
    const values: HostFormValues = {
      name: text("name"),
      type: text("type") || "local",
      daemon_url: text("daemon_url"),
      capacity: text("capacity"),
      autofill: form["autofill"] === "true",
      schedulable: form["schedulable"] === "true",
      log_level: text("log_level") || "INFO",
      params: text("params"),
    };
    const input: Record<string, unknown> = { name: values.name, daemon_url: values.daemon_url, capacity: values.capacity, autofill: values.autofill, schedulable: values.schedulable, log_level: values.log_level };
    if ("type" in form) input["type"] = values.type;
    const params = values.params.trim();
    if (params !== "" && params !== keepParams) {
      let parsed: unknown;
      try {
        parsed = parseStrictJson(params);
      } catch (err) {
        throw new ChainpoolError("BAD_REQUEST", `params: not a JSON object: ${(err as Error).message}`);
      }
      input["params"] = parsed;
    } else if (params === "" && keepParams === undefined) input["params"] = {};
    return { input, values };
  };

  app.get("/hosts/new", (c) => page(c, { title: "Add a host", nav: "hosts", live: false, body: <HostForm values={blankHost} csrf={c.var.session.csrf} /> }));

  app.post("/hosts/new", async (c) => {
    const { hosts, watchdog } = c.var.services;
    let values = blankHost;
    try {
      const read = hostInput(c.var.form);
      values = read.values;
      const host = hosts.add(parseNewHost(read.input));
      if (host.autofill) watchdog.autofill();
      return done(c, "/hosts", `Host ${host.name} added.`);
    } catch (err) {
      if (!(err instanceof ChainpoolError) || httpStatus(err.code) >= 500) throw err;
      return page(c, { title: "Add a host", nav: "hosts", live: false, status: httpStatus(err.code) === 409 ? 409 : 400, body: <HostForm values={values} error={err.message} csrf={c.var.session.csrf} /> });
    }
  });

  const editValues = (c: Context<ConsoleEnv>, id: string): { values: HostFormValues; shownParams: string } => {
    const view = hostView(c.var.services.hosts.get(id), 0);
    const shownParams = Object.keys(view.params).length === 0 ? "" : JSON.stringify(view.params, null, 1);
    return {
      shownParams,
      values: { name: view.name, type: view.type, daemon_url: view.daemon_url, capacity: String(view.capacity), autofill: view.autofill, schedulable: view.schedulable, log_level: view.log_level, params: shownParams },
    };
  };

  app.get("/hosts/:id/edit", (c) => {
    const id = c.req.param("id");
    const { values } = editValues(c, id);
    return page(c, { title: `Edit host ${values.name}`, nav: "hosts", live: false, body: <HostForm id={id} values={values} csrf={c.var.session.csrf} /> });
  });

  app.post("/hosts/:id/edit", async (c) => {
    const id = c.req.param("id");
    const { hosts, watchdog } = c.var.services;
    const { shownParams, values: before } = editValues(c, id);
    let values = before;
    try {
      const read = hostInput({ ...c.var.form, type: undefined }, shownParams.trim());
      delete read.input["type"];
      values = { ...read.values, type: before.type };
      const { patch } = parseHostUpdate({ id, ...read.input });
      const host = await hosts.update(id, patch);
      if (host.autofill) watchdog.autofill();
      return done(c, "/hosts", `Host ${host.name} saved.`);
    } catch (err) {
      if (!(err instanceof ChainpoolError) || httpStatus(err.code) >= 500) throw err;
      return page(c, { title: `Edit host ${before.name}`, nav: "hosts", live: false, status: httpStatus(err.code) === 409 ? 409 : 400, body: <HostForm id={id} values={values} error={err.message} csrf={c.var.session.csrf} /> });
    }
  });

  app.post("/hosts/:id/fillup", (c) =>
    act(c, "/hosts", () => {
      const host = c.var.services.hosts.get(c.req.param("id"));
      const made = c.var.services.hosts.fillup(host.id);
      return made.length > 0 ? `Fill-up of ${host.name}: ${made.length} cluster${made.length === 1 ? "" : "s"} being created.` : `${host.name} is full already.`;
    }),
  );

  app.post("/hosts/:id/clean", (c) =>
    act(c, "/hosts", () => {
      const host = c.var.services.hosts.get(c.req.param("id"));
      const deleted = c.var.services.hosts.clean(host.id);
      return `Clean of ${host.name}: ${deleted.length} free cluster${deleted.length === 1 ? "" : "s"} being deleted; autofill is off.`;
    }),
  );

  for (const action of ["reset", "delete"] as const) {
    app.get(`/hosts/:id/${action}`, (c) => {
      const row = hostRow(c, c.req.param("id"));
      const why = hostActions(row)[action];
      if (why !== "") return done(c, "/hosts", `${action === "reset" ? "Reset" : "Delete"} of ${row.host.name} cannot apply: ${why}.`, "error");
      const users = [...new Set(c.var.services.store.listClusters({ host_id: row.host.id }).map((cl) => cl.user_id).filter((u) => u !== ""))];
      return page(c, { title: action === "reset" ? "Reset a host" : "Delete a host", nav: "hosts", live: false, body: <HostConfirm action={action} row={row} users={users} csrf={c.var.session.csrf} /> });
    });
  }

  app.post("/hosts/:id/reset", (c) =>
    act(c, "/hosts", async () => {
      const host = c.var.services.hosts.get(c.req.param("id"));
      const deleted = await c.var.services.hosts.reset(host.id);
      return `Reset of ${host.name}: ${deleted.length} cluster${deleted.length === 1 ? "" : "s"} deleted.`;
    }),
  );

  app.post("/hosts/:id/delete", (c) =>
    act(c, "/hosts", async () => {
      const host = c.var.services.hosts.get(c.req.param("id"));
      await c.var.services.hosts.remove(host.id);
      return `Host ${host.name} deleted.`;
    }),
  );

  // ------------------------------------------------------------------ clusters
  app.get("/clusters", (c) => {
    const { store } = c.var.services;
    const q = c.req.query();
    const view: ClusterViewId = CLUSTER_VIEWS.some((v) => v.id === q["view"]) ? (q["view"] as ClusterViewId) : "active";
    const filters: ClusterFilters = { host: q["host"] ?? "", state: q["state"] ?? "", type: q["type"] ?? "", user: q["user"] ?? "", since: q["since"] ?? "" };
    const hostList = store.listHosts();
    const hosts = new Map(hostList.map((h) => [h.id, h] as const));
    const types = Object.keys(store.stats().clusters.by_type);
    const back = `/clusters?${new URLSearchParams(Object.entries({ view, ...filters }).filter(([, v]) => v !== "")).toString()}`;
    let body: JSX.Element;
    if (view === "released") {
      let rows = store.listReleased(filters.user === "" ? { limit: 2000 } : { user_id: filters.user, limit: 2000 });
      if (filters.host) rows = rows.filter((r) => r.host_id === filters.host);
      if (filters.since === "today") {
        const dayStart = new Date(now());
        dayStart.setUTCHours(0, 0, 0, 0);
        rows = rows.filter((r) => r.release_ts >= dayStart.toISOString());
      }
      body = <ReleasedTable rows={rows.slice(0, LIST_LIMIT)} hosts={hosts} />;
    } else {
      let list: Cluster[] = store.listClusters(filters.host ? { host_id: filters.host } : {});
      if (view === "in-use") list = list.filter((cl) => cl.user_id !== "" && (filters.user === "" || cl.user_id === filters.user));
      if (view === "active" && (CLUSTER_STATES as readonly string[]).includes(filters.state)) list = list.filter((cl) => clusterState(cl) === filters.state);
      if (filters.type) list = list.filter((cl) => `${cl.consensus_plugin}/${cl.consensus_mode}/${cl.size}` === filters.type);
      body = <ActiveTable clusters={list.slice(0, LIST_LIMIT)} truncated={Math.max(0, list.length - LIST_LIMIT)} hosts={hosts} csrf={c.var.session.csrf} back={back} inUse={view === "in-use"} now={now()} />;
    }
    return page(c, {
      title: "Clusters",
      nav: "clusters",
      live: true,
      body: (
        <>
          <ClusterTabs view={view} />
          <ClusterFilterForm view={view} filters={filters} hosts={hostList} types={types} />
          {body}
        </>
      ),
    });
  });

  app.get("/clusters/:id", async (c) => {
    const { pool, store } = c.var.services;
    const cluster = pool.get(c.req.param("id"));
    const host = store.getHost(cluster.host_id);
    const view = clusterView(cluster, host);
    const chain = cluster.status === "running" ? await readChain(view.service_url) : { nodes: [], blocks: [], blocksError: `the cluster is ${cluster.status}` };
    return page(c, { title: `Cluster ${cluster.name}`, nav: "clusters", live: true, body: <ClusterPage cluster={cluster} view={view} host={host} chain={chain} csrf={c.var.session.csrf} now={now()} /> });
  });

  app.get("/clusters/:id/delete", (c) => {
    const back = safeNext(c.req.query("back"));
    const cluster = c.var.services.pool.get(c.req.param("id"));
    const why = clusterActions(cluster).delete;
    if (why !== "") return done(c, back, `Delete of ${cluster.name} cannot apply: ${why}.`, "error");
    const host = c.var.services.store.getHost(cluster.host_id);
    return page(c, { title: "Delete a cluster", nav: "clusters", live: false, body: <ClusterConfirm cluster={cluster} host={host} csrf={c.var.session.csrf} back={back} now={now()} /> });
  });

  for (const action of ["start", "stop", "restart", "release", "delete"] as const) {
    app.post(`/clusters/:id/${action}`, (c) => {
      const back = safeNext(c.var.form["back"]);
      return act(c, back, async () => {
        const { pool, hosts } = c.var.services;
        const cluster = pool.get(c.req.param("id"));
        const why = clusterActions(cluster)[action];
        if (why !== "") throw new ChainpoolError("CONFLICT", `${action} of ${cluster.name} cannot apply: ${why}`);
        if (action === "release") pool.releaseCluster(cluster.id);
        else if (action === "delete") hosts.deleteCluster(cluster.id);
        else await pool.operate(cluster.id, action);
        const verb = { start: "started", stop: "stopped", restart: "restarted", release: "released (it is recycled)", delete: "being deleted" }[action];
        return `Cluster ${cluster.name} ${verb}.`;
      });
    });
  }

  // ------------------------------------------------------------------ events
  app.get("/events", (c) => {
    const { events, store } = c.var.services;
    const warningsOnly = c.req.query("warnings") === "1";
    const list = events.list({ warningsOnly, limit: 200 }).reverse();
    const hosts = new Map(store.listHosts().map((h) => [h.id, h] as const));
    return page(c, { title: "Events", nav: "events", live: true, body: <EventsPage events={list} warningsOnly={warningsOnly} hosts={hosts} /> });
  });

  app.onError((err, c) => {
    if (err instanceof ChainpoolError && httpStatus(err.code) < 500) {
      return c.html(`<!doctype html><title>chainpool</title><link rel="stylesheet" href="/console/assets/console.css"><main id="main"><h1>${httpStatus(err.code)}</h1><p>${escapeHtml(err.message)}</p><p><a href="/">Back to the overview</a></p></main>`, httpStatus(err.code));
    }
    throw err;
  });

  return app;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

async function html(c: Context, element: JSX.Element, status: 200 | 400 | 401 | 404 | 409 = 200, doctype = true) {
  return c.html(`${doctype ? "<!doctype html>" : ""}${await element.toString()}`, status);
}

/**
 * The views the live feed renders for the tabs that follow them (LiveHub `views`), once per
 * message for all of them: the overview's main part (tiles, chart series, bars, counts) as the
 * live refresh would fetch it, so ten tabs on the overview cost one render a second and no
 * request.
 */
export function consoleLiveViews(deps: { store: PoolStore; now?: () => number }): Pick<LiveHubOptions, "views"> {
  const now = deps.now ?? Date.now;
  return {
    views: {
      overview: () => {
        const element = (
          <MainBody title="Overview">
            <Overview data={overviewData(deps.store, now())} />
          </MainBody>
        );
        // Its parts are synchronous components, so it renders to a string at once (an async one would answer a promise).
        const main: unknown = (element as { toString(): unknown }).toString();
        if (typeof main !== "string" && !(main instanceof String)) throw new Error("the overview must render synchronously");
        return JSON.stringify({ main: String(main) });
      },
    },
  };
}
