import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative, sep } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * Import boundaries between the parts of Fernlink. The roles (agent, client, relay, access)
 * share only the wire protocol and the shared helpers; only the CLI and the server
 * composition root may wire roles together. The wire protocol stands on its own.
 */
const MAY_IMPORT: Record<string, readonly string[] | "anything"> = {
  protocol: ["protocol"],
  shared: ["shared", "protocol"],
  agent: ["agent", "protocol", "shared"],
  client: ["client", "protocol", "shared"],
  relay: ["relay", "protocol", "shared"],
  access: ["access", "protocol", "shared"],
  web: ["web", "protocol", "shared"],
  cli: "anything",
  server: "anything",
};

/** The part of the code base a `src/`-relative posix path belongs to (`cli.ts` and `agent-cli.ts` are CLI entries). */
function areaOf(path: string): string {
  if (path === "cli.ts" || path === "agent-cli.ts") return "cli";
  const slash = path.indexOf("/");
  return slash === -1 ? `(top level: ${path})` : path.slice(0, slash);
}

/** Where the shipped program starts: the CLI, the one-file agent and the portal's bundle. Whatever they do not reach, only tests use. */
const ENTRY_POINTS = ["cli.ts", "agent-cli.ts", "web/ui/main.tsx"];

/** Names of modules that only tests use; package.json's "files" leaves them out of the package. */
const TEST_ONLY_NAME = /-(fixture|test-kit)\.tsx?$/;

/** Relative module specifiers of a source file, including `export … from`, side-effect and dynamic imports. */
function relativeImports(source: string): string[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles.map((f) => f.fileName).filter((name) => name.startsWith("."));
}

/** Every import that crosses a boundary, as `from → to (specifier)` lines. */
function boundaryViolations(files: ReadonlyMap<string, string>): string[] {
  const violations: string[] = [];
  for (const [path, source] of files) {
    const area = areaOf(path);
    const allowed = MAY_IMPORT[area];
    if (!allowed) {
      violations.push(`src/${path}: belongs to no known area (${Object.keys(MAY_IMPORT).join(", ")})`);
      continue;
    }
    for (const specifier of relativeImports(source)) {
      const target = posix.normalize(posix.join(posix.dirname(path), specifier));
      if (target.startsWith("../")) {
        violations.push(`src/${path} → ${target} ("${specifier}"): leaves src/`);
        continue;
      }
      if (allowed === "anything") continue;
      const targetArea = areaOf(target);
      if (!allowed.includes(targetArea)) {
        violations.push(`src/${path} → src/${target} ("${specifier}"): ${area} may import only ${allowed.join(", ")}`);
      }
    }
  }
  return violations;
}

/** The src-relative file a relative specifier names (`x.js` is written for `x.ts` or `x.tsx`), if it is one of `files`. */
function resolveImport(files: ReadonlyMap<string, string>, from: string, specifier: string): string | undefined {
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  const stem = target.replace(/\.js$/, "");
  return [`${stem}.ts`, `${stem}.tsx`, target].find((candidate) => files.has(candidate));
}

/** Which source files each source file imports. */
function importGraph(files: ReadonlyMap<string, string>): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [path, source] of files) {
    const targets = new Set<string>();
    for (const specifier of relativeImports(source)) {
      const target = resolveImport(files, path, specifier);
      if (target !== undefined) targets.add(target);
    }
    graph.set(path, targets);
  }
  return graph;
}

/** The graph of areas: an edge wherever a file of one area imports a file of another, with one such import as its example. */
function areaGraph(graph: ReadonlyMap<string, ReadonlySet<string>>): Map<string, Map<string, string>> {
  const areas = new Map<string, Map<string, string>>();
  for (const [path, targets] of graph) {
    const from = areaOf(path);
    const edges = areas.get(from) ?? new Map<string, string>();
    areas.set(from, edges);
    for (const target of targets) {
      const to = areaOf(target);
      if (to !== from && !edges.has(to)) edges.set(to, `src/${path} imports src/${target}`);
    }
  }
  return areas;
}

/** Every module that `entries` import, directly or not, the entries included. */
function reachableFrom(graph: ReadonlyMap<string, ReadonlySet<string>>, entries: readonly string[]): Set<string> {
  const reached = new Set<string>();
  const pending = [...entries];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (reached.has(node)) continue;
    reached.add(node);
    pending.push(...(graph.get(node) ?? []));
  }
  return reached;
}

/**
 * One cycle through each strongly connected group of nodes (Tarjan), each as the path that
 * leaves a node and comes back to it: `[a, b, c, a]`.
 */
function cycles(graph: ReadonlyMap<string, Iterable<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    if (group.length > 1 || [...(graph.get(node) ?? [])].includes(node)) groups.push(group);
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return groups.map((group) => cycleWithin(graph, new Set(group)));
}

