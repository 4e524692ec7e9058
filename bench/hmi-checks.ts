/**
 * What the HMI modes bench asks of a real browser on one way of opening the test HMI
 * (test/e2e/helpers/hmi-app.ts): which of its features work, how long it takes until they all
 * do, and whether a second HMI's scripts can reach the first one's state.
 */
import type { Cookie, Page } from "playwright-core";
import { type BrowserSession, waitForText } from "../test/e2e/helpers/browser.js";
import { HMI_STATUS } from "../test/e2e/helpers/hmi-app.js";

/** Interval of the test HMIs' WebSocket values and server-sent events: short, so it does not dominate the timings. */
export const HMI_TICK_MS = 50;

/** One way to reach the HMI: URLs the browser uses. */
export interface ModeUrls {
  /** What the user opens (portal link, prefix, or the HMI itself). */
  open: string;
  /** Where the HMI's page `/hmi/` ends up in the browser. */
  page: string;
  /** The HMI's `/old`, which redirects to its own absolute URL. */
  old: string;
}

/** The features checked, in table order, with what each exercises. */
export const FEATURES = [
  ["entry", "entry redirect / -> /hmi/ (root-relative Location)"],
  ["stylesheet", "stylesheet /static/hmi.css (absolute path in markup)"],
  ["image", "image /static/logo.svg (absolute path in markup)"],
  ["tags", 'fetch("/api/tags") from script'],
  ["sse", 'EventSource("/events") from script'],
  ["websocket", 'WebSocket to location.host + "/ws"'],
  ["speed", "WebSocket data (speed values)"],
  ["login", "login form POST -> 303, HttpOnly session cookie"],
  ["site", "cookie set with Domain=<HMI address>"],
  ["setpoint", "setpoint sent over the WebSocket, acknowledged"],
  ["absolute", "redirect to the HMI's own absolute URL (/old)"],
  ["logout", "sign-out form clears the cookies"],
] as const;
export type Feature = (typeof FEATURES)[number][0];

export interface Outcome {
  ok: boolean;
  /** What the page showed, or why it failed. */
  detail: string;
}

/** The status lines that reach their final state on their own after a page load. */
const AUTO = ["stylesheet", "image", "websocket", "speed", "sse", "tags"] as const;

const statusOf = (page: Page, key: keyof typeof HMI_STATUS) => page.locator(`[aria-label="${HMI_STATUS[key].name}"]`);

/** A page-side predicate (a string, since the bench compiles without DOM types): every AUTO line reads OK. */
const AUTO_EXPECTED = AUTO.map((k) => [HMI_STATUS[k].name, typeof HMI_STATUS[k].ok === "string" ? `^${escapeRe(HMI_STATUS[k].ok)}$` : HMI_STATUS[k].ok.source]);
const ALL_AUTO_OK = `(() => ${JSON.stringify(AUTO_EXPECTED)}
  .every(([name, re]) => new RegExp(re).test((document.querySelector('[aria-label="' + name + '"]')?.textContent ?? "").trim())))()`;

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function matches(expected: string | RegExp, text: string): boolean {
  return typeof expected === "string" ? text === expected : expected.test(text);
}

/** Waits until every self-starting feature works; false after `timeoutMs`. */
export async function waitAllAuto(page: Page, timeoutMs: number): Promise<boolean> {
  return page.waitForFunction(ALL_AUTO_OK, undefined, { polling: 10, timeout: timeoutMs }).then(
    () => true,
    () => false,
  );
}

async function outcome(run: () => Promise<string>): Promise<Outcome> {
  try {
    return { ok: true, detail: await run() };
  } catch (err) {
    return { ok: false, detail: String(err instanceof Error ? err.message : err).split("\n")[0]! };
  }
}

