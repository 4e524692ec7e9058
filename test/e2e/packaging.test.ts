import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { Command } from "commander";
import { parse } from "smol-toml";
import { EXIT } from "../../src/cli/output.js";
import { HEALTH_PATHS } from "../../src/server/health.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

// The CLI as built in dist/: its version comes from the package.json beside dist/, which dist-test has not.
const { buildProgram } = (await import(pathToFileURL(join(ROOT, "dist", "cli", "main.js")).href)) as typeof import("../../src/cli/main.js");
const { configAssignments } = (await import(pathToFileURL(join(ROOT, "dist", "cli", "config-file.js")).href)) as typeof import("../../src/cli/config-file.js");
const UNITS = join(ROOT, "packaging", "systemd");
const SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";

/** Where the units expect the programs (README "Installing as a service") and what stands in for them here. */
const INSTALLED: Readonly<Record<string, string>> = {
  "/usr/local/bin/fernlink": join(ROOT, "dist", "cli.js"),
  "/usr/local/bin/fernlink-agent": join(ROOT, "dist", "fernlink-agent.mjs"),
};

/** Each unit, the command it runs and the example config it reads. */
const SERVICES = [
  { unit: "fernlink-server.service", command: ["server"], config: "server.toml", dirKey: "data" },
  { unit: "fernlink-relay.service", command: ["relay", "run"], config: "relay.toml", dirKey: "state" },
  { unit: "fernlink-agent.service", command: ["agent", "run"], config: "agent.toml", dirKey: "state" },
] as const;

/** A unit's [Service] settings: key → every value given (keys may repeat). */
function serviceSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf("=");
    if (section !== "Service" || eq < 0) continue;
    const key = line.slice(0, eq);
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1)]);
  }
  return settings;
}

function one(settings: Map<string, string[]>, key: string): string {
  const values = settings.get(key);
  assert.ok(values && values.length > 0, `no ${key}=`);
  return values[values.length - 1]!;
}

function command(path: readonly string[]): Command {
  let cmd = buildProgram();
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)!;
  return cmd;
}

describe("the systemd units", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fernlink-units-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("all three are there, and nothing else", async () => {
    assert.deepEqual((await readdir(UNITS)).sort(), SERVICES.map((s) => s.unit).sort());
  });

  test("pass systemd-analyze verify without a warning, run with the built node and CLI", async () => {
    assert.ok(existsSync(SYSTEMD_ANALYZE), `${SYSTEMD_ANALYZE} is missing: install Debian's systemd package (.ci/run does)`);
    const copies: string[] = [];
    for (const { unit } of SERVICES) {
      const text = await readFile(join(UNITS, unit), "utf8");
      const program = /^ExecStart=(\S+)/m.exec(text)?.[1];
      const stand = program === undefined ? undefined : INSTALLED[program];
      assert.ok(stand, `${unit} runs ${program}, which the README does not install`);
      assert.ok(existsSync(stand), `${stand} is not built: run npm run build`);
      const copy = join(dir, unit);
      await writeFile(copy, text.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath} ${stand}`));
      copies.push(copy);
    }
    const result = await promisify(execFile)(SYSTEMD_ANALYZE, ["verify", "--man=no", ...copies]).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(result.code, 0, result.stderr);
    // Unknown keys and bad values are only warnings for systemd; here they fail.
    assert.equal(result.stderr.trim(), "", "systemd-analyze verify warned");
  });

  for (const { unit, command: path, config, dirKey } of SERVICES) {
    test(`${unit} is hardened, reads /etc/fernlink/${config} and keeps its state where the example config says`, async () => {
      const s = serviceSettings(await readFile(join(UNITS, unit), "utf8"));
      assert.equal(one(s, "DynamicUser"), "yes");
      assert.equal(one(s, "ProtectSystem"), "strict");
      assert.equal(one(s, "ProtectHome"), "yes");
      assert.equal(one(s, "NoNewPrivileges"), "yes");
      assert.equal(one(s, "PrivateTmp"), "yes");
      assert.equal(one(s, "CapabilityBoundingSet"), "");
      assert.equal(one(s, "SystemCallFilter"), "@system-service");
      assert.match(one(s, "RestrictAddressFamilies"), /^AF_INET AF_INET6 AF_UNIX( AF_NETLINK)?$/);
      assert.equal(one(s, "Restart"), "on-failure");
      assert.equal(one(s, "ExecStart").split(" ").slice(1).join(" "), `${path.join(" ")} --config /etc/fernlink/${config}`);
      // A usage error (a bad config file) must not restart in a loop; nor, for agent and relay, a revoked certificate.
      const prevent = one(s, "RestartPreventExitStatus").split(" ").map(Number);
      assert.ok(prevent.includes(EXIT.usage), `RestartPreventExitStatus= lacks ${EXIT.usage}`);
      if (path[0] !== "server") assert.ok(prevent.includes(EXIT.revoked), `RestartPreventExitStatus= lacks ${EXIT.revoked}`);
      assert.ok(!prevent.includes(EXIT.failure), "exit 1 (e.g. no network at boot) must be retried");

      const example = parse(await readFile(join(ROOT, "packaging", "config", config), "utf8")) as Record<string, unknown>;
      const { problems } = configAssignments(command(path), example);
      assert.deepEqual(problems, [], `packaging/config/${config} does not fit fernlink ${path.join(" ")}`);
      assert.equal(example[dirKey], `/var/lib/${one(s, "StateDirectory")}`);
    });
  }
});

describe("the Containerfile", () => {
  let text: string;
  before(async () => {
    text = await readFile(join(ROOT, "Containerfile"), "utf8");
  });

  test("copies only files that exist, and runs from a slim Node 20 as a user that is not root", () => {
    const sources = [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(" "));
    assert.ok(sources.length > 0);
    for (const source of sources) assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: no such file in the repository`);
    const stages = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
    assert.match(stages.at(-1)!, /^docker\.io\/library\/node:20[^:]*-slim$/);
    assert.match(stages[0]!, /^docker\.io\/library\/node:20\b/);
    const user = [...text.matchAll(/^USER (\S+)$/gm)].at(-1)?.[1];
    assert.ok(user && user !== "root" && user !== "0", `USER ${user}`);
    assert.ok(existsSync(join(ROOT, ".dockerignore")));
  });

  test("serves on the port it exposes, keeps data in its volume and checks health at the server's /healthz", () => {
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(text)?.[1] ?? "null") as string[];
    const listen = cmd[cmd.indexOf("--listen") + 1];
    const data = cmd[cmd.indexOf("--data") + 1];
    const port = /^EXPOSE (\d+)$/m.exec(text)?.[1];
    assert.equal(cmd[0], "server");
    assert.equal(listen, `0.0.0.0:${port}`);
    assert.equal(/^VOLUME \["([^"]+)"\]$/m.exec(text)?.[1], data);
    const health = /^HEALTHCHECK .*\\\n\s+CMD (.*)$/m.exec(text)?.[1] ?? "";
    assert.ok(health.includes(`path:'${HEALTH_PATHS.alive}'`), health);
    assert.ok(health.includes(`port:${port}`), health);
    assert.ok(health.includes(`'${data}/ca.pem'`), health);
    assert.match(/^ENTRYPOINT (.*)$/m.exec(text)?.[1] ?? "", /"\/app\/dist\/cli\.js"/);
  });
});
