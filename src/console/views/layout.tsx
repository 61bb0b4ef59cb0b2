/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";

export const NAV = [
  { id: "overview", href: "/", label: "Overview" },
  { id: "hosts", href: "/hosts", label: "Hosts" },
  { id: "clusters", href: "/clusters", label: "Clusters" },
  { id: "events", href: "/events", label: "Events" },
] as const;
export type NavId = (typeof NAV)[number]["id"] | "";

export interface Flash {
  kind: "ok" | "error";
  text: string;
}

/** The hidden field every state-changing form carries (the session's synchronizer token). */
export const Csrf = (props: { token: string }) => <input type="hidden" name="_csrf" value={props.token} />;

/**
 * One console page. `live` pages have their main part refetched when the daemon's feed says
 * something changed; forms and confirmations are not, so nothing typed is lost.
 */
export function Layout(props: { title: string; nav: NavId; csrf: string; signOut: boolean; live: boolean; liveView?: string | undefined; flash?: Flash | undefined; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · chainpool`}</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        <link rel="stylesheet" href="/console/assets/uPlot.min.css" />
        <script src="/console/assets/uPlot.iife.min.js" defer></script>
        <script src="/console/assets/console.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <span class="brand">chainpool</span>
          <nav aria-label="Main">
            <ul>
              {NAV.map((n) => (
                <li>
                  <a href={n.href} aria-current={props.nav === n.id ? "page" : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <span id="live-status" class="live-status" role="status" aria-live="polite"></span>
          {props.signOut && (
            <form method="post" action="/sign-out" class="sign-out">
              <Csrf token={props.csrf} />
              <button type="submit">Sign out</button>
            </form>
          )}
        </header>
        <main id="main" tabindex={-1} data-live={props.live ? "on" : "off"} data-live-view={props.liveView}>
          <MainBody title={props.title} flash={props.flash}>
            {props.children}
          </MainBody>
        </main>
      </body>
    </html>
  );
}

/** What a live refresh replaces: the heading, the flash and the page's own content. */
export function MainBody(props: { title: string; flash?: Flash | undefined; children?: Child }) {
  return (
    <>
      <h1>{props.title}</h1>
      {props.flash && (
        <p class={`flash ${props.flash.kind}`} role={props.flash.kind === "error" ? "alert" : "status"}>
          {props.flash.text}
        </p>
      )}
      {props.children}
    </>
  );
}
