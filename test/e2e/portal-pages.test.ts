import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { axeViolations, blocking } from "./helpers/axe.js";
import { screenshot, skipWithoutBrowser, useBrowser, waitForText } from "./helpers/browser.js";
import { Site } from "./helpers/fernlink.js";
import { addWebTarget, deviceRow, openDevice, PORTAL_ALLOWED_PROBLEMS, portalUrl, signIn } from "./helpers/portal.js";
import { PASSWORD, Sandbox, waitUntil } from "./helpers/processes.js";

/**
 * Every page of the portal in real Chromium at 1280 and 390 px: a screenshot of each, no serious
 * or critical axe-core violation, no horizontal page scroll on a phone (tables scroll in their
 * box), the menu folded behind its button there, and no error in the console. Then the Devices
 * page with 5,000 devices: search, status, pool and LAN filters, order and pages, timed.
 */

const ACME = { account: "acme", user: "alice" };
const WIDE = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const BULK = 5_000;

/** Pages of an admin, by hash, with their heading. */
const PAGES: readonly [hash: string, heading: string][] = [
  ["#/devices", "Devices"],
  ["#/devices/press-7", "press-7"],
  ["#/password", "Change password"],
  ["#/admin/users", "Users"],
  ["#/admin/groups", "Groups"],
  ["#/admin/pools", "Pools"],
  ["#/admin/access", "Access rules"],
  ["#/admin/devices", "Manage devices"],
  ["#/admin/web", "Web targets"],
  ["#/admin/policy", "Account policy"],
  ["#/admin/notifications", "Notifications"],
  ["#/admin/audit", "Audit log"],
  ["#/admin/connections", "Connection report"],
  ["#/admin/live", "Live connections"],
  ["#/admin/status", "Status"],
];

/** Waits until nothing on the page says it is loading (polled from here: the CSP forbids the page's eval). */
async function settled(page: Page): Promise<void> {
  await waitUntil(
    "the page has loaded",
    async () => ((await page.getByText(/^(Loading|Connecting for live updates)/).count()) === 0 ? true : undefined),
    10_000,
    50,
  );
}

/** Screenshot, axe and (on a phone) the width check of the page as it is; returns the problems found. */
async function inspect(page: Page, name: string, phone: boolean): Promise<string[]> {
  await screenshot(page, `${name}-${phone ? 390 : 1280}`);
  const problems = blocking(await axeViolations(page)).map((p) => `${name} at ${phone ? 390 : 1280} px: ${p}`);
  if (phone) {
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - innerWidth");
    if (overflow > 0) problems.push(`${name} at 390 px: the page scrolls sideways by ${overflow} px`);
  }
  return problems;
}

