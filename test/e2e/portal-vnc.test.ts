import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page, Response } from "playwright-core";
import { screenshot, skipWithoutBrowser, useBrowser, waitForText } from "./helpers/browser.js";
import { Site } from "./helpers/fernlink.js";
import {
  addViewOnlyMember,
  addWebTarget,
  audited,
  openDevice,
  PORTAL_ALLOWED_PROBLEMS,
  portalUrl,
  signIn,
  targetLinks,
  type WebTargetJson,
} from "./helpers/portal.js";
import { Sandbox } from "./helpers/processes.js";
import { closedPort } from "./helpers/targets.js";
import { startXvnc, XVNC_BACKGROUND, type Xvnc, xvncMissing } from "./helpers/xvnc.js";

/**
 * The portal's VNC viewer in real headless Chromium against a real VNC server (Debian's Xvnc)
 * behind a real agent: the panel connects, the framebuffer is drawn (the root window's colour is
 * read back from noVNC's canvas), the VNC password never reaches the browser, and a member who
 * may only view the device is refused with the reason shown and audited.
 */

const ACME = { account: "acme", user: "alice" };
const BOB = { account: "acme", user: "bob" };
const VNC_PASSWORD = "Pnl-Secret-7391";

/** Under CI a missing Xvnc fails the run (startXvnc throws); elsewhere the file is skipped. */
const skip = skipWithoutBrowser || (process.env["CI"] === "true" ? false : (xvncMissing() ?? false));

/**
 * Runs in the page: true once noVNC's canvas in the "Remote screen" shows `rgb` (±tolerance) at
 * the centre and near each corner. A string, since the tests are compiled without the DOM types.
 */
const FRAMEBUFFER_DRAWN = `([r, g, b, tolerance]) => {
  const canvas = document.querySelector('[aria-label="Remote screen"] canvas');
  if (!canvas || canvas.width < 100 || canvas.height < 100) return false;
  const ctx = canvas.getContext("2d");
  if (!ctx) return false;
  const points = [[0.5, 0.5], [0.05, 0.05], [0.95, 0.05], [0.05, 0.95], [0.95, 0.95]];
  return points.every(([x, y]) => {
    const d = ctx.getImageData(Math.floor(canvas.width * x), Math.floor(canvas.height * y), 1, 1).data;
    return Math.abs(d[0] - r) <= tolerance && Math.abs(d[1] - g) <= tolerance && Math.abs(d[2] - b) <= tolerance;
  });
}`;

/** Everything a page received that a leaked password could hide in. */
interface Received {
  responses: { url: string; status: number; body: Promise<Buffer | undefined> }[];
  wsReceived: Buffer[];
  wsSent: Buffer[];
}

function watchTraffic(page: Page): Received {
  const received: Received = { responses: [], wsReceived: [], wsSent: [] };
  page.on("response", (r: Response) => {
    const type = r.headers()["content-type"] ?? "";
    // An event stream never ends (its body would never resolve); redirects have no body.
    if (type.startsWith("text/event-stream") || r.status() < 200 || (r.status() >= 300 && r.status() < 400)) return;
    received.responses.push({ url: r.url(), status: r.status(), body: r.body().catch(() => undefined) });
  });
  page.on("websocket", (ws) => {
    const bytes = (payload: string | Buffer): Buffer => (typeof payload === "string" ? Buffer.from(payload, "utf8") : payload);
    ws.on("framereceived", (f) => received.wsReceived.push(bytes(f.payload)));
    ws.on("framesent", (f) => received.wsSent.push(bytes(f.payload)));
  });
  return received;
}

