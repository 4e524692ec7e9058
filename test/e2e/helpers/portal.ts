import type { BrowserContext, Locator, Page, Response } from "playwright-core";
import { waitForText } from "./browser.js";
import type { AuditJson, Site } from "./fernlink.js";
import { PASSWORD, waitUntil } from "./processes.js";

/**
 * What the portal's browser tests share: signing in through the form, finding a device's row,
 * following a target link that opens a new tab, and waiting for audit records.
 */

/**
 * Console messages the portal causes on purpose: none. Chromium logs every 4xx answer, so the
 * portal's first question (is there a session?) goes to GET /api/v1/session/state, a 200 either way.
 */
export const PORTAL_ALLOWED_PROBLEMS: readonly RegExp[] = [];

/**
 * The portal's address. Always `localhost` (never 127.0.0.1): the `__Host-` session cookie and
 * the HMI host names `w-<id>.localhost` need the name the server's web domain is derived from.
 */
export function portalUrl(site: Site): string {
  return `https://localhost:${site.port}/`;
}

/** The public origin of web target `id` (HMIs open on their own host under the web domain). */
export function hmiOrigin(site: Site, id: string): string {
  return `https://w-${id}.localhost:${site.port}`;
}

/** Opens the portal and signs in through its form; resolves once the Devices page shows. */
export async function signIn(page: Page, site: Site, who: { account: string; user: string }, password = PASSWORD): Promise<void> {
  await page.goto(portalUrl(site));
  await waitForText(page.getByRole("heading", { level: 1 }), "Sign in");
  await page.getByLabel("Account", { exact: true }).fill(who.account);
  await page.getByLabel("User", { exact: true }).fill(who.user);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await waitForText(page.getByRole("heading", { level: 1 }), "Devices");
}

/** Follows a link of the main navigation and waits for the page's heading. */
export async function goTo(page: Page, link: string, heading = link): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link, exact: true }).click();
  await waitForText(page.getByRole("heading", { level: 1 }), heading);
}

/** The table row of device `name` on the Devices page. */
export function deviceRow(page: Page, name: string): Locator {
  return page
    .getByRole("table", { name: /^Devices of account / })
    .getByRole("row")
    .filter({ has: page.getByRole("rowheader", { name, exact: true }) });
}

/** The Status cell ("online"/"offline") of device `name` on the Devices page. */
export function deviceStatus(page: Page, name: string): Locator {
  return deviceRow(page, name).getByRole("cell").first();
}

/** Opens the device page by its link in the Devices table. */
export async function openDevice(page: Page, name: string): Promise<void> {
  await deviceRow(page, name).getByRole("link", { name, exact: true }).click();
  await waitForText(page.getByRole("heading", { level: 1 }), name);
}

/** The links under "Web pages and screens" of a device page, once loaded. */
export async function targetLinks(page: Page): Promise<string[]> {
  const section = page.getByRole("region", { name: "Web pages and screens" });
  await section.getByRole("listitem").first().waitFor();
  return (await section.getByRole("link").allTextContents()).map((s) => s.trim());
}

/**
 * Clicks a target link that opens in a new tab (target=_blank, rel=noopener: no opener, so
 * the context's `page` event rather than the page's `popup`) and waits until it has loaded.
 */
export async function openInNewTab(page: Page, link: string): Promise<{ tab: Page; response: Response | null }> {
  const context: BrowserContext = page.context();
  // Listened to on the context from before the click: the tab's first answers come before its
  // `page` event, when their frame is not known yet; the tab's document is matched by its URL.
  const responses: Response[] = [];
  const onResponse = (r: Response): void => {
    if (r.request().isNavigationRequest()) responses.push(r);
  };
  context.on("response", onResponse);
  try {
    const [tab] = await Promise.all([context.waitForEvent("page"), page.getByRole("link", { name: link, exact: true }).click()]);
    await tab.waitForLoadState("load");
    return { tab, response: responses.filter((r) => r.url() === tab.url()).at(-1) ?? null };
  } finally {
    context.off("response", onResponse);
  }
}

/** Waits until the account's audit (read by admin `user`) has a record matching `match`. */
export function audited(site: Site, user: string, what: string, match: (r: AuditJson) => boolean, timeoutMs = 15_000): Promise<AuditJson> {
  return waitUntil(what, async () => (await site.audit(user, 500)).find(match), timeoutMs, 100);
}

/**
 * A member `user` who may only view the pool holding `device`: created by `admin` through the
 * REST API (user, group, pool, rule at level view), then logged in for the CLI as well.
 */
export async function addViewOnlyMember(site: Site, admin: string, who: { account: string; user: string }, device: string): Promise<void> {
  // Independent steps side by side.
  await Promise.all([
    site.apiOk(admin, "POST", "/api/v1/users", { name: who.user, role: "member", password: PASSWORD }),
    site.apiOk(admin, "POST", "/api/v1/groups", { name: "viewers" }),
    site.apiOk(admin, "POST", "/api/v1/pools", { name: "view-pool" }),
  ]);
  await Promise.all([
    site.apiOk(admin, "POST", "/api/v1/groups/viewers/members", { add: [who.user] }),
    site.apiOk(admin, "POST", "/api/v1/pools/view-pool/devices", { add: [device] }),
  ]);
  await Promise.all([site.apiOk(admin, "POST", "/api/v1/access-rules", { group: "viewers", pool: "view-pool", level: "view" }), site.login(who)]);
}

/** `device web DEVICE --json`, as far as the tests need it. */
export interface WebTargetJson {
  id: string;
  name: string;
  kind: "http" | "https" | "vnc";
  url: string;
  hasPassword: boolean;
  open: string;
}

/**
 * Adds a web target through `POST /api/v1/devices/:name/web` (what `device web --add` sends) and
 * returns it; the portal tests need it as setup, and the CLI's own form is tested in web-targets.
 */
export async function addWebTarget(site: Site, admin: string, device: string, name: string, url: string, password?: string): Promise<WebTargetJson> {
  const body = { name, url, ...(password === undefined ? {} : { password }) };
  return (await site.apiOk(admin, "POST", `/api/v1/devices/${encodeURIComponent(device)}/web`, body)) as WebTargetJson;
}
