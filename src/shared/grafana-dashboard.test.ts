import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { createMetrics } from "./metrics.js";

/** dist/shared → docs/ (the same from src/shared). */
const DASHBOARD = new URL("../../docs/grafana-dashboard.json", import.meta.url);

test("the Grafana dashboard in docs asks only for metrics the processes serve", async () => {
  const dashboard = JSON.parse(await readFile(DASHBOARD, "utf8")) as { panels: { targets?: { expr: string }[] }[] };
  const metrics = createMetrics();
  metrics.watchRelay({ name: "r1", agents: () => 0, load: () => ({ streams: 0, bytesUp: 0, bytesDown: 0 }) });
  const served = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  const asked = new Set(
    dashboard.panels
      .flatMap((p) => p.targets ?? [])
      .flatMap((t) => t.expr.match(/\b(?:fernlink|process|nodejs)_[a-z0-9_]+/g) ?? [])
      .map((name) => name.replace(/_(bucket|count|sum)$/, "")),
  );
  assert.ok(asked.size >= 10, `the dashboard asks for ${[...asked].join(", ")}`);
  const unknown = [...asked].filter((name) => !served.has(name));
  assert.deepEqual(unknown, [], "metrics the dashboard asks for but nothing serves");
});
