import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { screenshot, skipWithoutBrowser, useBrowser, waitForText } from "./helpers/browser.js";
import { type AuditJson, Site } from "./helpers/fernlink.js";
import { HMI_STATUS, type HmiApp, startHmiApp } from "./helpers/hmi-app.js";
import {
  addViewOnlyMember,
  addWebTarget,
  audited,
  goTo,
  hmiOrigin,
  openDevice,
  openInNewTab,
  PORTAL_ALLOWED_PROBLEMS,
  portalUrl,
  signIn,
  targetLinks,
  type WebTargetJson,
} from "./helpers/portal.js";
import { Sandbox, waitUntil } from "./helpers/processes.js";

/**
 * HMI web apps opened from the portal in real headless Chromium, through a real agent's tunnel:
 * redirects, stylesheet, cookie-backed form, WebSocket, server-sent events and fetch all work on
 * the HMI's own host name; the app never sees the portal's cookies; a second HMI cannot read
 * the first one's cookies; the admin sees and cuts the streams on Live connections; and a member
 * who may only view the device is refused, with the refusal in the audit.
 */

const ACME = { account: "acme", user: "alice" };
const BOB = { account: "acme", user: "bob" };
const PORTAL_COOKIE = "__Host-fernlink";
const GRANT_COOKIE = "__Host-fernlink-web";

/** Waits until every status line of the HMI page reads its "working" text, and values keep coming. */
async function assertHmiWorks(page: Page): Promise<void> {
  await waitForText(page.getByRole("heading", { level: 1 }), "Press 7 HMI");
  for (const key of ["stylesheet", "image", "websocket", "speed", "sse", "tags"] as const) {
    const { name, ok } = HMI_STATUS[key];
    await waitForText(page.getByRole("status", { name, exact: true }), ok);
  }
  // Streamed, not buffered to the end: the WebSocket and the event stream keep delivering.
  await waitForText(page.getByRole("status", { name: HMI_STATUS.speed.name }), /^Speed: (4[5-9]|[5-9]\d|\d{3,})$/);
  await waitForText(page.getByRole("status", { name: HMI_STATUS.sse.name }), /^SSE: tick ([3-9]|\d{2,})$/);
}

/** The cookie names the HMI page's own script can read. */
function documentCookies(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (globalThis as unknown as { document: { cookie: string } }).document.cookie
      .split(/;\s*/)
      .filter((c) => c !== "")
      .map((c) => c.split("=")[0]!),
  );
}

/** Cookie names the browser keeps for `url`. */
async function jarFor(context: BrowserContext, url: string): Promise<string[]> {
  return (await context.cookies(url)).map((c) => c.name).sort();
}

