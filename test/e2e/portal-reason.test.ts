import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { skipWithoutBrowser, useBrowser, waitForText } from "./helpers/browser.js";
import { Site } from "./helpers/fernlink.js";
import { addWebTarget, audited, openDevice, openInNewTab, PORTAL_ALLOWED_PROBLEMS, signIn, type WebTargetJson } from "./helpers/portal.js";
import { Sandbox } from "./helpers/processes.js";
import { startHttpServer, type Target } from "./helpers/targets.js";

/**
 * The portal's side of `account policy --require-reason`, in real headless Chromium through a real
 * agent's tunnel: the device page names its HMI without a link until a reason is typed, then the
 * link opens the HMI and the HMI's stream carries the reason into the audit.
 */

const ACME = { account: "acme", user: "alice" };

describe("the portal asks for a connect reason", { skip: skipWithoutBrowser }, () => {
  const b = useBrowser();
  let sb: Sandbox;
  let site: Site;
  let page: Target;
  let hmi: WebTargetJson;

  before(async () => {
    sb = await Sandbox.create("portal-reason");
    page = await startHttpServer("hmi page");
    sb.defer(() => page.close());
    site = await Site.start(sb, [ACME]);
    await site.login(ACME);
    await site.startAgent(await site.register(await site.addDevice("alice", "press-7"), "agent"));
    [hmi] = await Promise.all([
      addWebTarget(site, "alice", "press-7", "HMI", `http://127.0.0.1:${page.port}/`),
      site.ok("alice", ["account", "policy", "--require-reason"]),
    ]);
  });
  after(() => sb?.cleanup());

  test("the HMI becomes a link once a reason is typed, and its stream's records carry the reason", async () => {
    await signIn(b.page, site, ACME);
    await openDevice(b.page, "press-7");
    const section = b.page.getByRole("region", { name: "Web pages and screens" });
    await waitForText(section.getByRole("listitem").first(), /HMI give a reason above to open it/);
    assert.equal(await section.getByRole("link").count(), 0);

    await b.page.getByLabel("Reason for this connection").fill("Ticket 77: Störung");
    const link = section.getByRole("link", { name: "HMI", exact: true });
    assert.equal(await link.getAttribute("href"), `/web/open/${hmi.id}?reason=${encodeURIComponent("Ticket 77: Störung")}`);
    const { tab, response } = await openInNewTab(b.page, "HMI");
    assert.equal(response?.status(), 200);
    assert.match(await tab.content(), /hmi page/);
    await audited(site, "alice", "the HMI stream with its reason", (r) => r.action === "stream.open" && r.reason === 'reason "Ticket 77: Störung"');
    b.assertNoProblems(PORTAL_ALLOWED_PROBLEMS);
  });
});