describe("web portal: every page at 1280 and 390 px, accessible, and the Devices page with 5,000 devices", { skip: skipWithoutBrowser }, () => {
  const b = useBrowser();
  let sb: Sandbox;
  let site: Site;

  before(async () => {
    sb = await Sandbox.create("portal-pages");
    site = await Site.start(sb, [ACME]);
    await site.login(ACME);
    const state = await site.register(await site.addDevice("alice", "press-7", ["127.0.0.0/8", "192.168.10.0/24"]), "agent");
    await site.startAgent(state);
    await site.waitForDevice("alice", "press-7", true);
    await addWebTarget(site, "alice", "press-7", "hmi", "http://192.168.10.5:8080/");
    // Setup through the REST API: the pages are under test here, not the CLI.
    await site.apiOk("alice", "POST", "/api/v1/pools", { name: "line-1" });
    await site.apiOk("alice", "POST", "/api/v1/pools", { name: "line-2" });
    await site.apiOk("alice", "POST", "/api/v1/pools/line-1/devices", { add: ["press-7"] });
    await site.apiOk("alice", "POST", "/api/v1/notifications/channels", { kind: "webhook", name: "ops-hook", url: "http://127.0.0.1:9/hook" });
    await site.apiOk("alice", "POST", "/api/v1/notifications/rules", { event: "device.offline", delaySeconds: 600, channel: "ops-hook", device: "press-7" });
  });
  after(() => sb?.cleanup());

  test("the sign-in page focuses its first field with a blue ring, not the error colour, and passes axe at both widths", async () => {
    const page = b.page;
    await page.goto(portalUrl(site));
    await waitForText(page.getByRole("heading", { level: 1 }), "Sign in");
    const ring = await page.evaluate<{ label: string | null; outline: string }>(
      `({ label: document.activeElement.labels?.[0]?.textContent ?? null, outline: getComputedStyle(document.activeElement).outlineColor })`,
    );
    assert.deepEqual(ring, { label: "Account", outline: "rgb(37, 99, 235)" });
    // The check finds what it is for: an image without a text alternative is a critical violation.
    await page.evaluate(`document.body.append(Object.assign(document.createElement("img"), { id: "no-alt", src: "/assets/favicon.svg" }))`);
    assert.match(blocking(await axeViolations(page)).join("\n"), /^critical image-alt: .* at #no-alt$/m);
    await page.evaluate(`document.getElementById("no-alt").remove()`);
    const problems = await inspect(page, "sign-in", false);
    await page.setViewportSize(PHONE);
    problems.push(...(await inspect(page, "sign-in", true)));
    await page.setViewportSize(WIDE);
    assert.deepEqual(problems, []);
  });

  test("every page of an admin: screenshots at 1280 and 390 px, no serious axe violation, no sideways scroll, the menu folded on a phone", async () => {
    const page = b.page;
    await signIn(page, site, ACME);
    const problems: string[] = [];
    for (const phone of [false, true]) {
      await page.setViewportSize(phone ? PHONE : WIDE);
      for (const [hash, heading] of PAGES) {
        await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
        await waitForText(page.getByRole("heading", { level: 1 }), heading);
        await settled(page);
        problems.push(...(await inspect(page, hash.replace(/^#\//, ""), phone)));
      }
    }
    // On a phone the links wait behind the Menu button, which opens and closes them.
    const nav = page.getByRole("navigation", { name: "Main" });
    const menu = nav.getByRole("button", { name: "Menu" });
    assert.equal(await menu.getAttribute("aria-expanded"), "false");
    assert.equal(await nav.getByRole("link", { name: "Devices", exact: true }).isVisible(), false);
    await menu.click();
    await nav.getByRole("link", { name: "Devices", exact: true }).click();
    await waitForText(page.getByRole("heading", { level: 1 }), "Devices");
    assert.equal(await menu.getAttribute("aria-expanded"), "false");
    await page.setViewportSize(WIDE);
    assert.equal(await menu.isVisible(), false);
    assert.deepEqual(problems, []);
    b.assertNoProblems(PORTAL_ALLOWED_PROBLEMS);
  });

  test("the device page says how to reach press-7: a copyable connect line for its targets, LAN ranges, pools, relay by name, zoned times", async () => {
    const page = b.page;
    await page.evaluate(`location.hash = "#/devices"`);
    await openDevice(page, "press-7");
    const connect = page.getByRole("region", { name: "Connect from your PC" });
    // An admin may reach the LAN ranges: the published HMI gives a concrete forward, the ranges a SOCKS proxy.
    await waitForText(connect.locator("pre").first(), "fernlink connect press-7 --forward 8080:192.168.10.5:8080");
    await waitForText(connect.locator("pre").nth(1), "fernlink connect press-7 --socks 1080");
    assert.deepEqual(await connect.getByRole("listitem").allTextContents(), ["127.0.0.0/8", "192.168.10.0/24"]);
    await connect.getByRole("button", { name: "Copy the forward command" }).waitFor();
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText keeps the line breaks between terms and values
    const details = await page.locator("dl.details").innerText();
    assert.match(details, /LAN ranges\s+127\.0\.0\.0\/8, 192\.168\.10\.0\/24/);
    assert.match(details, /Pools\s+line-1/);
    assert.doesNotMatch(details, /Relay\s+[0-9a-f]{8}-[0-9a-f]{4}-/, "the relay is shown by its name, not its id");
    // The browser runs in UTC: every time names its zone, and shows the exact UTC time on hover.
    const time = page.locator("dl.details time").first();
    assert.match((await time.textContent()) ?? "", /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    assert.match((await time.getAttribute("title")) ?? "", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  test("a member whose rule names hosts and ports gets one forward per allowed port (the HMI on another port left out) and no SOCKS line", async () => {
    const carol = { account: "acme", user: "carol" };
    await site.apiOk("alice", "POST", "/api/v1/users", { name: "carol", role: "member", password: PASSWORD });
    await site.apiOk("alice", "POST", "/api/v1/groups", { name: "fitters" });
    await site.apiOk("alice", "POST", "/api/v1/groups/fitters/members", { add: ["carol"] });
    await site.apiOk("alice", "POST", "/api/v1/access-rules", { group: "fitters", pool: "line-1", targets: ["192.168.10.5:502,80", "plc.local:4840"] });
    const { page } = await b.newContext();
    await signIn(page, site, carol);
    await openDevice(page, "press-7");
    const connect = page.getByRole("region", { name: "Connect from your PC" });
    await waitForText(
      connect.locator("pre"),
      "fernlink connect press-7 --forward 10080:192.168.10.5:80 --forward 10502:192.168.10.5:502 --forward 4840:plc.local:4840",
    );
    assert.deepEqual(await connect.getByRole("listitem").allTextContents(), ["192.168.10.5:80,502", "plc.local:4840"]);
    await screenshot(page, "device-press-7-member");
    assert.deepEqual(blocking(await axeViolations(page)), []);
    await page.context().close();
  });

  test("5,000 devices: the first page paints and each filter answers; search, status, pool, LAN, order and pages work together", async () => {
    const page = b.page;
    const db = new Database(join(site.dataDir, "fernlink.db"));
    try {
      db.pragma("busy_timeout = 5000");
      const account = db.prepare("select id from accounts where name = ?").get("acme") as { id: string };
      const relay = db.prepare("select id, name from relays order by created_at limit 1").get() as { id: string; name: string };
      const pools = db.prepare("select id, name from pools where account_id = ?").all(account.id) as { id: string; name: string }[];
      const line2 = pools.find((p) => p.name === "line-2")!.id;
      const addDevice = db.prepare(
        "insert into devices (id, account_id, name, lan, created_at, last_seen, last_address, relay_id, cert_serial) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      );
      const addToPool = db.prepare("insert into pool_devices (pool_id, device_id) values (?, ?)");
      db.transaction(() => {
        for (let i = 0; i < BULK; i++) {
          const id = randomUUID();
          const seen = i % 2 === 0 ? new Date(Date.UTC(2026, 10, 1, 0, 0, i)).toISOString() : null;
          addDevice.run(
            id,
            account.id,
            `m-${String(i).padStart(4, "0")}`,
            JSON.stringify([`10.${Math.floor(i / 256)}.${i % 256}.0/24`]),
            new Date().toISOString(),
            seen,
            null,
            seen ? relay.id : null,
            null,
          );
          if (i % 10 === 0) addToPool.run(line2, id);
        }
      })();

      await page.evaluate(`location.hash = "#/devices"`);
      const started = Date.now();
      await page.reload();
      const table = page.getByRole("table", { name: /^Devices of account / });
      await waitForText(page.locator(".result-count"), `${(BULK + 1).toLocaleString("en-US")} devices, 1 to 50 shown`, 30_000);
      const firstPaintMs = Date.now() - started;
      // Where the time went, by the browser's own clock: the list's request, its size, and the whole load.
      const timing = await page.evaluate<{
        appMs: number;
        listStartMs: number;
        listMs: number;
        listKiB: number;
        lists: number;
        sinceNavigationMs: number;
      }>(`(() => {
        const all = (path) => performance.getEntriesByType("resource").filter((e) => new URL(e.name).pathname === path);
        const last = (path) => all(path).at(-1);
        const [app, list] = [last("/assets/app.js"), last("/api/v1/devices")];
        return {
          appMs: Math.round(app.responseEnd),
          listStartMs: Math.round(list.startTime),
          listMs: Math.round(list.responseEnd - list.startTime),
          listKiB: Math.round(list.encodedBodySize / 1024),
          lists: all("/api/v1/devices").length,
          sinceNavigationMs: Math.round(performance.now()),
        };
      })()`);
      assert.equal(await table.getByRole("rowheader").count(), 50);
      // An offline device's last relay is shown by its name.
      await waitForText(deviceRow(page, "m-0000").getByRole("cell").nth(2), relay.name);

      const filterMs: number[] = [];
      const count = page.locator(".result-count");
      const timed = async (act: () => Promise<unknown>, done: () => Promise<unknown>): Promise<void> => {
        const t0 = Date.now();
        await act();
        await done();
        filterMs.push(Date.now() - t0);
      };
      const search = page.getByRole("searchbox", { name: "Search" });
      const status = page.getByLabel("Status", { exact: true });
      await timed(
        () => search.fill("m-12"),
        () => waitForText(count, "100 of 5,001 devices, 1 to 50 shown"),
      );
      await timed(
        () => status.selectOption("online"),
        () => waitForText(count, "0 of 5,001 devices"),
      );
      await waitForText(table.getByRole("cell"), "No device matches.");
      await timed(
        () => status.selectOption("offline"),
        () => waitForText(count, "100 of 5,001 devices, 1 to 50 shown"),
      );
      await timed(
        () => search.fill(""),
        () => waitForText(count, "5,000 of 5,001 devices, 1 to 50 shown"),
      );
      await timed(
        () => page.getByLabel("Pool", { exact: true }).selectOption("line-2"),
        () => waitForText(count, "500 of 5,001 devices, 1 to 50 shown"),
      );
      await timed(
        () => page.getByLabel("LAN", { exact: true }).fill("10.1.4.77"),
        () => waitForText(count, "1 of 5,001 devices"),
      );
      assert.deepEqual(await table.getByRole("rowheader").allTextContents(), ["m-0260"]);
      await timed(
        () => page.getByLabel("LAN", { exact: true }).fill(""),
        () => waitForText(count, "500 of 5,001 devices, 1 to 50 shown"),
      );
      await timed(
        () => page.getByLabel("Sort by", { exact: true }).selectOption("name-desc"),
        () => waitForText(table.getByRole("rowheader").first(), "m-4990"),
      );
      await page.getByRole("navigation", { name: "Pages of devices" }).getByRole("button", { name: "Next page" }).click();
      await waitForText(count, "500 of 5,001 devices, 51 to 100 shown");
      assert.equal(await table.getByRole("rowheader").first().textContent(), "m-4490");
      await screenshot(page, "devices-5000-filtered");
      assert.deepEqual(blocking(await axeViolations(page)), []);

      // Going to a device and back keeps the search.
      await openDevice(page, "m-4490");
      await page.getByRole("link", { name: "All devices" }).click();
      await waitForText(count, "500 of 5,001 devices, 51 to 100 shown");
      // Manage devices pages the same list, with a search of its own.
      await page.evaluate(`location.hash = "#/admin/devices"`);
      await waitForText(page.getByRole("heading", { level: 1 }), "Manage devices");
      await waitForText(count, "5,001 devices, 1 to 50 shown");
      assert.equal(await page.getByRole("table", { name: "Devices of the account" }).getByRole("rowheader").count(), 50);
      await page.getByRole("searchbox", { name: "Search" }).fill("m-4999");
      await page.getByRole("button", { name: "Remove m-4999" }).waitFor();
      console.log(
        `Devices page, ${BULK + 1} devices: first page ${firstPaintMs} ms after reload (${timing.sinceNavigationMs} ms by the page's clock: ` +
          `app.js loaded at ${timing.appMs} ms, GET /api/v1/devices asked at ${timing.listStartMs} ms and answered in ${timing.listMs} ms ` +
          `with ${timing.listKiB} KiB, ${timing.lists} time(s)); each filter or order ${filterMs.join(", ")} ms`,
      );
      b.assertNoProblems(PORTAL_ALLOWED_PROBLEMS);
    } finally {
      db.close();
    }
  });
});
