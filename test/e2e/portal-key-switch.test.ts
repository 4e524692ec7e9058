import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { screenshot, skipWithoutBrowser, useBrowser, waitForText } from "./helpers/browser.js";
import { Site } from "./helpers/fernlink.js";
import { deviceStatus, openDevice, signIn } from "./helpers/portal.js";
import { Sandbox } from "./helpers/processes.js";

/**
 * The machine owner's key switch in the portal, in real headless Chromium: as the switch turns on
 * site, the Devices list and the device page say so live, without a reload.
 */

const ACME = { account: "acme", user: "alice" };

/** The <dd> that follows the <dt> named `term` on a device page. */
function detail(page: Page, term: string) {
  return page.locator("dl.details dt", { hasText: term }).locator("xpath=following-sibling::dd[1]");
}

describe("web portal: the key switch on site", { skip: skipWithoutBrowser }, () => {
  const b = useBrowser();
  let sb: Sandbox;
  let site: Site;
  let stateDir: string;

  before(async () => {
    sb = await Sandbox.create("portal-key-switch");
    site = await Site.start(sb, [ACME]);
    await site.login(ACME);
    stateDir = await site.register(await site.addDevice("alice", "press-9"), "agent");
    await site.startAgent(stateDir);
    await site.waitForDevice("alice", "press-9", true);
  });
  after(() => sb?.cleanup());

  const turn = (position: string) => site.ok("agent", ["agent", "switch", position, "--state", stateDir]);

  test("the Devices list shows 'remote access off' at online and 'switched off' at off; the device page names the position", async () => {
    const page = b.page;
    await signIn(page, site, ACME);
    await waitForText(deviceStatus(page, "press-9"), "online");

    await turn("online");
    await waitForText(deviceStatus(page, "press-9"), "online remote access off");
    await screenshot(page, "devices-remote-access-off");

    await turn("off");
    await waitForText(deviceStatus(page, "press-9"), "offline switched off");

    await openDevice(page, "press-9");
    await waitForText(detail(page, "Key switch on site"), /^off: no connection \(since .+\)$/);
    await waitForText(page.locator(".offline-notice"), /^press-9 is switched off on site \(last seen .+\)$/);
    await screenshot(page, "device-switched-off");

    await turn("remote");
    await waitForText(detail(page, "Key switch on site"), /^remote: access as the rules allow \(since .+\)$/, 15_000);
    await waitForText(detail(page, "Status"), "online", 15_000);
  });
});