/** The shortest path from the group's first node (by name) back to itself, staying inside the group. */
function cycleWithin(graph: ReadonlyMap<string, Iterable<string>>, group: ReadonlySet<string>): string[] {
  const start = [...group].sort()[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (!group.has(next)) continue;
      if (next === start) {
        const between: string[] = [];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = cameFrom.get(at)) between.unshift(at);
        return [start, ...between, start];
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  throw new Error(`no cycle through ${start}`);
}

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("package.json not found above the test");
    dir = parent;
  }
  return dir;
}

/** Non-test TypeScript sources (.ts and .tsx) under src/, keyed by their src-relative posix path. */
function sourceFiles(srcDir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) {
        files.set(relative(srcDir, full).split(sep).join("/"), readFileSync(full, "utf8"));
      }
    }
  };
  walk(srcDir);
  return files;
}

describe("the import-boundary checker", () => {
  it("finds every kind of relative import and ignores packages and comments", () => {
    const source = [
      `import { a } from "./a.js";`,
      `import type { B } from "../shared/b.js";`,
      `import {`,
      `  c,`,
      `} from "../protocol/c.js";`,
      `export { d } from "./d.js";`,
      `export * from "./e.js";`,
      `import "./polyfill.js";`,
      `const f = await import("../relay/f.js");`,
      `import { readFile } from "node:fs";`,
      `import fc from "fast-check";`,
      `// import { x } from "../client/x.js";`,
      `/* import { y } from "../client/y.js"; */`,
      `const text = "from '../client/z.js'";`,
    ].join("\n");
    assert.deepEqual(relativeImports(source).sort(), ["../protocol/c.js", "../relay/f.js", "../shared/b.js", "./a.js", "./d.js", "./e.js", "./polyfill.js"]);
  });

  const cases: [string, string, string, boolean][] = [
    ["protocol may not use shared", "protocol/x.ts", "../shared/log.js", false],
    ["protocol may not use agent", "protocol/x.ts", "../agent/allowlist.js", false],
    ["shared may use protocol", "shared/x.ts", "../protocol/target.js", true],
    ["shared may not use relay", "shared/x.ts", "../relay/relay.js", false],
    ["agent may use itself", "agent/x.ts", "./allowlist.js", true],
    ["agent may not use client", "agent/x.ts", "../client/client-state.js", false],
    ["agent may not use access", "agent/x.ts", "../access/ca.js", false],
    ["relay may not use access", "relay/x.ts", "../access/context.js", false],
    ["access may use nested shared code", "access/store/x.ts", "../../shared/log.js", true],
    ["the portal's components may use the protocol", "web/ui/admin/x.tsx", "../../../protocol/api.js", true],
    ["the portal's components may not use access", "web/ui/admin/x.tsx", "../../../access/devices.js", false],
    ["access may use its own nested code", "access/api/x.ts", "../store/index.js", true],
    ["access may not use server", "access/x.ts", "../server/server.js", false],
    ["client may not use cli", "client/x.ts", "../cli/util.js", false],
    ["a role may not reach the CLI entry", "relay/x.ts", "../cli.js", false],
    ["cli may combine roles", "cli/commands/x.ts", "../../agent/run.js", true],
    ["the CLI entry may use cli", "cli.ts", "./cli/main.js", true],
    ["server may combine roles", "server/x.ts", "../relay/relay.js", true],
    ["no file may leave src", "server/x.ts", "../../bench/run.js", false],
  ];
  for (const [what, path, specifier, ok] of cases) {
    it(`knows that ${what}`, () => {
      const violations = boundaryViolations(new Map([[path, `import { x } from "${specifier}";`]]));
      assert.equal(violations.length === 0, ok, violations.join("\n"));
    });
  }

  it("flags files outside the known areas", () => {
    assert.equal(boundaryViolations(new Map([["misc/x.ts", ""]])).length, 1);
    assert.equal(boundaryViolations(new Map([["x.ts", ""]])).length, 1);
  });
});

describe("the reach of the entry points", () => {
  it("follows imports through .tsx files and leaves out what only tests import", () => {
    const files = new Map([
      ["cli.ts", `import { main } from "./cli/main.js";`],
      ["cli/main.ts", `import { nav } from "../web/ui/nav.js";`],
      ["web/ui/nav.tsx", `import type { A } from "../../protocol/api.js";`],
      ["protocol/api.ts", ``],
      ["access/store/store-fixture.ts", `import type { A } from "../../protocol/api.js";`],
    ]);
    assert.deepEqual([...reachableFrom(importGraph(files), ["cli.ts"])].sort(), ["cli.ts", "cli/main.ts", "protocol/api.ts", "web/ui/nav.tsx"]);
  });
});