describe("web portal: HMI pages through the tunnel", { skip: skipWithoutBrowser }, () => {
  const b = useBrowser();
  let sb: Sandbox;
  let site: Site;
  let app: HmiApp;
  let other: HmiApp;
  let hmi: WebTargetJson;
  let otherHmi: WebTargetJson;
  let hmiTab: Page;
  const appTarget = (): string => `127.0.0.1:${app.port}`;

  before(async () => {
    sb = await Sandbox.create("portal-hmi");
    [app, other] = await Promise.all([startHmiApp(), startHmiApp()]);
    sb.defer(() => app.close());
    sb.defer(() => other.close());
    site = await Site.start(sb, [ACME]);
    await site.login(ACME);
    await site.startAgent(await site.register(await site.addDevice("alice", "press-7"), "agent"));
    await site.waitForDevice("alice", "press-7", true);
    [hmi, otherHmi] = await Promise.all([
      addWebTarget(site, "alice", "press-7", "HMI", `${app.url}/`),
      addWebTarget(site, "alice", "press-7", "Line HMI", `${other.url}/`),
      addViewOnlyMember(site, "alice", BOB, "press-7"),
    ]);
  });
  after(() => sb?.cleanup());

  test("the device page lists the HMIs; HMI opens on its own host through the tunnel and everything on it works", async () => {
    const page = b.page;
    await signIn(page, site, ACME);
    await openDevice(page, "press-7");
    assert.deepEqual(await targetLinks(page), ["HMI", "Line HMI"]);
    const link = page.getByRole("link", { name: "HMI", exact: true });
    assert.equal(await link.getAttribute("href"), `/web/open/${hmi.id}`);
    assert.equal(await link.getAttribute("target"), "_blank");
    await screenshot(page, "device-page-targets");

    const opened = await openInNewTab(page, "HMI");
    hmiTab = opened.tab;
    // The launch hop set the grant cookie; the app's 302 / → /hmi/ was followed on the HMI's host.
    assert.equal(hmiTab.url(), `${hmiOrigin(site, hmi.id)}/hmi/`);
    assert.equal(opened.response?.status(), 200);
    await assertHmiWorks(hmiTab);
    await screenshot(hmiTab, "hmi-through-tunnel");

    // The cookie-backed form: a POST, a 303 with two Set-Cookies (one with Domain=127.0.0.1).
    await hmiTab.getByLabel("Operator name").fill("op-alice");
    await hmiTab.getByRole("button", { name: "Sign in" }).click();
    await waitForText(hmiTab.getByRole("status", { name: HMI_STATUS.operator.name }), "Operator: op-alice");
    await waitForText(hmiTab.getByRole("status", { name: HMI_STATUS.site.name }), HMI_STATUS.site.ok);
    assert.deepEqual(app.seen.logins, ["op-alice"]);
    await assertHmiWorks(hmiTab);
    // A message up the WebSocket and its answer back.
    await hmiTab.getByLabel("Speed setpoint").fill("57");
    await hmiTab.getByRole("button", { name: "Send setpoint" }).click();
    await waitForText(hmiTab.getByRole("status", { name: HMI_STATUS.setpoint.name }), "Setpoint: 57 acknowledged");
    await screenshot(hmiTab, "hmi-signed-in");

    // A redirect to the app's own absolute URL (http://127.0.0.1:port/hmi/) stays on the HMI's host.
    const moved = await hmiTab.goto(`${hmiOrigin(site, hmi.id)}/old`);
    assert.equal(hmiTab.url(), `${hmiOrigin(site, hmi.id)}/hmi/`);
    assert.equal(moved?.status(), 200);
    await waitForText(hmiTab.getByRole("status", { name: HMI_STATUS.operator.name }), "Operator: op-alice");
    await assertHmiWorks(hmiTab);
  });

  test("the HMI app saw its own Host and Origin and its own cookies, never the portal's nor the grant cookie", async () => {
    const names = app.cookieNamesSeen();
    assert.ok(!names.has(PORTAL_COOKIE), `the app received ${PORTAL_COOKIE}`);
    assert.ok(!names.has(GRANT_COOKIE), `the app received ${GRANT_COOKIE}`);
    assert.ok(names.has("hmi_session") && names.has("hmi_site"), `its own cookies came back: ${[...names].join(", ")}`);
    assert.ok(app.seen.requests.length > 5);
    assert.deepEqual([...new Set(app.seen.requests.map((r) => r.host))], [appTarget()], "Host of every request");
    assert.ok(app.seen.websockets.length >= 1);
    for (const ws of app.seen.websockets) assert.equal(ws.origin, app.url, "the WebSocket's Origin is the app's own");
    const last = app.seen.websockets.at(-1)!;
    assert.ok(last.cookies["hmi_session"] && last.cookies["hmi_site"] === "press-7", `WebSocket upgrade without the app's cookies: ${last.cookie}`);

    // In the browser: the grant is HttpOnly on the HMI's host, the app's cookies are host-only there.
    const origin = hmiOrigin(site, hmi.id);
    const jar = await b.context.cookies(origin);
    assert.deepEqual(jar.map((c) => c.name).sort(), [GRANT_COOKIE, "hmi_session", "hmi_site"]);
    const grant = jar.find((c) => c.name === GRANT_COOKIE)!;
    assert.equal(grant.httpOnly, true);
    assert.equal(grant.secure, true);
    assert.equal(jar.find((c) => c.name === "hmi_site")!.domain, `w-${hmi.id}.localhost`, "the Domain attribute was dropped: host-only");
    assert.deepEqual(await documentCookies(hmiTab), ["hmi_site"], "the page's script reads only the app's non-HttpOnly cookie");
    assert.deepEqual(await jarFor(b.context, portalUrl(site)), [PORTAL_COOKIE], "the portal's host has only the session cookie");
  });

  test("Live connections lists the HMI's open streams (those the app closed leave it); Close cuts one once confirmed, and the audit records it", async () => {
    const page = b.page;
    await goTo(page, "Live connections");
    await waitForText(page.getByRole("table", { name: "Devices connected to a relay" }).getByRole("rowheader"), "press-7");
    const data = page.getByRole("table", { name: "Open connections through devices" });
    const rows = data.getByRole("row").filter({ has: page.getByRole("cell", { name: appTarget(), exact: true }) });
    // The page's WebSocket and event stream stay; the connections that carried its plain requests
    // end once idle (the app's keep-alive timeout is 5 s). Only then is every listed row certain to
    // be still open when its Close is clicked.
    await waitUntil(
      "exactly the WebSocket and the event stream to the HMI are listed",
      async () => ((await rows.count()) === 2 ? true : undefined),
      20_000,
      100,
    );
    assert.deepEqual((await rows.first().getByRole("cell").allTextContents()).slice(0, 3), ["alice", "press-7", appTarget()]);
    await screenshot(page, "live-connections-hmi-streams");

    const listed = async (): Promise<string[]> =>
      page.evaluate(async () => ((await (await fetch("/api/v1/live/streams")).json()) as { streams: { id: string }[] }).streams.map((s) => String(s.id)));
    const before = await listed();
    const eventStreams = (): number => app.seen.requests.filter((r) => r.url === "/events").length;
    const eventStreamsBefore = eventStreams();
    await rows.first().getByRole("button", { name: "Close" }).click();
    const dialog = page.getByRole("dialog");
    await waitForText(dialog.locator("p"), new RegExp(`^Close the connection of alice to ${appTarget().replace(/\./g, "\\.")} on press-7\\?$`));
    await screenshot(page, "live-connections-confirm-close");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await waitForText(page.getByRole("status").filter({ hasText: "closed" }), `Connection of alice to ${appTarget()} closed.`);
    const record = await audited(
      site,
      "alice",
      "the cut is audited as stream.close",
      (r) => r.action === "stream.close" && r.actor === "alice" && r.target === appTarget(),
    );
    const cut = (record as AuditJson & { object: string }).object;
    assert.ok(before.includes(cut), `the cut stream ${cut} was listed: ${before.join(", ")}`);
    await waitUntil("the cut stream is gone from the list", async () => (!(await listed()).includes(cut) ? true : undefined), 5_000, 100);
    // The HMI page felt it: its WebSocket closed, or its EventSource had to connect again.
    const wsStatus = hmiTab.getByRole("status", { name: HMI_STATUS.websocket.name, exact: true });
    await waitUntil(
      "the HMI page lost the cut connection",
      async () => (/^WebSocket: closed/.test((await wsStatus.textContent()) ?? "") || eventStreams() > eventStreamsBefore ? true : undefined),
      10_000,
      100,
    );
    await screenshot(page, "live-connections-after-close");

    // The connections the app closed when idle were not kept for reuse: the page's next request gets through.
    const tagsAgain = await hmiTab.evaluate(async () => {
      const r = await fetch("/api/tags", { signal: AbortSignal.timeout(5_000) });
      return `${r.status} ${await r.text()}`;
    });
    assert.match(tagsAgain, /^200 \{"tags":/);
  });

  test("a second HMI on its own host name cannot read the first HMI's cookies", async () => {
    const page = b.page;
    await goTo(page, "Devices");
    await openDevice(page, "press-7");
    const { tab } = await openInNewTab(page, "Line HMI");
    const origin = hmiOrigin(site, otherHmi.id);
    assert.equal(tab.url(), `${origin}/hmi/`);
    await assertHmiWorks(tab);
    await waitForText(tab.getByRole("status", { name: HMI_STATUS.operator.name }), "Operator: none");
    await waitForText(tab.getByRole("status", { name: HMI_STATUS.site.name }), "Site: none");
    assert.deepEqual(await documentCookies(tab), [], "document.cookie of the second HMI");
    assert.deepEqual(await jarFor(b.context, origin), [GRANT_COOKIE]);
    const names = other.cookieNamesSeen();
    for (const name of ["hmi_session", "hmi_site", PORTAL_COOKIE, GRANT_COOKIE]) assert.ok(!names.has(name), `the second app received ${name}`);
    assert.deepEqual([...new Set(other.seen.requests.map((r) => r.host))], [`127.0.0.1:${other.port}`]);
    await screenshot(tab, "second-hmi-no-foreign-cookies");
    await tab.close();
  });

  test("the audit has alice's streams to the HMI, opened and ended", async () => {
    // Closing the tab ends its WebSocket and event stream, which completes their records.
    await hmiTab.close();
    await audited(
      site,
      "alice",
      "a stream.open of alice to the HMI",
      (r) => r.action === "stream.open" && r.actor === "alice" && r.device === "press-7" && r.target === appTarget() && r.result === "ok",
    );
    const ended = await audited(
      site,
      "alice",
      "an ended stream of alice to the HMI",
      (r) =>
        r.action === "stream" &&
        r.actor === "alice" &&
        r.device === "press-7" &&
        r.target === appTarget() &&
        r.result === "ok" &&
        r.endedAt !== null &&
        (r.bytesDown ?? 0) > 0,
    );
    assert.ok((ended.bytesUp ?? 0) > 0, `bytes up of ${JSON.stringify(ended)}`);
  });

  test("a member who may only view press-7 sees it, but the HMI link is refused and the refusal is audited", async () => {
    const { context, page } = await b.newContext();
    await signIn(page, site, BOB);
    await waitForText(page.locator(".who"), "bob@acme");
    await openDevice(page, "press-7");
    assert.deepEqual(await targetLinks(page), ["HMI", "Line HMI"]);
    assert.equal(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).count(), 0, "a member has no admin pages");
    await screenshot(page, "member-device-page");

    const requestsBefore = app.seen.requests.length;
    const { tab, response } = await openInNewTab(page, "HMI");
    assert.equal(response?.status(), 403);
    assert.equal(new URL(tab.url()).host, `localhost:${site.port}`, "refused on the portal, before any hand-over to the HMI's host");
    await waitForText(tab.getByRole("heading", { level: 1 }), "Access refused");
    await waitForText(tab.getByRole("alert"), /\bpress-7\b.*\bnot connect\b|\bnot connect\b.*\bpress-7\b/);
    await screenshot(tab, "member-hmi-refused");
    await audited(
      site,
      "alice",
      "bob's refused HMI is audited",
      (r) =>
        r.action === "stream" &&
        r.actor === "bob" &&
        r.device === "press-7" &&
        r.target === appTarget() &&
        r.result === "denied" &&
        /^forbidden: /.test(r.reason ?? ""),
    );

    // Straight to the HMI's host without the portal's hand-over: no grant, no way through.
    const direct = await tab.goto(`${hmiOrigin(site, hmi.id)}/hmi/`);
    assert.equal(direct?.status(), 401);
    await waitForText(tab.getByRole("alert"), /open this HMI from the Fernlink portal/);
    assert.equal(app.seen.requests.length, requestsBefore, "the HMI app saw nothing of bob");
    assert.deepEqual(await jarFor(context, hmiOrigin(site, hmi.id)), []);
    await context.close();
  });

  test("no page logged an error or broke its Content-Security-Policy, apart from the expected refusals", () => {
    b.assertNoProblems([
      ...PORTAL_ALLOWED_PROBLEMS,
      new RegExp(`status of 403 .*localhost:${site.port}/web/open/${hmi.id}`),
      new RegExp(`status of 401 .*w-${hmi.id}\\.localhost:${site.port}/hmi/`),
    ]);
  });
});
