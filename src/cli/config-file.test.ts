import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Command, CommanderError, Option } from "commander";
import { UsageError } from "../protocol/errors.js";
import { configAssignments } from "./config-file.js";
import { addConfigOptions } from "./config-option.js";
import { buildProgram } from "./main.js";
import { collect } from "./util.js";

/** The command at `path` of the real program. */
function command(...path: string[]): Command {
  let cmd = buildProgram();
  for (const name of path) {
    const sub = cmd.commands.find((c) => c.name() === name);
    assert.ok(sub, `no command ${path.join(" ")}`);
    cmd = sub;
  }
  return cmd;
}

/** The assignments as key → value, failing on any problem. */
function mapped(cmd: Command, table: Record<string, unknown>): Record<string, unknown> {
  const { assignments, problems } = configAssignments(cmd, table);
  assert.deepEqual(problems, []);
  return Object.fromEntries(assignments.map((a) => [a.attribute, a.value]));
}

/** The one problem the mapping reports. */
function problem(cmd: Command, table: Record<string, unknown>): string {
  const { problems } = configAssignments(cmd, table);
  assert.equal(problems.length, 1, problems.join("\n"));
  return problems[0]!;
}

describe("config file keys map onto the command's flags", () => {
  test("every flag of fernlink server can be given by its long name, repeatable ones as arrays and switches as booleans", () => {
    assert.deepEqual(
      mapped(command("server"), {
        data: "/var/lib/fernlink",
        listen: "0.0.0.0:443",
        hostname: ["fernlink.example.com", "10.0.0.5"],
        "metrics-listen": "127.0.0.1:9464",
        "stream-rate": 20,
        "no-relay": true,
      }),
      {
        data: "/var/lib/fernlink",
        listen: "0.0.0.0:443",
        hostname: ["fernlink.example.com", "10.0.0.5"],
        metricsListen: "127.0.0.1:9464",
        streamRate: "20",
        relay: false,
      },
    );
  });

  test("agent run takes its allowlist and on-demand switch from the file", () => {
    assert.deepEqual(mapped(command("agent", "run"), { state: "/var/lib/fernlink-agent", allow: ["192.168.1.0/24:502"], "on-demand": false }), {
      state: "/var/lib/fernlink-agent",
      allow: ["192.168.1.0/24:502"],
      onDemand: false,
    });
  });

  test("a flag with fixed choices is checked by its own parser", () => {
    assert.deepEqual(mapped(command("user", "add"), { role: "admin" }), { role: "admin" });
    assert.match(problem(command("user", "add"), { role: "owner" }), /^key "role": .*admin, member/);
  });

  test("an unknown key is named, with where the keys come from", () => {
    assert.match(problem(command("server"), { listn: "0.0.0.0:443" }), /^unknown key "listn" for fernlink server: .*fernlink server --help/);
  });

  test("a key of the wrong type says which type it takes", () => {
    assert.match(problem(command("server"), { hostname: "a.example.com" }), /^key "hostname" is repeatable: give an array/);
    assert.match(problem(command("server"), { "no-relay": "yes" }), /^key "no-relay" must be true or false, not a string/);
    assert.match(problem(command("server"), { listen: true }), /^key "listen" must be a string, not a boolean/);
    assert.match(problem(command("server"), { listen: { host: "x" } }), /^key "listen" must be a string, not a table/);
  });

  test("secrets are refused with the environment variable to use instead", () => {
    assert.match(problem(command("server"), { password: "x" }), /^key "password" holds a secret.*FERNLINK_PASSWORD/);
    assert.match(problem(command("relay", "run"), { key: "x" }), /^key "key" holds a secret.*FERNLINK_RELAY_KEY/);
    assert.match(problem(command("agent", "register"), { key: "x" }), /^key "key" holds a secret.*FERNLINK_ACTIVATION_KEY/);
    assert.match(problem(command("agent", "run"), { "proxy-password": "x" }), /FERNLINK_PROXY_PASSWORD/);
    assert.match(problem(command("server"), { "api-token": "x" }), /^key "api-token" holds a secret/);
    assert.match(problem(command("server"), { db: "postgres://fernlink:s3cret@127.0.0.1/fernlink" }), /^key "db" has a password in its URL.*PGPASSWORD/);
    assert.doesNotMatch(problem(command("server"), { db: "postgres://fernlink:s3cret@127.0.0.1/fernlink" }), /s3cret/);
    assert.deepEqual(mapped(command("server"), { db: "postgres://fernlink@127.0.0.1/fernlink", "cluster-key": "/etc/fernlink/cluster-key" }), {
      db: "postgres://fernlink@127.0.0.1/fernlink",
      clusterKey: "/etc/fernlink/cluster-key",
    });
  });

  test("a file cannot name another config file, nor set one thing twice", () => {
    assert.match(problem(command("server"), { config: "/etc/other.toml" }), /^unknown key "config"/);
    assert.match(
      problem(command("account", "policy"), { "require-otp": true, "no-require-otp": true }),
      /^keys "require-otp" and "no-require-otp" set the same thing/,
    );
  });

  test("every problem is reported at once", () => {
    assert.equal(configAssignments(command("server"), { listn: "x", hostname: "y", password: "z" }).problems.length, 3);
  });

  test("every command that runs something takes --config", () => {
    const missing: string[] = [];
    const walk = (cmd: Command, path: string): void => {
      for (const sub of cmd.commands) {
        const name = `${path} ${sub.name()}`.trim();
        if (sub.commands.length === 0 && !sub.options.some((o) => o.long === "--config")) missing.push(name);
        walk(sub, name);
      }
    };
    walk(buildProgram(), "");
    assert.deepEqual(missing, []);
  });
});