/** Opens the HMI in a fresh context with `cookies` and tries every feature in turn. */
export async function checkFeatures(
  session: Pick<BrowserSession, "newContext">,
  urls: ModeUrls,
  cookies: Cookie[],
  operator: string,
): Promise<Record<Feature, Outcome>> {
  const { context, page } = await session.newContext();
  try {
    await context.addCookies(cookies);
    const r = {} as Record<Feature, Outcome>;
    await page.goto(urls.open, { waitUntil: "load" });
    r.entry = { ok: page.url() === urls.page, detail: page.url() };
    await waitAllAuto(page, 2500);
    for (const k of AUTO) {
      const text = (
        (await statusOf(page, k)
          .textContent({ timeout: 1000 })
          .catch(() => null)) ?? "(no status line)"
      ).trim();
      r[k] = { ok: matches(HMI_STATUS[k].ok, text), detail: text };
    }
    r.login = await outcome(async () => {
      await page.getByLabel("Operator name").fill(operator);
      await page.getByRole("button", { name: "Sign in" }).click();
      return waitForText(statusOf(page, "operator"), `Operator: ${operator}`, 4000);
    });
    const site = (
      (await statusOf(page, "site")
        .textContent({ timeout: 1000 })
        .catch(() => null)) ?? "(no status line)"
    ).trim();
    r.site = { ok: site === HMI_STATUS.site.ok, detail: site };
    r.setpoint = await outcome(async () => {
      if (!r.websocket.ok) throw new Error("not tried: the page's WebSocket did not connect");
      // After the login's redirect the page is new: its WebSocket must be open before it can send.
      await waitForText(statusOf(page, "websocket"), HMI_STATUS.websocket.ok, 2500);
      await page.getByRole("button", { name: "Send setpoint" }).click();
      return waitForText(statusOf(page, "setpoint"), HMI_STATUS.setpoint.ok, 2500);
    });
    r.absolute = await outcome(async () => {
      await page.goto(urls.old, { waitUntil: "load" });
      if (page.url() !== urls.page) throw new Error(`landed on ${page.url()}`);
      return `${page.url()}, ${await waitForText(statusOf(page, "operator"), `Operator: ${operator}`, 2000)}`;
    });
    r.logout = await outcome(async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      return waitForText(statusOf(page, "operator"), "Operator: none", 3000);
    });
    return r;
  } finally {
    await context.close();
  }
}

/** One timed open: load event and all features working (null: not within the timeout), then the same for a reload. */
export interface Timing {
  loadMs: number;
  readyMs: number | null;
  reloadLoadMs: number;
  reloadReadyMs: number | null;
}

/** Opens the HMI in a fresh context (a new tab of a new browser profile, signed in to the portal) and times it. */
export async function timeOpen(session: Pick<BrowserSession, "newContext">, urls: ModeUrls, cookies: Cookie[], timeoutMs: number): Promise<Timing> {
  const { context, page } = await session.newContext();
  try {
    await context.addCookies(cookies);
    let t0 = performance.now();
    await page.goto(urls.open, { waitUntil: "load" });
    const loadMs = performance.now() - t0;
    const readyMs = (await waitAllAuto(page, timeoutMs)) ? performance.now() - t0 : null;
    t0 = performance.now();
    await page.reload({ waitUntil: "load" });
    const reloadLoadMs = performance.now() - t0;
    const reloadReadyMs = (await waitAllAuto(page, timeoutMs)) ? performance.now() - t0 : null;
    return { loadMs, readyMs, reloadLoadMs, reloadReadyMs };
  } finally {
    await context.close();
  }
}

/** Two HMIs as a mode serves them, and the portal's session endpoint as seen from them. */
export interface IsolationUrls {
  a: ModeUrls;
  b: ModeUrls;
  /** `GET` gives the user, role and CSRF token; `DELETE` signs out. */
  portalSession: string;
}

/** The isolation checks, in table order: what HMI B's script tries against HMI A (and the portal). */
export const ISOLATION_CHECKS = [
  ["cookie", "B reads A's cookies in document.cookie"],
  ["storage", "B reads A's localStorage"],
  ["readPage", "B fetches A's signed-in page with A's cookies and reads it"],
  ["frameCookie", "B frames A and reads the frame's document.cookie"],
  ["forgeLogout", "B posts A's sign-out form with A's cookies (A's operator is signed out)"],
  ["socket", "B opens A's WebSocket with A's cookies and sends a setpoint"],
  ["portalRead", "B reads the portal session (user, role, CSRF token)"],
  ["portalWrite", "B calls the portal API as the user (DELETE /api/v1/session with the CSRF token)"],
] as const;
export type IsolationCheck = (typeof ISOLATION_CHECKS)[number][0];

/** Outcome of one attempt: `isolated` when B could not do it. */
export interface Isolation {
  isolated: boolean;
  detail: string;
}

/**
 * What B's script runs. It takes a pristine fetch from a blank frame (a hostile page would not
 * use the prefix shim's wrapped one) and reports what each attempt got. Plain JavaScript.
 */
