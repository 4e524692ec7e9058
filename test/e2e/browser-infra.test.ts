import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { issueServerCertificate, loadOrCreateCa } from "../../src/access/ca.js";
import { CHROMIUM_FLAGS, launchBrowser, screenshot, skipWithoutBrowser, useBrowser, waitForText } from "./helpers/browser.js";
import { HMI_STATUS, type HmiApp, startHmiApp } from "./helpers/hmi-app.js";

/**
 * Self-test of the browser test infrastructure, before any proxy is involved: real headless
 * Chromium opens the test HMI app directly (127.0.0.1, hmi.localhost, and over HTTPS at
 * w-abc.localhost) and every feature the web proxy must carry works.
 */

/** Waits until every status line of the HMI page reads its "working" text. */
async function assertHmiWorks(page: Page): Promise<void> {
  await waitForText(page.getByRole("heading", { level: 1 }), "Press 7 HMI");
  for (const key of ["stylesheet", "image", "websocket", "speed", "sse", "tags"] as const) {
    const { name, ok } = HMI_STATUS[key];
    await waitForText(page.getByRole("status", { name, exact: true }), ok);
  }
  // Values keep coming: the WebSocket and the event stream are not buffered to the end.
  await waitForText(page.getByRole("status", { name: HMI_STATUS.speed.name }), /^Speed: (4[5-9]|[5-9]\d|\d{3,})$/);
  await waitForText(page.getByRole("status", { name: HMI_STATUS.sse.name }), /^SSE: tick ([3-9]|\d{2,})$/);
}

async function signIn(page: Page, operator: string): Promise<void> {
  await page.getByLabel("Operator name").fill(operator);
  await page.getByRole("button", { name: "Sign in" }).click();
  await waitForText(page.getByRole("status", { name: HMI_STATUS.operator.name }), `Operator: ${operator}`);
}

async function assertPng(path: string): Promise<void> {
  const bytes = await readFile(path);
  assert.deepEqual([...bytes.subarray(1, 4)], [...Buffer.from("PNG")], `${path} is not a PNG`);
}

