import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

/**
 * axe-core in the page under test: injected through the DevTools protocol (page.evaluate), so the
 * portal's CSP, which forbids inline scripts, need not be loosened for the check.
 */

/** One rule axe found broken, with where. */
export interface AxeViolation {
  id: string;
  impact: "minor" | "moderate" | "serious" | "critical" | null;
  help: string;
  targets: string[];
}

let source: Promise<string> | undefined;

function axeSource(): Promise<string> {
  source ??= readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  return source;
}

/** Runs axe on the page as it is now (WCAG 2.x A and AA rules and best practices); returns every violation. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => "axe" in globalThis))) await page.evaluate(await axeSource());
  // Written as text: the tests compile without the DOM's types.
  return page.evaluate<AxeViolation[]>(`axe.run(document, { resultTypes: ["violations"] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.map(String).join(" ")) })))`);
}

/** The violations that block people (axe's "serious" and "critical"), as readable lines. */
export function blocking(violations: readonly AxeViolation[]): string[] {
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.targets.join(", ")}`);
}
