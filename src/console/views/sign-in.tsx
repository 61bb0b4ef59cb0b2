/** @jsxImportSource hono/jsx */

/** The sign-in page: an operator key, sent once and kept by the daemon (never by the browser). */
export function SignInPage(props: { error?: string; next: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Sign in · chainpool</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
      </head>
      <body class="sign-in">
        <main id="main">
          <h1>chainpool</h1>
          <form method="post" action="/sign-in" class="form">
            <input type="hidden" name="next" value={props.next} />
            {props.error && (
              <p class="flash error" role="alert">
                {props.error}
              </p>
            )}
            <label for="key">Operator key</label>
            <input id="key" name="key" type="password" autocomplete="current-password" required autofocus />
            <button type="submit">Sign in</button>
          </form>
        </main>
      </body>
    </html>
  );
}