describe("browser test infrastructure", { skip: skipWithoutBrowser }, () => {
  const b = useBrowser();
  let app: HmiApp;

  before(async () => {
    app = await startHmiApp();
  });
  after(() => app?.close());

  test("Chromium runs headless with our flags on a fresh profile that is deleted on close", async (t) => {
    const started = Date.now();
    const own = await launchBrowser(t);
    t.diagnostic(`browser launch (process, context and page) took ${Date.now() - started} ms`);
    await own.page.goto("chrome://version");
    const commandLine = await waitForText(own.page.locator("#command_line"), /--headless/);
    for (const flag of CHROMIUM_FLAGS) assert.ok(commandLine.split(/\s+/).includes(flag), `${flag} missing from ${commandLine}`);
    const profile = /--user-data-dir=(\S+)/.exec(commandLine)?.[1] ?? "";
    assert.ok(profile.startsWith(tmpdir()), `profile "${profile}" is not a fresh temporary directory`);
    assert.match(await own.browser.version(), /^\d+\./);
    await screenshot(own.page, "chrome-version");
    assert.ok(existsSync(profile));
    await own.close();
    assert.equal(existsSync(profile), false, `profile ${profile} was not removed`);
  });

  test("/ redirects to /hmi/ where stylesheet, image, WebSocket, SSE and fetch all work", async () => {
    const response = await b.page.goto(`${app.url}/`);
    assert.equal(b.page.url(), `${app.url}/hmi/`);
    assert.equal(response?.status(), 200);
    await assertHmiWorks(b.page);
    await screenshot(b.page, "hmi-direct");
    const first = app.seen.requests.find((r) => r.url === "/");
    assert.equal(first?.host, `127.0.0.1:${app.port}`);
    const ws = app.seen.websockets.at(-1);
    assert.equal(ws?.origin, app.url);
    assert.equal(ws?.host, `127.0.0.1:${app.port}`);
    assert.ok(app.seen.wsMessages.includes(JSON.stringify({ hello: "hmi.js" })));
  });

  test("the sign-in form sets the HttpOnly session cookie and the Domain cookie, and later requests carry both", async () => {
    await signIn(b.page, "alice");
    await waitForText(b.page.getByRole("status", { name: HMI_STATUS.site.name }), HMI_STATUS.site.ok);
    assert.deepEqual(app.seen.logins, ["alice"]);
    const cookies = await b.context.cookies(app.url);
    assert.equal(cookies.find((c) => c.name === "hmi_session")?.httpOnly, true);
    assert.ok(cookies.some((c) => c.name === "hmi_site"));
    await assertHmiWorks(b.page);
    const ws = app.seen.websockets.at(-1);
    assert.ok(ws?.cookies["hmi_session"] && ws.cookies["hmi_site"] === "press-7", `WebSocket upgrade without the cookies: ${ws?.cookie}`);
    await screenshot(b.page, "hmi-signed-in");
  });

  test("a setpoint goes to the app over the WebSocket and its acknowledgement comes back", async () => {
    await b.page.getByLabel("Speed setpoint").fill("57");
    await b.page.getByRole("button", { name: "Send setpoint" }).click();
    await waitForText(b.page.getByRole("status", { name: HMI_STATUS.setpoint.name }), "Setpoint: 57 acknowledged");
    assert.ok(app.seen.wsMessages.includes(JSON.stringify({ setpoint: 57 })));
  });

  test("an absolute-URL redirect leads back to the app's own origin", async () => {
    await b.page.goto(`${app.url}/old`);
    assert.equal(b.page.url(), `${app.url}/hmi/`);
    await assertHmiWorks(b.page);
  });

  test("*.localhost resolves to loopback: hmi.localhost reaches the app with its own Host, Origin and cookie jar", async () => {
    const origin = `http://hmi.localhost:${app.port}`;
    await b.page.goto(`${origin}/`);
    assert.equal(b.page.url(), `${origin}/hmi/`);
    await assertHmiWorks(b.page);
    await waitForText(b.page.getByRole("status", { name: HMI_STATUS.operator.name }), "Operator: none");
    assert.equal(app.seen.websockets.at(-1)?.origin, origin);
    assert.equal(app.seen.websockets.at(-1)?.host, `hmi.localhost:${app.port}`);
    await signIn(b.page, "bob");
    // The browser refuses `Domain=127.0.0.1` from hmi.localhost: through a proxy the cookie only
    // arrives if the proxy strips Domain, which is what the portal tests check.
    await waitForText(b.page.getByRole("status", { name: HMI_STATUS.site.name }), "Site: none");
    await assertHmiWorks(b.page);
    await screenshot(b.page, "hmi-localhost");
  });

  test("an HTTPS app on 127.0.0.1 is reached as https://w-abc.localhost with wss, SSE and Secure cookies", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "fernlink-e2e-browser-ca-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const now = new Date();
    const ca = await loadOrCreateCa(dir, { now });
    const issued = await issueServerCertificate(ca, { hostnames: ["localhost", "*.localhost"], now });
    const secureApp = await startHmiApp({ tls: { key: issued.keyPem, cert: issued.certPem } });
    t.after(() => secureApp.close());
    const origin = `https://w-abc.localhost:${secureApp.port}`;

    await b.page.goto(`${origin}/`);
    assert.equal(b.page.url(), `${origin}/hmi/`);
    await assertHmiWorks(b.page);
    await signIn(b.page, "carol");
    const session = (await b.context.cookies(origin)).find((c) => c.name === "hmi_session");
    assert.equal(session?.secure, true);
    assert.equal(secureApp.seen.websockets.at(-1)?.origin, origin);
    assert.ok(secureApp.seen.requests.every((r) => r.host === `w-abc.localhost:${secureApp.port}`));
    await assertHmiWorks(b.page);
    await screenshot(b.page, "hmi-https-w-abc-localhost");
    await b.page.goto("about:blank"); // before the app closes under the page's event stream
  });

  test("a second context has its own cookie jar", async () => {
    const other = await b.newContext();
    await other.page.goto(`${app.url}/hmi/`);
    await waitForText(other.page.getByRole("status", { name: HMI_STATUS.operator.name }), "Operator: none");
    await other.context.close();
  });

  test("console errors, uncaught page errors and CSP violations are collected", async (t) => {
    const bad = http.createServer((req, res) => {
      if (req.url === "/bad.js") {
        res.writeHead(200, { "content-type": "text/javascript" });
        res.end(`console.error("deliberate console error"); throw new Error("deliberate page error");`);
        return;
      }
      res.writeHead(200, { "content-type": "text/html", "content-security-policy": "default-src 'self'" });
      res.end(`<!doctype html><title>bad</title><script>document.title = "inline ran";</script><script src="/bad.js"></script>`);
    });
    await new Promise<void>((resolve) => bad.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => bad.close(() => resolve())));
    const own = await launchBrowser(t);
    await own.page.goto(`http://127.0.0.1:${(bad.address() as AddressInfo).port}/`);
    // Each wait fails the test if its problem is never recorded.
    await Promise.all([
      own.waitForProblem("CSP violation", (p) => p.kind === "csp-violation"),
      own.waitForProblem("page error", (p) => p.kind === "page-error" && /deliberate page error/.test(p.text)),
      own.waitForProblem("console error", (p) => p.kind === "console-error" && p.text === "deliberate console error"),
      own.waitForProblem("CSP console error", (p) => p.kind === "console-error" && /Content Security Policy/.test(p.text)),
    ]);
    assert.notEqual(await own.page.title(), "inline ran");
    assert.throws(() => own.assertNoProblems(), /deliberate page error/);
    own.assertNoProblems([/deliberate/, /Content Security Policy/, /script-src/]);
    for (const file of await own.screenshotAll("bad-page")) await assertPng(file);
  });

  test("no page of the HMI app logged an error or broke its CSP", () => {
    b.assertNoProblems();
  });
});
