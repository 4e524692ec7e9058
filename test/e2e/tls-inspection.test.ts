import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Site } from "./helpers/fernlink.js";
import { INSPECTION_CA, type Interceptor, startInterceptor } from "./helpers/interception.js";
import { assertExit, Sandbox } from "./helpers/processes.js";

/**
 * A plant firewall that inspects TLS re-signs the server's certificate with its own CA. The
 * client and the agent then see a chain that is not ours, and say so in one line that names
 * the issuer seen (so IT recognises their inspection CA) and what to ask for.
 */

const ACME = { account: "acme", user: "alice" };

describe("TLS inspection on the way to the server", () => {
  let sb: Sandbox;
  let site: Site;
  let dpi: Interceptor;

  before(async () => {
    sb = await Sandbox.create("tls-inspection");
    site = await Site.start(sb, [ACME]);
    dpi = await startInterceptor(site.port);
  });
  after(async () => {
    await dpi?.close();
    await sb.cleanup();
  });

  const inspected = (): string => `https://127.0.0.1:${dpi.port}`;
  const named = new RegExp(
    `^fernlink: the certificate of https://127\\.0\\.0\\.1:\\d+ was issued by "(?=.*CN=${INSPECTION_CA.CN})(?=.*O=${INSPECTION_CA.O})[^"]*", ` +
      `not by the CA given \\("CN=Fernlink CA \\w+"\\) \\(\\w+\\): if the plant inspects TLS, ask its IT for an exception for 127\\.0\\.0\\.1;`,
  );

  test("login names the inspection CA and asks for an exception for the server's host", async () => {
    const r = await site.cli("bob", ["login", "--server", inspected(), "--ca", site.ca, "--account", ACME.account, "--user", ACME.user]);
    assertExit(r, 1, named);
  });

  test("agent register says the same, and the server's own address still works", async () => {
    await site.login(ACME);
    const key = await site.addDevice(ACME.user, "press-7");
    const r = await site.cli("agent", ["agent", "register", "--server", inspected(), "--ca", site.ca, "--key", key, "--state", sb.path("agent")]);
    assertExit(r, 1, named);
    assert.match(await site.ok("agent", ["agent", "register", "--server", site.url, "--ca", site.ca, "--key", key, "--state", sb.path("agent")]), /registered/);
  });
});
