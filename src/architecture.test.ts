import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * Import boundaries between the parts of Fernlink. The roles (agent, client, relay, access)
 * share only the wire protocol and the shared helpers; only the CLI and the server
 * composition root may wire roles together.
 */
const MAY_IMPORT: Record<string, readonly string[] | "anything"> = {
  protocol: ["protocol", "shared"],
  shared: ["shared", "protocol"],
  agent: ["agent", "protocol", "shared"],
  client: ["client", "protocol", "shared"],
  relay: ["relay", "protocol", "shared"],
  access: ["access", "protocol", "shared"],
  web: ["web", "protocol", "shared"],
  cli: "anything",
  server: "anything",
};

/** The part of the code base a `src/`-relative posix path belongs to (`cli.ts` is the CLI entry). */
function areaOf(path: string): string {
  if (path === "cli.ts") return "cli";
  const slash = path.indexOf("/");
  return slash === -1 ? `(top level: ${path})` : path.slice(0, slash);
}

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

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("package.json not found above the test");
    dir = parent;
  }
  return dir;
}

/** Non-test TypeScript sources under src/, keyed by their src-relative posix path. */
function sourceFiles(srcDir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts")) {
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
    ["protocol may use shared", "protocol/x.ts", "../shared/errors.js", true],
    ["protocol may not use agent", "protocol/x.ts", "../agent/allowlist.js", false],
    ["shared may use protocol", "shared/x.ts", "../protocol/target.js", true],
    ["shared may not use relay", "shared/x.ts", "../relay/relay.js", false],
    ["agent may use itself", "agent/x.ts", "./allowlist.js", true],
    ["agent may not use client", "agent/x.ts", "../client/client-state.js", false],
    ["agent may not use access", "agent/x.ts", "../access/ca.js", false],
    ["relay may not use access", "relay/x.ts", "../access/context.js", false],
    ["access may use nested shared code", "access/store/x.ts", "../../shared/errors.js", true],
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

describe("the source tree", () => {
  const files = sourceFiles(join(projectRoot(), "src"));

  it("is read from src/, not from the compiled output", () => {
    assert.ok(files.size > 20, `only ${files.size} source files found`);
    assert.ok(files.has("protocol/target.ts"));
    assert.ok(files.has("cli.ts"));
  });

  it("keeps every import inside its area's boundary", () => {
    const violations = boundaryViolations(files);
    assert.deepEqual(violations, [], `import-boundary violations:\n  ${violations.join("\n  ")}`);
  });
});
