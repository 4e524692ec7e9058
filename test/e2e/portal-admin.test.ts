import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { screenshot, skipWithoutBrowser, useBrowser, waitForText } from "./helpers/browser.js";
import { Site } from "./helpers/fernlink.js";
import { audited, deviceStatus, goTo, PORTAL_ALLOWED_PROBLEMS, signIn } from "./helpers/portal.js";
import { PASSWORD, type Proc, Sandbox } from "./helpers/processes.js";

/**
 * The web portal in real headless Chromium against a real server and agent: an admin signs in
 * with the form, watches a device go online and offline as its agent starts and stops (live,
 * without reloading), and uses the admin pages to create a user, a group, a pool and an access
 * rule — which the CLI then sees and which really lets the new user reach the device.
 */

const ACME = { account: "acme", user: "alice" };
const CAROL = { account: "acme", user: "carol" };

/** The <dd> that follows the <dt> named `term` (the Status page's details list). */
function detail(page: Page, term: string) {
  return page.locator("dl.details dt", { hasText: term }).locator("xpath=following-sibling::dd[1]");
}

describe("web portal: sign-in, live device state and the admin pages", { skip: skipWithoutBrowser }, () => {
  const b = useBrowser();
  let sb: Sandbox;
  let site: Site;
  let agentState: string;
  let agent: Proc | undefined;

  before(async () => {
    sb = await Sandbox.create("portal-admin");
    site = await Site.start(sb, [ACME]);
    await site.login(ACME);
    agentState = await site.register(await site.addDevice("alice", "press-7"), "agent");
  });
  after(() => sb?.cleanup());

  test("the admin signs in with the form; press-7 turns online when its agent starts and offline when it stops, without a reload", async () => {
    const page = b.page;
    await signIn(page, site, ACME);
    await waitForText(page.locator(".who"), "alice@acme (admin)");
    await waitForText(deviceStatus(page, "press-7"), "offline");
    // The devices list follows the server's event stream, not a timer.
    await waitForText(page.getByText(/^(Updates live\.|Live updates unavailable.*|Connecting for live updates…)$/), "Updates live.");
    await screenshot(page, "signed-in-press-7-offline");
    // A reload would lose this marker (and the test would not know the row changed by itself).
    await page.evaluate(() => Object.assign(globalThis, { fernlinkTestMarker: "no reload" }));

    agent = await site.startAgent(agentState);
    await waitForText(deviceStatus(page, "press-7"), "online");
    await waitForText(page.getByText(/^press-7 is now (online|offline)\.$/), "press-7 is now online.");
    await screenshot(page, "press-7-online");

    const stopped = await agent.stop("SIGTERM");
    assert.equal(stopped.code, 0, stopped.stderr);
    await waitForText(deviceStatus(page, "press-7"), "offline");
    await waitForText(page.getByText(/^press-7 is now (online|offline)\.$/), "press-7 is now offline.");
    await screenshot(page, "press-7-offline-again");
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { fernlinkTestMarker?: string }).fernlinkTestMarker),
      "no reload",
      "the page was reloaded",
    );

    // Online again for the pages below.
    agent = await site.startAgent(agentState);
    await waitForText(deviceStatus(page, "press-7"), "online");
  });

  test("the Status page counts the connected agent; Live connections lists its control connection", async () => {
    const page = b.page;
    await goTo(page, "Status");
    await waitForText(detail(page, "Agents connected"), "1");
    await waitForText(detail(page, "Open streams"), "0");
    assert.match((await detail(page, "Version").textContent()) ?? "", /^\d+\.\d+\.\d+/);
    await screenshot(page, "status");

    await goTo(page, "Live connections");
    const control = page.getByRole("table", { name: "Devices connected to a relay" });
    await waitForText(control.getByRole("rowheader"), "press-7");
    await waitForText(page.getByRole("table", { name: "Open connections through devices" }).getByRole("cell"), "No open connections.");
    await screenshot(page, "live-connections");
  });

  test("Users: the admin creates a member with an initial password and it appears in the table", async () => {
    const page = b.page;
    await goTo(page, "Users");
    const form = page.getByRole("form", { name: "Add a user" });
    await form.getByLabel("Name", { exact: true }).fill("carol");
    await form.getByLabel("Role", { exact: true }).selectOption("member");
    await form.getByLabel("Initial password", { exact: true }).fill(PASSWORD);
    await form.getByRole("button", { name: "Create user" }).click();
    await waitForText(page.getByRole("status").filter({ hasText: "carol" }), "User carol created.");
    const row = page
      .getByRole("table", { name: "Users of the account" })
      .getByRole("row")
      .filter({ has: page.getByRole("rowheader", { name: "carol", exact: true }) });
    await waitForText(row.getByRole("cell").first(), "member");
    await row.getByRole("button", { name: "Delete carol" }).waitFor();
    await screenshot(page, "users-carol-created");
    const users = (await site.apiOk("alice", "GET", "/api/v1/users")) as { name: string; role: string }[];
    assert.deepEqual(users.find((u) => u.name === "carol")?.role, "member");
  });

  test("Groups and Pools: the admin creates a group with carol and a pool with press-7", async () => {
    const page = b.page;
    await goTo(page, "Groups");
    await page.getByLabel("Group name", { exact: true }).fill("operators");
    await page.getByRole("button", { name: "Create group" }).click();
    const group = page.getByRole("region", { name: "operators", exact: true });
    await group.getByLabel("Member to add to operators").selectOption("carol");
    await group.getByRole("button", { name: "Add member" }).click();
    await group.getByRole("button", { name: "Remove carol from operators" }).waitFor();
    assert.deepEqual(await group.getByRole("list", { name: "Members of operators" }).getByRole("listitem").locator("span").allTextContents(), ["carol"]);
    await screenshot(page, "group-operators");

    await goTo(page, "Pools");
    await page.getByLabel("Pool name", { exact: true }).fill("line-3");
    await page.getByRole("button", { name: "Create pool" }).click();
    const pool = page.getByRole("region", { name: "line-3", exact: true });
    await pool.getByLabel("Device to add to line-3").selectOption("press-7");
    await pool.getByRole("button", { name: "Add device" }).click();
    await pool.getByRole("button", { name: "Remove press-7 from line-3" }).waitFor();
    await screenshot(page, "pool-line-3");

    const groups = (await site.apiOk("alice", "GET", "/api/v1/groups")) as { name: string; members: string[] }[];
    assert.deepEqual(groups.find((g) => g.name === "operators")?.members, ["carol"]);
    const pools = (await site.apiOk("alice", "GET", "/api/v1/pools")) as { name: string; devices: string[] }[];
    assert.deepEqual(pools.find((p) => p.name === "line-3")?.devices, ["press-7"]);
  });

  test("Access rules: the admin adds a connect rule; the CLI lists it and carol now reaches press-7", async () => {
    const page = b.page;
    await goTo(page, "Access rules");
    const table = page.getByRole("table", { name: "Access rules of the account" });
    await waitForText(table.getByRole("cell"), "No rules: members see no devices.");
    const form = page.getByRole("form", { name: "Add a rule" });
    await form.getByLabel("Group", { exact: true }).selectOption("operators");
    await form.getByLabel("Pool", { exact: true }).selectOption("line-3");
    await form.getByLabel("Level", { exact: true }).selectOption("connect");
    await form.getByRole("button", { name: "Add rule" }).click();
    await waitForText(page.getByRole("status").filter({ hasText: "operators" }), "Group operators may now connect to pool line-3.");
    const row = table.getByRole("row").filter({ has: page.getByRole("button", { name: "Remove rule of operators on line-3" }) });
    // The confirmation shows before the table has reloaded.
    await row.waitFor();
    assert.deepEqual((await row.getByRole("cell").allTextContents()).slice(0, 4), ["operators", "line-3", "connect", "the devices' LAN ranges"]);
    await screenshot(page, "access-rule-added");

    const rules = JSON.parse(await site.ok("alice", ["access", "list", "--json"])) as {
      group: string;
      pool: string;
      level: string;
      targets?: string[] | null;
    }[];
    assert.deepEqual(
      rules.map((r) => [r.group, r.pool, r.level]),
      [["operators", "line-3", "connect"]],
    );
    // The audit names the admin for each change made in the browser.
    for (const action of ["user.add", "group.add", "group.members", "pool.add", "pool.devices", "access.grant"]) {
      await audited(site, "alice", `${action} by alice`, (r) => r.action === action && r.actor === "alice" && r.result === "ok");
    }
    // The user made in the browser signs in with the CLI and sees the device through the rule.
    await site.login(CAROL);
    assert.deepEqual(
      (await site.devices("carol")).map((d) => [d.name, d.online]),
      [["press-7", true]],
    );
  });

  test("Users: the admin ends carol's session, locks and unlocks her, makes her admin and resets her password, which she must change at sign-in", async () => {
    const page = b.page;
    await goTo(page, "Users");
    const confirm = async (): Promise<void> => page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
    const said = (text: string) => waitForText(page.getByRole("status").filter({ hasText: text }), text);
    const sessions = page.getByRole("table", { name: "Live sessions of the account" });
    await sessions.getByRole("rowheader", { name: "carol", exact: true }).waitFor();
    await sessions.getByRole("button", { name: /^End session of carol / }).click();
    await confirm();
    await said("Session of carol ended.");
    const whoami = await site.cli("carol", ["whoami"]);
    assert.match(whoami.stderr, /session has expired or was ended/);

    await page.getByRole("button", { name: "Lock carol" }).click();
    await confirm();
    await said("User carol locked.");
    const refused = await site.cli("carol", ["login"]);
    assert.match(refused.stderr, /user "carol" is locked by an admin/);
    await page.getByRole("button", { name: "Unlock carol" }).click();
    await said("User carol unlocked.");
    await page.getByRole("button", { name: "Make admin: carol" }).click();
    await said("User carol is now admin.");
    const users = (await site.apiOk("alice", "GET", "/api/v1/users")) as { name: string; role: string }[];
    assert.equal(users.find((u) => u.name === "carol")?.role, "admin");

    await page.getByRole("button", { name: "Reset password of carol" }).click();
    const reset = page.getByRole("form", { name: "Reset the password of carol" });
    await reset.getByLabel("One-time password", { exact: true }).fill("a one-time passphrase 42");
    await reset.getByRole("button", { name: "Reset password" }).click();
    await said("Password of carol reset; they must change it when they next sign in.");
    await screenshot(page, "users-admin-controls");
    await audited(site, "alice", "the reset by alice", (r) => r.action === "user.reset-password" && r.actor === "alice" && r.result === "ok");
    const records = await site.audit("alice", 100);
    for (const action of ["session.end", "user.lock", "user.unlock", "user.role"]) {
      assert.ok(
        records.some((r) => r.action === action && r.actor === "alice" && r.result === "ok"),
        `${action} by alice is audited`,
      );
    }

    // Carol signs in with the one-time password: the portal shows only the change-password form.
    await page.getByRole("button", { name: "Sign out" }).click();
    await waitForText(page.getByRole("heading", { level: 1 }), "Sign in");
    await page.getByLabel("Account", { exact: true }).fill("acme");
    await page.getByLabel("User", { exact: true }).fill("carol");
    await page.getByLabel("Password", { exact: true }).fill("a one-time passphrase 42");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await waitForText(page.getByRole("heading", { level: 1 }), "Change password");
    await page.getByText("An admin reset your password.", { exact: false }).waitFor();
    await page.getByLabel("Current password", { exact: true }).fill("a one-time passphrase 42");
    await page.getByLabel("New password", { exact: true }).fill("carol's own new passphrase");
    await page.getByLabel("Repeat new password", { exact: true }).fill("carol's own new passphrase");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
  });

  test("signing out returns to the sign-in form", async () => {
    const page = b.page;
    await page.getByRole("button", { name: "Sign out" }).click();
    await waitForText(page.getByRole("heading", { level: 1 }), "Sign in");
    await waitForText(page.getByRole("status"), "You have signed out.");
    assert.deepEqual(
      (await b.context.cookies(`https://localhost:${site.port}/`)).filter((c) => c.name === "__Host-fernlink").map((c) => c.value),
      [],
      "the session cookie is gone",
    );
    await screenshot(page, "signed-out");
  });

  test("no portal page logged an error or broke its Content-Security-Policy", () => {
    b.assertNoProblems(PORTAL_ALLOWED_PROBLEMS);
  });
});
