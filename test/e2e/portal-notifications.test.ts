import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { verifyWebhookSignature } from "../../src/protocol/webhook-signature.js";
import { screenshot, skipWithoutBrowser, useBrowser, waitForText } from "./helpers/browser.js";
import { Site } from "./helpers/fernlink.js";
import { goTo, PORTAL_ALLOWED_PROBLEMS, signIn } from "./helpers/portal.js";
import { Sandbox, waitUntil } from "./helpers/processes.js";

/**
 * The portal's Notifications page in real Chromium: an admin adds a webhook channel (its
 * signing secret shown once), tests it, adds an alarm rule, sees a machine's alarm arrive at the
 * receiver signed with that secret and as "sent" in the delivery log, then removes both.
 */

const ACME = { account: "acme", user: "alice" };

interface Hook {
  event: string;
  raw: Buffer;
  signature: string | undefined;
}

describe("web portal: notification channels, rules and the delivery log", { skip: skipWithoutBrowser }, () => {
  const b = useBrowser();
  let sb: Sandbox;
  let site: Site;
  let agentState: string;
  const hooks: Hook[] = [];
  let hookUrl = "";

  before(async () => {
    sb = await Sandbox.create("portal-notifications");
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const signature = req.headers["x-fernlink-signature"];
        hooks.push({
          event: String(req.headers["x-fernlink-event"]),
          raw: Buffer.concat(chunks),
          signature: typeof signature === "string" ? signature : undefined,
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    sb.defer(() => new Promise((resolve) => receiver.close(resolve)));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    site = await Site.start(sb, [ACME]);
    await site.login(ACME);
    agentState = await site.register(await site.addDevice("alice", "press-7"), "agent");
  });
  after(() => sb?.cleanup());

  test("an admin adds and tests a webhook channel and an alarm rule, sees the delivery in the log, and removes both", async () => {
    const page = b.page;
    await signIn(page, site, ACME);
    await goTo(page, "Notifications");
    await waitForText(page.getByRole("table", { name: "Where notifications go" }).getByRole("cell"), "No channels.");

    const channelForm = page.getByRole("form", { name: "Add a channel" });
    await channelForm.getByLabel("Channel name", { exact: true }).fill("ops-hook");
    await channelForm.getByLabel("Kind", { exact: true }).selectOption("webhook");
    await channelForm.getByLabel("Webhook URL", { exact: true }).fill(hookUrl);
    await channelForm.getByRole("button", { name: "Add channel" }).click();
    await waitForText(page.getByRole("status").filter({ hasText: "ops-hook" }), "Channel ops-hook added.");
    const secret = await page.getByLabel("Signing secret", { exact: true }).inputValue();
    assert.ok(secret.length >= 32, secret);
    await screenshot(page, "channel-added-secret");
    await page.getByRole("button", { name: "Done" }).click();
    const channels = page.getByRole("table", { name: "Where notifications go" });
    await waitForText(channels.getByRole("rowheader"), "ops-hook");
    assert.equal(await page.getByLabel("Signing secret", { exact: true }).count(), 0, "the secret is gone from the page");

    await channels.getByRole("button", { name: "Test ops-hook" }).click();
    await waitForText(page.getByRole("status").filter({ hasText: "Test message" }), "Test message on ops-hook delivered.");
    const tested = hooks.find((h) => h.event === "test");
    assert.ok(tested && verifyWebhookSignature(secret, tested.raw, tested.signature), "the test POST is signed with the secret shown");

    const ruleForm = page.getByRole("form", { name: "Add a rule" });
    await ruleForm.getByLabel("Event", { exact: true }).selectOption("alarm");
    await ruleForm.getByLabel("Lowest severity", { exact: true }).selectOption("warning");
    await ruleForm.getByLabel("Channel", { exact: true }).selectOption("ops-hook");
    await ruleForm.getByRole("button", { name: "Add rule" }).click();
    await waitForText(page.getByRole("status").filter({ hasText: "Rule" }), "Rule alarm to ops-hook added.");
    const rules = page.getByRole("table", { name: "Which event goes where" });
    await waitForText(rules.getByRole("rowheader"), "alarm");
    await waitForText(rules.getByRole("cell").nth(2), "warning");

    await site.ok("agent", ["agent", "alarm", "--state", agentState, "--severity", "critical", "spindle 92 °C"]);
    const alarm = await waitUntil("the alarm webhook", async () => hooks.find((h) => h.event === "alarm"), 15_000, 50);
    assert.ok(verifyWebhookSignature(secret, alarm.raw, alarm.signature));
    const log = page.getByRole("table", { name: "Latest notifications, queued and done" });
    const sent = log.getByRole("row").filter({ hasText: "alarm" });
    await waitUntil(
      "the delivery log shows the alarm sent",
      async () => {
        await page.getByRole("button", { name: "Refresh" }).click();
        return (await sent
          .getByRole("cell")
          .nth(5)
          .textContent({ timeout: 2_000 })
          .catch(() => null)) === "sent"
          ? true
          : undefined;
      },
      15_000,
      500,
    );
    await screenshot(page, "delivery-log");

    const confirm = async (): Promise<void> => page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
    await rules.getByRole("button", { name: "Remove the alarm rule to ops-hook" }).click();
    await confirm();
    await waitForText(rules.getByRole("cell"), "No rules.");
    await channels.getByRole("button", { name: "Remove channel ops-hook" }).click();
    await confirm();
    await waitForText(channels.getByRole("cell"), "No channels.");
    const left = JSON.parse(await site.ok("alice", ["notify", "channel", "list", "--json"])) as unknown[];
    assert.deepEqual(left, []);
    b.assertNoProblems(PORTAL_ALLOWED_PROBLEMS);
  });
});
