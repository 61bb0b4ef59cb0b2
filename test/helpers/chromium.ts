import { accessSync, constants } from "node:fs";

/**
 * The Chromium the browser tests drive: $CHROMIUM_PATH, else Debian's /usr/bin/chromium
 * (`.ci/run` installs the `chromium` package where it is missing). Answers its path, or why
 * there is none. Under CI=true a missing browser is an error, not a skip: CI installs one, and
 * a skipped browser test there would pass unseen.
 */
export function chromiumPath(): { path: string } | { skip: string } {
  const candidates = [process.env["CHROMIUM_PATH"], "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter((p): p is string => !!p);
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return { path };
    } catch {
      // try the next one
    }
  }
  const why = `no Chromium at ${candidates.join(", ")} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env["CI"]) throw new Error(`CI=true but ${why}`);
  return { skip: why };
}