describe("web portal: VNC viewer against Xvnc", { skip }, () => {
  const b = useBrowser();
  let sb: Sandbox;
  let site: Site;
  let xvnc: Xvnc;
  let panel: WebTargetJson;
  let received: Received;
  const panelTarget = (): string => `127.0.0.1:${xvnc.port}`;

  before(async () => {
    sb = await Sandbox.create("portal-vnc");
    xvnc = await startXvnc(VNC_PASSWORD);
    sb.defer(() => xvnc.stop());
    site = await Site.start(sb, [ACME]);
    await site.login(ACME);
    await site.startAgent(await site.register(await site.addDevice("alice", "press-7"), "agent"));
    await site.waitForDevice("alice", "press-7", true);
    [panel] = await Promise.all([
      addWebTarget(site, "alice", "press-7", "Panel", `vnc://127.0.0.1:${xvnc.port}`, VNC_PASSWORD),
      addWebTarget(site, "alice", "press-7", "HMI", `http://127.0.0.1:${await closedPort()}/`),
      addViewOnlyMember(site, "alice", BOB, "press-7"),
    ]);
    assert.equal(panel.hasPassword, true);
  });
  after(() => sb?.cleanup());

  test("the admin opens Panel: the viewer connects and draws Xvnc's framebuffer", async () => {
    const page = b.page;
    received = watchTraffic(page);
    await signIn(page, site, ACME);
    await openDevice(page, "press-7");
    assert.deepEqual(await targetLinks(page), ["HMI", "Panel"]);
    const link = page.getByRole("link", { name: "Panel", exact: true });
    assert.equal(await link.getAttribute("href"), `#/vnc/${panel.id}`);
    await link.click();
    await waitForText(page.getByRole("heading", { level: 1 }), "VNC viewer");
    assert.equal(page.url(), `${portalUrl(site)}#/vnc/${panel.id}`);
    const status = page.getByRole("status").filter({ hasText: /^(Connecting…|Connected|Disconnected)/ });
    await waitForText(status, `Connected to ${xvnc.desktopName}`, 15_000);
    assert.ok(xvnc.background, "xsetroot painted the root window (x11-xserver-utils is installed)");
    const { red, green, blue } = XVNC_BACKGROUND;
    await page.waitForFunction(FRAMEBUFFER_DRAWN, [red, green, blue, 8], { timeout: 15_000 });
    const size = await page.evaluate(`(() => { const c = document.querySelector('[aria-label="Remote screen"] canvas'); return [c.width, c.height]; })()`);
    assert.deepEqual(size, [xvnc.width, xvnc.height], "the canvas holds the whole remote desktop");
    assert.equal(await page.getByRole("button", { name: "Ctrl+Alt+Del" }).isEnabled(), true);
    await screenshot(page, "vnc-connected-framebuffer");
    await audited(
      site,
      "alice",
      "alice's VNC stream is audited",
      (r) => r.action === "stream.open" && r.actor === "alice" && r.device === "press-7" && r.target === panelTarget(),
    );
  });

  test("the VNC password reached the browser nowhere: not in the page, any answer, nor the WebSocket", async () => {
    const page = b.page;
    assert.ok(!(await page.content()).includes(VNC_PASSWORD), "the page's HTML holds the password");
    const secret = Buffer.from(VNC_PASSWORD, "utf8");
    const bodies = await Promise.all(received.responses.map(async (r) => ({ ...r, bytes: await r.body })));
    const api = bodies.filter((r) => new URL(r.url).pathname.startsWith("/api/v1/"));
    assert.ok(
      api.some((r) => new URL(r.url).pathname === "/api/v1/devices/press-7/web" && r.bytes !== undefined),
      `the target list was among the answers read: ${bodies.map((r) => r.url).join(", ")}`,
    );
    const web = api.find((r) => new URL(r.url).pathname === "/api/v1/devices/press-7/web")!;
    assert.match(web.bytes!.toString("utf8"), /"hasPassword":true/);
    for (const r of bodies) assert.ok(!r.bytes?.includes(secret), `the answer of ${r.url} holds the VNC password`);

    // What the server told noVNC: RFB 3.8, one security type, None (1), and SecurityResult OK.
    assert.ok(received.wsReceived.length > 0, "frames arrived on the VNC WebSocket");
    const stream = Buffer.concat(received.wsReceived);
    assert.equal(stream.subarray(0, 12).toString("latin1"), "RFB 003.008\n");
    assert.deepEqual([...stream.subarray(12, 18)], [1, 1, 0, 0, 0, 0], "security types [None] then SecurityResult OK");
    assert.ok(!stream.includes(secret), "the VNC password went down the WebSocket");
    const sent = Buffer.concat(received.wsSent);
    assert.equal(sent.subarray(0, 12).toString("latin1"), "RFB 003.008\n");
    assert.equal(sent[12], 1, "noVNC chose security type None");
  });

  test("Disconnect ends the session; Reconnect draws the screen again", async () => {
    const page = b.page;
    const status = page.getByRole("status").filter({ hasText: /^(Connecting…|Connected|Disconnected)/ });
    await page.getByRole("button", { name: "Disconnect" }).click();
    await waitForText(status, "Disconnected");
    await page.getByRole("button", { name: "Reconnect" }).click();
    await waitForText(status, `Connected to ${xvnc.desktopName}`, 15_000);
    const { red, green, blue } = XVNC_BACKGROUND;
    await page.waitForFunction(FRAMEBUFFER_DRAWN, [red, green, blue, 8], { timeout: 15_000 });
    await screenshot(page, "vnc-reconnected");
    await page.getByRole("button", { name: "Disconnect" }).click();
    await waitForText(status, "Disconnected");
  });

  test("a member who may only view press-7 is refused by the viewer with the reason, and the refusal is audited", async () => {
    const { context, page } = await b.newContext();
    await signIn(page, site, BOB);
    await openDevice(page, "press-7");
    assert.deepEqual(await targetLinks(page), ["HMI", "Panel"]);
    await page.getByRole("link", { name: "Panel", exact: true }).click();
    await waitForText(page.getByRole("heading", { level: 1 }), "VNC viewer");
    const status = page.getByRole("status").filter({ hasText: /^(Connecting…|Connected|Disconnected)/ });
    const text = await waitForText(status, /^Disconnected: .+/, 15_000);
    assert.match(text, /may see device "press-7" but not connect to it/);
    await page.getByRole("button", { name: "Reconnect" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Ctrl+Alt+Del" }).isDisabled(), true);
    await screenshot(page, "member-vnc-refused");
    await audited(
      site,
      "alice",
      "bob's refused VNC panel is audited",
      (r) =>
        r.action === "stream" &&
        r.actor === "bob" &&
        r.device === "press-7" &&
        r.target === panelTarget() &&
        r.result === "denied" &&
        /^forbidden: /.test(r.reason ?? ""),
    );
    await context.close();
  });

  test("no portal page logged an error or broke its Content-Security-Policy, apart from the expected refusal", () => {
    b.assertNoProblems([
      ...PORTAL_ALLOWED_PROBLEMS,
      // noVNC's own log (console.error at its default level) of the member's refusal shown above.
      /^Failed when connecting: Security negotiation failed on no security types \(reason: you may see device "press-7" but not connect to it\b/,
    ]);
  });
});
