import type { AppEnv } from "../api/env.ts";
import type { ConsoleSession } from "./sessions.ts";

/** The API's context variables, plus the console session a guarded route runs in. */
export interface ConsoleEnv {
  Variables: AppEnv["Variables"] & {
    session: ConsoleSession;
    /** A POST's fields, read once by the guard (which checks its CSRF token). */
    form: Record<string, unknown>;
  };
}