const ATTACK = (u: IsolationUrls, writePortal: boolean): string => `(async () => {
  const scratch = document.body.appendChild(document.createElement("iframe"));
  const rawFetch = scratch.contentWindow.fetch.bind(scratch.contentWindow);
  const r = {};
  r.cookie = document.cookie;
  r.storage = String(localStorage.getItem("hmi-a-state"));
  try {
    const text = await (await rawFetch(${JSON.stringify(u.a.page)}, { credentials: "include" })).text();
    r.readPage = "read: " + ((/Operator: [^<]*/.exec(text) || ["no operator line"])[0]);
  } catch (e) { r.readPage = "blocked: " + e.message; }
  r.frameCookie = await new Promise((resolve) => {
    const f = document.createElement("iframe");
    const timer = setTimeout(() => resolve("blocked: frame did not load"), 3000);
    f.onload = () => {
      clearTimeout(timer);
      try { resolve(f.contentDocument ? "read: " + JSON.stringify(f.contentDocument.cookie) : "blocked: contentDocument is null (cross-origin)"); }
      catch (e) { resolve("blocked: " + e.name); }
    };
    f.src = ${JSON.stringify(u.a.page)};
    document.body.appendChild(f);
  });
  try {
    await rawFetch(${JSON.stringify(new URL("logout", u.a.page).href)}, {
      method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "",
    });
    r.forgeLogout = "sent";
  } catch (e) { r.forgeLogout = "blocked: " + e.message; }
  r.socket = await new Promise((resolve) => {
    let ws;
    try { ws = new scratch.contentWindow.WebSocket(${JSON.stringify(new URL("../ws", u.a.page).href.replace(/^http/, "ws"))}); }
    catch (e) { return resolve("blocked: " + e.message); }
    const timer = setTimeout(() => { ws.close(); resolve("blocked: no answer"); }, 3000);
    ws.onopen = () => ws.send(JSON.stringify({ setpoint: 99 }));
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if ("ack" in m) { clearTimeout(timer); ws.close(); resolve("sent: setpoint " + m.ack + " acknowledged by A"); }
    };
    ws.onclose = (e) => { clearTimeout(timer); resolve("blocked: closed with " + e.code); };
  });
  let csrf;
  try {
    const s = await (await rawFetch(${JSON.stringify(u.portalSession)}, { credentials: "include" })).json();
    csrf = s.csrf;
    r.portalRead = s.csrf ? "read: user " + s.user + ", role " + s.role + ", CSRF token" : "answer without session: " + JSON.stringify(s).slice(0, 80);
  } catch (e) { r.portalRead = "blocked: " + e.message; }
  if (${String(writePortal)} && csrf) {
    const res = await rawFetch(${JSON.stringify(u.portalSession)}, { method: "DELETE", credentials: "include", headers: { "x-csrf-token": csrf } });
    r.portalWrite = "HTTP " + res.status;
  } else r.portalWrite = csrf ? "not tried" : "blocked: no CSRF token to send";
  return r;
})()`;

/**
 * Signs an operator in on A (and stores something in A's localStorage), opens B in the same
 * browser, and lets B's script try each check. `writePortal` ends the portal session on success.
 */
export async function checkIsolation(
  session: Pick<BrowserSession, "newContext">,
  u: IsolationUrls,
  cookies: Cookie[],
  writePortal: boolean,
): Promise<Record<IsolationCheck, Isolation>> {
  const { context, page: a } = await session.newContext();
  try {
    await context.addCookies(cookies);
    await a.goto(u.a.open, { waitUntil: "load" });
    await a.getByLabel("Operator name").fill("operator-a");
    await a.getByRole("button", { name: "Sign in" }).click();
    await waitForText(statusOf(a, "operator"), "Operator: operator-a", 4000);
    await a.evaluate(`localStorage.setItem("hmi-a-state", "kept by HMI A")`);
    const b = await context.newPage();
    await b.goto(u.b.open, { waitUntil: "load" });
    if (!b.url().startsWith(u.b.page)) throw new Error(`HMI B did not open: ${b.url()}`);
    const got = (await b.evaluate(ATTACK(u, writePortal))) as Record<IsolationCheck, string>;
    await a.reload({ waitUntil: "load" });
    const operatorA = ((await statusOf(a, "operator").textContent()) ?? "").trim();
    const blocked = (s: string): boolean => s.startsWith("blocked") || s.startsWith("answer without session");
    return {
      cookie: { isolated: !got.cookie.includes("hmi_"), detail: `document.cookie = ${JSON.stringify(got.cookie)}` },
      storage: { isolated: got.storage === "null", detail: `getItem = ${got.storage}` },
      readPage: { isolated: blocked(got.readPage), detail: got.readPage },
      frameCookie: { isolated: blocked(got.frameCookie) || !got.frameCookie.includes("hmi_"), detail: got.frameCookie },
      forgeLogout: { isolated: operatorA === "Operator: operator-a", detail: `${got.forgeLogout}; A then shows "${operatorA}"` },
      socket: { isolated: blocked(got.socket), detail: got.socket },
      portalRead: { isolated: blocked(got.portalRead), detail: got.portalRead },
      portalWrite: { isolated: !got.portalWrite.startsWith("HTTP 2"), detail: got.portalWrite },
    };
  } finally {
    await context.close();
  }
}
