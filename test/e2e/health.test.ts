import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import https from "node:https";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { dropSchema } from "./helpers/database.js";
import { Site } from "./helpers/fernlink.js";
import { Sandbox, waitUntil } from "./helpers/processes.js";

const ACME = { account: "acme", user: "alice" };
const SCHEMA = `fernlink_e2e_health_${Math.random().toString(16).slice(2, 12)}`;

/** One request with no session and no cookie, as a load balancer's probe sends it. */
function probe(site: Site, path: string, method = "GET"): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return readFile(site.ca, "utf8").then(
    (ca) =>
      new Promise((resolve, reject) => {
        const req = https.request(new URL(path, site.url), { method, ca }, (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        });
        req.on("error", reject);
        req.end();
      }),
  );
}

/** A TCP proxy in front of PostgreSQL that the test can cut and restore, as a failed database host would. */
async function databaseLink(): Promise<{ port: number; cut: () => Promise<void>; restore: () => Promise<void>; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    server = net.createServer((client) => {
      const upstream = net.connect({ host: "127.0.0.1", port: 5432 });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
    port = (server.address() as net.AddressInfo).port;
  };
  const cut = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const s of sockets) s.destroy();
    await closed;
    server = undefined;
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

describe("the probes on a server on SQLite", () => {
  let sb: Sandbox;
  let site: Site;
  before(async () => {
    sb = await Sandbox.create("health-sqlite");
    site = await Site.start(sb, [ACME]);
  });
  after(() => sb?.cleanup());

  test("/healthz and /readyz answer 200 with one word, without a session and without setting a cookie", async () => {
    for (const path of ["/healthz", "/readyz", "/readyz?verbose=1"]) {
      const r = await probe(site, path);
      assert.deepEqual([r.status, r.body], [200, "ok\n"], path);
      assert.equal(r.headers["set-cookie"], undefined, path);
      assert.equal(r.headers["cache-control"], "no-store", path);
    }
    assert.deepEqual([(await probe(site, "/readyz", "HEAD")).status, (await probe(site, "/readyz", "HEAD")).body], [200, ""]);
    assert.equal((await probe(site, "/healthz", "POST")).status, 405);
  });
});

describe("the probes on a server on PostgreSQL", () => {
  let sb: Sandbox;
  let site: Site;
  let link: Awaited<ReturnType<typeof databaseLink>>;
  before(async () => {
    sb = await Sandbox.create("health-postgres");
    sb.defer(() => dropSchema(SCHEMA));
    link = await databaseLink();
    sb.defer(link.close);
    site = await Site.start(sb, [ACME], { db: `postgres://postgres@127.0.0.1:${link.port}/test?schema=${SCHEMA}` });
  });
  after(() => sb?.cleanup());

  /** Runs a step; a failure says whether the server still runs (and how it ended) and what it wrote last. */
  async function step<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const { exitCode, signalCode } = site.server.child;
      const tail = site.server.stderr.split("\n").slice(-30).join("\n");
      const state = exitCode === null && signalCode === null ? "still running" : `exited with ${exitCode ?? signalCode}`;
      throw new Error(`${(err as Error).message}; the server ${state}\n--- its last stderr lines\n${tail}`, { cause: err });
    }
  }

  test("/readyz answers 503 while the database is unreachable and 200 once it is back; /healthz stays 200", async () => {
    assert.equal((await probe(site, "/readyz")).status, 200);
    await link.cut();
    await step(() => waitUntil("/readyz answers 503", async () => ((await probe(site, "/readyz")).status === 503 ? true : undefined), 15_000));
    const down = await step(() => probe(site, "/readyz"));
    assert.deepEqual([down.status, down.body], [503, "unavailable\n"], "no details of what failed");
    assert.equal((await step(() => probe(site, "/healthz"))).status, 200, "the process itself is alive");
    await link.restore();
    await step(() => waitUntil("/readyz answers 200 again", async () => ((await probe(site, "/readyz")).status === 200 ? true : undefined), 30_000));
    assert.equal(site.server.child.exitCode, null, "the server kept running through the outage");
  });
});
