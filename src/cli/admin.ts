/** `chainpool check-config | backup | install-service`: the sysadmin's commands. */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { checkConfigFile } from "../config/load.ts";
import { runtimeKind } from "../lib/runtime.ts";
import { positional, type Command } from "./command.ts";
import { CliError, EXIT, usageError } from "./exit-codes.ts";
import { json } from "./output.ts";
import { SERVICE_DEFAULTS, serviceUnit } from "./service-unit.ts";

export const checkConfigCommand: Command = {
  usage: "FILE",
  summary: "validate a config file; names each wrong key (exit 2 when any)",
  async run(ctx) {
    const [file] = positional(ctx, ["FILE"], "check-config FILE");
    const result = checkConfigFile(file!);
    if (ctx.json) {
      ctx.io.out(json(result.ok ? { ok: true, file } : { ok: false, file, problems: result.problems }));
    } else if (result.ok) {
      const c = result.config;
      ctx.io.out(`${file}: ok (listen ${c.listen}, data_dir ${c.data_dir}, ${c.hosts.length} hosts, ${c.api.operator_keys.length} operator keys)\n`);
    } else {
      for (const problem of result.problems) ctx.io.err(`${file}: ${problem}\n`);
    }
    return result.ok ? EXIT.OK : EXIT.USAGE;
  },
};

const SQLITE_MAGIC = "SQLite format 3\0";

export const backupCommand: Command = {
  usage: "FILE",
  summary: "online, consistent copy of the daemon's database, written to FILE",
  async run(ctx) {
    const [file] = positional(ctx, ["FILE"], "backup FILE");
    const target = resolve(file!);
    const partial = `${target}.partial`;
    // The copy is made by the daemon (its own connection, SQLite's online backup) and streamed
    // here, so it needs no access to the daemon's files and works from another machine.
    const res = await ctx.client().fetch("GET", "/api/backup", undefined, Math.max(ctx.timeoutMs, 600_000));
    if (!res.ok || !res.body) {
      const text = await res.text();
      let error = text;
      try {
        error = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        /* not an envelope */
      }
      throw new CliError(res.status === 401 || res.status === 403 ? EXIT.UNAUTHORIZED : EXIT.FAILED, `backup: ${error || `HTTP ${res.status}`}`);
    }
    mkdirSync(dirname(target), { recursive: true });
    const out = await open(partial, "w", 0o600);
    let bytes = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        await out.write(chunk);
        bytes += chunk.byteLength;
      }
      await out.sync();
    } catch (err) {
      await out.close();
      rmSync(partial, { force: true });
      throw new CliError(EXIT.FAILED, `backup: the copy was cut off after ${bytes} bytes: ${(err as Error).message}`);
    }
    await out.close();
    const head = Buffer.alloc(16);
    const fd = openSync(partial, "r");
    readSync(fd, head, 0, 16, 0);
    closeSync(fd);
    if (head.toString("latin1") !== SQLITE_MAGIC) {
      rmSync(partial, { force: true });
      throw new CliError(EXIT.FAILED, "backup: the daemon sent something that is not an SQLite database");
    }
    renameSync(partial, target);
    ctx.io.out(ctx.json ? json({ file: target, bytes }) : `backup: ${bytes} bytes written to ${target}\n`);
    return EXIT.OK;
  },
};

/** A first config for a new install: loopback only, with fresh keys (the file is the daemon's group's only). */
function initialConfig(): string {
  const key = () => randomBytes(24).toString("base64url");
  return `# chainpool configuration written by \`chainpool install-service\`.
# Every key is documented in config.example.toml; check changes with \`chainpool check-config FILE\`.
listen = "127.0.0.1:8080"

[api]
# Send as "Authorization: Bearer KEY". The CLI on this machine reads them from here:
#   chainpool stat --config /etc/chainpool/config.toml
front_keys = ["${key()}"]
operator_keys = ["${key()}"]
`;
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });

export const installServiceCommand: Command = {
  usage: "[--root DIR] [--user NAME] [--bin PATH]",
  summary: "install this executable as the systemd service chainpool (as root)",
  options: { root: { type: "string" }, user: { type: "string" }, bin: { type: "string" } },
  async run(ctx) {
    positional(ctx, [], `install-service ${this.usage}`);
    if (runtimeKind() !== "sea") throw usageError("install-service installs the single executable: run it as dist/chainpool install-service (build it with npm run build)");
    const root = resolve((ctx.flags["root"] as string | undefined) ?? "/");
    const user = (ctx.flags["user"] as string | undefined) ?? SERVICE_DEFAULTS.user;
    const bin = (ctx.flags["bin"] as string | undefined) ?? SERVICE_DEFAULTS.bin;
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) throw usageError(`--user: ${JSON.stringify(user)} is not a valid system user name`);
    if (!bin.startsWith("/")) throw usageError(`--bin: must be an absolute path, got ${JSON.stringify(bin)}`);
    const system = root === "/";
    if (system && process.getuid?.() !== 0) throw new CliError(EXIT.FAILED, "install-service: run as root (or with --root DIR to write the files under DIR)");
    const done: string[] = [];
    const at = (p: string) => join(root, p);

    // The executable.
    mkdirSync(dirname(at(bin)), { recursive: true });
    if (!existsSync(at(bin)) || realpathSync(at(bin)) !== realpathSync(process.execPath)) {
      const tmp = `${at(bin)}.new`;
      copyFileSync(process.execPath, tmp);
      chmodSync(tmp, 0o755);
      renameSync(tmp, at(bin));
      done.push(`installed ${at(bin)}`);
    }
    // The system user (its home is the state directory, which systemd creates for it).
    if (system) {
      let exists = true;
      try {
        run("id", ["-u", user]);
      } catch {
        exists = false;
      }
      if (!exists) {
        try {
          run("useradd", ["--system", "--user-group", "--home-dir", "/var/lib/chainpool", "--no-create-home", "--shell", "/usr/sbin/nologin", user]);
        } catch (err) {
          throw new CliError(EXIT.FAILED, `install-service: cannot create the system user ${user}: ${(err as Error).message.split("\n")[0]}`);
        }
        done.push(`created system user ${user}`);
      }
    }
    // The config, kept if there is one.
    const config = at("/etc/chainpool/config.toml");
    if (!existsSync(config)) {
      mkdirSync(dirname(config), { recursive: true, mode: 0o755 });
      writeFileSync(config, initialConfig(), { mode: 0o640 });
      if (system) run("chown", [`root:${user}`, config]);
      done.push(`wrote ${config} with new API keys`);
    } else {
      done.push(`kept ${config}`);
    }
    // The unit.
    const unit = at("/etc/systemd/system/chainpool.service");
    mkdirSync(dirname(unit), { recursive: true });
    writeFileSync(unit, serviceUnit({ bin, user }), { mode: 0o644 });
    done.push(`wrote ${unit}`);
    if (system) {
      try {
        run("systemctl", ["daemon-reload"]);
        done.push("systemctl daemon-reload");
      } catch (err) {
        done.push(`systemctl daemon-reload failed (${(err as Error).message.split("\n")[0]}); run it once systemd is up`);
      }
    }
    const next = "systemctl enable --now chainpool && journalctl -u chainpool -f";
    ctx.io.out(ctx.json ? json({ done, next }) : `${done.map((d) => `install-service: ${d}`).join("\n")}\nnext: ${next}\n`);
    return EXIT.OK;
  },
};