describe("--config FILE when a command runs", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fernlink-config-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A program with one command shaped like `agent run`; resolves with the flags its action saw. */
  async function run(args: string[], toml?: string): Promise<Record<string, unknown>> {
    const file = join(dir, `c-${Math.random().toString(16).slice(2)}.toml`);
    if (toml !== undefined) await writeFile(file, toml);
    let seen: Record<string, unknown> = {};
    const program = new Command("fernlink").exitOverride().configureOutput({ writeErr: () => {} });
    program
      .command("run")
      .exitOverride()
      .requiredOption("--state <dir>", "state")
      .option("--allow <cidr>", "repeatable", collect, [])
      .option("--no-relay", "switch")
      .addOption(new Option("--profile <name>").choices(["default", "cellular"]))
      .action((flags: Record<string, unknown>) => {
        seen = flags;
      });
    addConfigOptions(program);
    await program.parseAsync(["node", "fernlink", "run", ...args, ...(toml === undefined ? [] : ["--config", file])]);
    return seen;
  }

  test("a required flag may come from the file alone", async () => {
    const flags = await run([], 'state = "/var/lib/x"\nallow = ["10.0.0.0/8"]\nno-relay = true\nprofile = "cellular"\n');
    assert.equal(flags["state"], "/var/lib/x");
    assert.deepEqual(flags["allow"], ["10.0.0.0/8"]);
    assert.equal(flags["relay"], false);
    assert.equal(flags["profile"], "cellular");
  });

  test("flags on the command line win over the file, a repeatable one replacing the file's list", async () => {
    const flags = await run(["--state", "/cli", "--allow", "192.168.0.0/16"], 'state = "/file"\nallow = ["10.0.0.0/8"]\n');
    assert.equal(flags["state"], "/cli");
    assert.deepEqual(flags["allow"], ["192.168.0.0/16"]);
  });

  test("a required flag in neither place is still the usage error commander gives", async () => {
    await assert.rejects(run([]), (err: unknown) => err instanceof CommanderError && err.code === "commander.missingMandatoryOptionValue");
    await assert.rejects(run([], "allow = []\n"), (err: unknown) => err instanceof CommanderError && err.code === "commander.missingMandatoryOptionValue");
  });

  test("a bad file is one usage error naming the file and the key", async () => {
    await assert.rejects(run([], 'stat = "/x"\n'), (err: unknown) => err instanceof UsageError && /c-\w+\.toml: unknown key "stat"/.test(err.message));
    await assert.rejects(run([], 'profile = "fast"\nstate = "/x"\n'), (err: unknown) => err instanceof UsageError && /key "profile"/.test(err.message));
    await assert.rejects(run([], "state = \n"), (err: unknown) => err instanceof UsageError && /not valid TOML at line 1/.test(err.message));
  });

  test("a missing file is a usage error naming it", async () => {
    const program = new Command("fernlink").exitOverride();
    program
      .command("run")
      .exitOverride()
      .action(() => {});
    addConfigOptions(program);
    await assert.rejects(
      program.parseAsync(["node", "fernlink", "run", "--config", join(dir, "absent.toml")]),
      (err: unknown) => err instanceof UsageError && /absent\.toml: no such file/.test(err.message),
    );
  });
});
