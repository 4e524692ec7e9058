import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openTestAccess, type TestAccess } from "../access-test-kit.js";
import { createApiApp } from "./app.js";

describe("the OpenAPI document", () => {
  let t: TestAccess;
  let app: ReturnType<typeof createApiApp>;

  before(async () => {
    t = await openTestAccess("SQLite");
    app = createApiApp(t.ctx);
  });
  after(() => t.close());

  it("is served without a session and is OpenAPI 3.1", async () => {
    const res = await app.request("/api/v1/openapi.json");
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(Object.keys(doc.paths).length > 5);
  });

  it("describes every route the server answers, and nothing it does not", async () => {
    const doc = (await (await app.request("/api/v1/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const served = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}")}`));
    assert.deepEqual(
      [...served].filter((r) => !documented.has(r)),
      [],
      "served but not documented",
    );
    assert.deepEqual(
      [...documented].filter((r) => !served.has(r)),
      [],
      "documented but not served",
    );
  });

  it("rejects unknown keys in documented request bodies", async () => {
    const doc = (await (await app.request("/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { additionalProperties?: boolean } }> } }>>;
    };
    const login = doc.paths["/api/v1/login"]?.["post"]?.requestBody?.content["application/json"]?.schema;
    assert.equal(login?.additionalProperties, false);
  });
});