describe("the import-cycle finder", () => {
  const graphOf = (edges: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(edges));

  it("finds none where imports only go one way", () => {
    assert.deepEqual(cycles(graphOf({ a: ["b", "c"], b: ["c"], c: [] })), []);
  });

  it("gives the path of a two-module cycle", () => {
    assert.deepEqual(cycles(graphOf({ a: ["b"], b: ["a"], c: ["a"] })), [["a", "b", "a"]]);
  });

  it("gives the whole path of a longer cycle, in import order", () => {
    assert.deepEqual(cycles(graphOf({ d: ["a"], a: ["b"], b: ["c", "x"], c: ["d"], x: [] })), [["a", "b", "c", "d", "a"]]);
  });

  it("finds a module that imports itself", () => {
    assert.deepEqual(cycles(graphOf({ a: ["a"] })), [["a", "a"]]);
  });

  it("reports each separate cycle once", () => {
    assert.deepEqual(cycles(graphOf({ a: ["b"], b: ["a"], c: ["d"], d: ["c"] })), [
      ["a", "b", "a"],
      ["c", "d", "c"],
    ]);
  });

  it("resolves .js specifiers to .ts and .tsx files and finds the cycle between them", () => {
    const files = new Map([
      ["web/ui/app.tsx", `import { nav } from "./nav.js";`],
      ["web/ui/nav.tsx", `import { routes } from "./routes.js";`],
      ["web/ui/routes.ts", `import { app } from "./app.js";`],
    ]);
    assert.deepEqual(cycles(importGraph(files)), [["web/ui/app.tsx", "web/ui/nav.tsx", "web/ui/routes.ts", "web/ui/app.tsx"]]);
  });

  it("sees a cycle between areas that no single module closes, and names an import on each step", () => {
    const files = new Map([
      ["protocol/a.ts", `import { b } from "../shared/b.js";`],
      ["shared/b.ts", ``],
      ["shared/c.ts", `import { d } from "../protocol/d.js";`],
      ["protocol/d.ts", ``],
    ]);
    const graph = importGraph(files);
    assert.deepEqual(cycles(graph), []);
    const areas = areaGraph(graph);
    assert.deepEqual(cycles(new Map([...areas].map(([area, edges]) => [area, [...edges.keys()]]))), [["protocol", "shared", "protocol"]]);
    assert.equal(areas.get("protocol")?.get("shared"), "src/protocol/a.ts imports src/shared/b.ts");
  });
});

describe("the source tree", () => {
  const files = sourceFiles(join(projectRoot(), "src"));

  it("is read from src/, not from the compiled output", () => {
    assert.ok(files.size > 20, `only ${files.size} source files found`);
    assert.ok(files.has("protocol/target.ts"));
    assert.ok(files.has("cli.ts"));
    assert.ok(files.has("web/ui/app.tsx"));
  });

  it("keeps every import inside its area's boundary", () => {
    const violations = boundaryViolations(files);
    assert.deepEqual(violations, [], `import-boundary violations:\n  ${violations.join("\n  ")}`);
  });

  it("names each module that only tests use as a fixture or test kit, and no shipped module so", () => {
    assert.ok(
      ENTRY_POINTS.every((entry) => files.has(entry)),
      `an entry point is missing: ${ENTRY_POINTS.join(", ")}`,
    );
    const shipped = reachableFrom(importGraph(files), ENTRY_POINTS);
    const misnamed = [...files.keys()]
      .filter((path) => shipped.has(path) === TEST_ONLY_NAME.test(path))
      .map(
        (path) =>
          `src/${path}: ${
            shipped.has(path)
              ? "the program uses it, so it must not be named like a fixture"
              : "the program never imports it: name it *-fixture.ts or *-test-kit.ts if tests use it, else delete it"
          }`,
      );
    assert.deepEqual(misnamed, [], misnamed.join("\n"));
  });

  it("lowers the password cost only in tests and their kits, never in a module the program ships", () => {
    const shipped = reachableFrom(importGraph(files), ENTRY_POINTS);
    const callers = [...files.entries()]
      .filter(([path, text]) => shipped.has(path) && path !== "access/password.ts" && text.includes("lowerPasswordCostForTests"))
      .map(([path]) => `src/${path}`);
    assert.deepEqual(callers, []);
  });

  it("has no import cycle between modules", () => {
    const found = cycles(importGraph(files)).map((cycle) => cycle.map((path) => `src/${path}`).join(" → "));
    assert.deepEqual(found, [], `import cycles between modules:\n  ${found.join("\n  ")}`);
  });

  it("has no import cycle between areas", () => {
    const areas = areaGraph(importGraph(files));
    const found = cycles(new Map([...areas].map(([area, edges]) => [area, [...edges.keys()]]))).map((cycle) =>
      cycle
        .slice(1)
        .map((to, i) => `${cycle[i]} → ${to} (${areas.get(cycle[i]!)?.get(to)})`)
        .join(", "),
    );
    assert.deepEqual(found, [], `import cycles between areas:\n  ${found.join("\n  ")}`);
  });
});
