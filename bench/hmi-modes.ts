/**
 * How should the portal show a published HMI: on a host name of its own (`w-<id>.<domain>`, what
 * Fernlink does) or under a path prefix of the portal (`/hmi/<id>/`) with the pages rewritten?
 * This part of `npm run bench` measures both with real processes and real headless Chromium:
 *
 *   direct         browser -> HMI app on 127.0.0.1 (the baseline)
 *   host           browser -> portal /web/open/<id> -> w-<id>.localhost -> tunnel -> agent -> HMI
 *   prefix-markup  browser -> prefix prototype /hmi/<id>/ (HTML/CSS rewriting) -> fernlink connect
 *                  forward -> tunnel -> agent -> HMI
 *   prefix-shim    the same plus the runtime script that rewrites URLs built by the page's scripts
 *   prefix-shim-lan  prefix-shim straight to the HMI, no tunnel (separates rewriting from tunnel cost)
 *
 * For each: which HMI features work, time from opening to all features working (median of
 * `runs`, ratio to direct), and — with a second HMI — what HMI B's script can reach of HMI A and
 * of the portal session. docs/WEB-PORTAL.md holds the table and the conclusion.
 */
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { type Cookie, chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS, launchBrowser } from "../test/e2e/helpers/browser.js";
import { Site } from "../test/e2e/helpers/fernlink.js";
import { PASSWORD, Sandbox } from "../test/e2e/helpers/processes.js";
import {
  checkFeatures,
  checkIsolation,
  FEATURES,
  type Feature,
  HMI_TICK_MS,
  ISOLATION_CHECKS,
  type Isolation,
  type IsolationCheck,
  type ModeUrls,
  type Outcome,
  type Timing,
  timeOpen,
} from "./hmi-checks.js";
import type { HmiServersAnswer, ProxyRequest } from "./hmi-servers.js";
import { Helper } from "./procs.js";

export const MODES = ["direct", "host", "prefix-markup", "prefix-shim", "prefix-shim-lan"] as const;
export type Mode = (typeof MODES)[number];

const MODE_LABELS: Record<Mode, string> = {
  direct: "direct (browser -> HMI on 127.0.0.1)",
  host: "host name w-<id>.localhost, tunnel",
  "prefix-markup": "path prefix, HTML/CSS rewriting, tunnel",
  "prefix-shim": "path prefix, HTML/CSS + script shim, tunnel",
  "prefix-shim-lan": "path prefix, HTML/CSS + script shim, no tunnel",
};

/** Modes whose features are checked, and those timed (prefix-markup never gets all features working). */
const FEATURE_MODES: readonly Mode[] = ["direct", "host", "prefix-markup", "prefix-shim"];
const TIMED_MODES: readonly Mode[] = ["direct", "host", "prefix-shim", "prefix-shim-lan"];

/** The section of bench/results.json. */
export interface HmiModesReport {
  skipped?: string;
  /** When this part ran and the machine's load then (it may be merged into a file from another run). */
  date: string;
  loadavgAtStart: number[];
  runs: number;
  tickMs: number;
  modes: Record<Mode, string>;
  features: { feature: Feature; label: string; results: Partial<Record<Mode, Outcome>> }[];
  /** Medians (and the best run, less sensitive to other load on the machine) per mode. */
  timing: {
    mode: Mode;
    runs: Timing[];
    medianMs: Record<keyof Timing, number | null>;
    ratioToDirect: Record<keyof Timing, number | null>;
    bestMs: Record<keyof Timing, number | null>;
  }[];
  /**
   * host: HMIs on w-<id>.localhost (every host its own site); hostDomain: on w-<id>.portal.test, a
   * stand-in for a real domain (HMIs and portal share the site portal.test); prefix: one origin.
   */
  isolation: { check: IsolationCheck; label: string; host: Isolation; hostDomain: Isolation; prefix: Isolation }[];
  /** Console errors the browser reported, per mode (first few), as evidence for failures. */
  problems: Partial<Record<Mode, string[]>>;
  seconds: number;
}

const ACCOUNT = { account: "bench", user: "bench" };
/** Stand-in for a real web domain: Chromium maps it to loopback by a resolver rule, like wildcard DNS would. */
const REAL_DOMAIN = "portal.test";

function median(xs: readonly (number | null)[]): number | null {
  if (xs.some((x) => x === null) || xs.length === 0) return null;
  const s = (xs as number[]).slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs the comparison; `runs` timed opens per mode. */
export async function runHmiModes(runs: number): Promise<HmiModesReport> {
  const started = performance.now();
  const say = (what: string): void => void process.stderr.write(`hmi modes (${((performance.now() - started) / 1000).toFixed(1)} s): ${what} ...\n`);
  const empty: HmiModesReport = {
    date: new Date().toISOString(),
    loadavgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    runs,
    tickMs: HMI_TICK_MS,
    modes: MODE_LABELS,
    features: [],
    timing: [],
    isolation: [],
    problems: {},
    seconds: 0,
  };
  if (!existsSync(CHROMIUM)) return { ...empty, skipped: `${CHROMIUM} is missing (apt-get install chromium)` };
  const sb = await Sandbox.create("bench-hmi");
  const servers = new Helper(new URL("./hmi-servers.js", import.meta.url));
  // procs.Helper types answers as the load generator's; this child's are HmiServersAnswer.
  const ask = async (message: ProxyRequest | undefined): Promise<HmiServersAnswer> => (await servers.request(message, 20_000)) as unknown as HmiServersAnswer;
  try {
    const apps = await ask(undefined);
    if (!("apps" in apps)) throw new Error("the HMI apps did not start");
    const { a, b } = apps.apps;

    say("starting fernlink server, agent, web targets");
    const site = await Site.start(sb, [ACCOUNT]);
    await site.login(ACCOUNT);
    const key = await site.addDevice(ACCOUNT.user, "press-7", ["127.0.0.0/8"]);
    await site.startAgent(await site.register(key, "agent"));
    await site.ok(ACCOUNT.user, ["device", "web", "press-7", "--add", `${a.url}/`, "--name", "HMI"]);
    await site.ok(ACCOUNT.user, ["device", "web", "press-7", "--add", `${b.url}/`, "--name", "HMI-B"]);
    const targets = JSON.parse(await site.ok(ACCOUNT.user, ["device", "web", "press-7", "--json"])) as { id: string; name: string }[];
    const idA = targets.find((t) => t.name === "HMI")!.id;
    const idB = targets.find((t) => t.name === "HMI-B")!.id;
    // The prototype reaches the HMIs through `fernlink connect` forwards: the same tunnel, one process more.
    const conn = await site.connect(ACCOUNT.user, "press-7", [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
    const [fwdA, fwdB] = conn.forwards as [number, number];
    const proxyAnswer = await ask({
      proxy: {
        publicHost: "localhost",
        portal: { host: "127.0.0.1", port: site.port },
        caDir: sb.path("prefix-ca"),
        hmis: [
          { key: idA, upstream: { host: "127.0.0.1", port: fwdA }, target: a.url, shim: true },
          { key: `${idA}-markup`, upstream: { host: "127.0.0.1", port: fwdA }, target: a.url, shim: false },
          { key: `${idA}-lan`, upstream: { host: "127.0.0.1", port: a.port }, target: a.url, shim: true },
          { key: idB, upstream: { host: "127.0.0.1", port: fwdB }, target: b.url, shim: true },
        ],
      },
    });
    if (!("proxy" in proxyAnswer)) throw new Error(`the prefix prototype did not start: ${"error" in proxyAnswer ? proxyAnswer.error : "?"}`);
    const proxy = proxyAnswer.proxy.origin;

    // localhost, not 127.0.0.1: the portal cookie and the web domain "localhost" line up.
    const portal = `https://localhost:${site.port}`;
    const hostUrls = (id: string): ModeUrls => ({
      open: `${portal}/web/open/${id}`,
      page: `https://w-${id}.localhost:${site.port}/hmi/`,
      old: `https://w-${id}.localhost:${site.port}/old`,
    });
    const prefixUrls = (k: string): ModeUrls => ({ open: `${proxy}/hmi/${k}/`, page: `${proxy}/hmi/${k}/hmi/`, old: `${proxy}/hmi/${k}/old` });
    const urls: Record<Mode, ModeUrls> = {
      direct: { open: `${a.url}/`, page: `${a.url}/hmi/`, old: `${a.url}/old` },
      host: hostUrls(idA),
      "prefix-markup": prefixUrls(`${idA}-markup`),
      "prefix-shim": prefixUrls(idA),
      "prefix-shim-lan": prefixUrls(`${idA}-lan`),
    };

    const session = await launchBrowser(undefined, { timeoutMs: 10_000 });
    try {
      const signIn = await session.context.request.post(`${portal}/api/v1/session`, {
        data: { account: ACCOUNT.account, user: ACCOUNT.user, password: PASSWORD },
      });
      if (!signIn.ok()) throw new Error(`portal sign-in failed: HTTP ${signIn.status()} ${await signIn.text()}`);
      const cookies = await session.context.cookies();
      const report: HmiModesReport = { ...empty };

      say("features");
      const results: Partial<Record<Mode, Record<Feature, Outcome>>> = {};
      for (const mode of FEATURE_MODES) {
        const before = session.problems.length;
        results[mode] = await checkFeatures(session, urls[mode], cookies, `op-${mode}`);
        const seen = session.problems.slice(before).map((p) => `${p.kind}: ${p.text} (${p.url})`);
        if (seen.length > 0) report.problems[mode] = [...new Set(seen)].slice(0, 12);
      }
      report.features = FEATURES.map(([feature, label]) => ({
        feature,
        label,
        results: Object.fromEntries(FEATURE_MODES.map((m) => [m, results[m]![feature]])),
      }));

      say(`timing, ${runs} run(s) per mode`);
      const times: Record<Mode, Timing[]> = { direct: [], host: [], "prefix-markup": [], "prefix-shim": [], "prefix-shim-lan": [] };
      // The feature checks opened the other modes once already (certificate per HMI host, JIT, upstream connections).
      for (const mode of TIMED_MODES.filter((m) => !FEATURE_MODES.includes(m))) await timeOpen(session, urls[mode], cookies, 5000);
      for (let i = 0; i < runs; i++) for (const mode of TIMED_MODES) times[mode].push(await timeOpen(session, urls[mode], cookies, 5000));
      const keys: (keyof Timing)[] = ["loadMs", "readyMs", "reloadLoadMs", "reloadReadyMs"];
      const medians = (mode: Mode): Record<keyof Timing, number | null> =>
        Object.fromEntries(keys.map((k) => [k, median(times[mode].map((t) => t[k]))])) as Record<keyof Timing, number | null>;
      const direct = medians("direct");
      report.timing = TIMED_MODES.map((mode) => {
        const m = medians(mode);
        const ratio = Object.fromEntries(keys.map((k) => [k, m[k] !== null && direct[k] ? m[k]! / direct[k]! : null])) as Record<keyof Timing, number | null>;
        const best = Object.fromEntries(
          keys.map((k) => [k, times[mode].some((t) => t[k] === null) ? null : Math.min(...times[mode].map((t) => t[k]!))]),
        ) as Record<keyof Timing, number | null>;
        return { mode, runs: times[mode], medianMs: m, ratioToDirect: ratio, bestMs: best };
      });

      say("isolation between two HMIs");
      const host = await checkIsolation(session, { a: urls.host, b: hostUrls(idB), portalSession: `${portal}/api/v1/session` }, cookies, true);
      // On success this ends the portal session; the real-domain check signs in anew.
      const prefix = await checkIsolation(session, { a: urls["prefix-shim"], b: prefixUrls(idB), portalSession: `${proxy}/api/v1/session` }, cookies, true);
      say(`isolation on a real-style domain (*.${REAL_DOMAIN})`);
      const hostDomain = await realDomainIsolation(site, sb, idA, idB);
      report.isolation = ISOLATION_CHECKS.map(([check, label]) => ({ check, label, host: host[check], hostDomain: hostDomain[check], prefix: prefix[check] }));
      report.seconds = (performance.now() - started) / 1000;
      return report;
    } finally {
      await session.close();
    }
  } finally {
    servers.child.kill("SIGTERM");
    await sb.cleanup();
  }
}

/**
 * The isolation checks with the server's web domain set to a real-style name (`--web-domain`):
 * HMI hosts then share one site with each other and the portal, as `*.portal.example.com` would.
 * Restarts the server on the same port and data (the agent reconnects) and uses a browser whose
 * resolver maps the domain to loopback.
 */
async function realDomainIsolation(site: Site, sb: Sandbox, idA: string, idB: string): Promise<Record<IsolationCheck, Isolation>> {
  await site.server.stop();
  const args = ["server", "--data", site.dataDir, "--listen", `127.0.0.1:${site.port}`, "--web-domain", REAL_DOMAIN];
  site.server = sb.start([...args, "--hostname", REAL_DOMAIN, "--hostname", "localhost", "--hostname", "127.0.0.1"], { home: site.home("server") });
  await site.server.waitForLine(/^fernlink server ready: /);
  await site.waitForDevice(ACCOUNT.user, "press-7", true);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, `--host-resolver-rules=MAP ${REAL_DOMAIN} 127.0.0.1, MAP *.${REAL_DOMAIN} 127.0.0.1`],
  });
  try {
    const portal = `https://${REAL_DOMAIN}:${site.port}`;
    const newContext = async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      context.setDefaultTimeout(10_000);
      return { context, page: await context.newPage() };
    };
    // The API request context resolves names in Node, not in Chromium: sign in on localhost, move the cookie.
    const { context } = await newContext();
    const signIn = await context.request.post(`https://localhost:${site.port}/api/v1/session`, {
      data: { account: ACCOUNT.account, user: ACCOUNT.user, password: PASSWORD },
    });
    if (!signIn.ok()) throw new Error(`portal sign-in failed: HTTP ${signIn.status()}`);
    const cookies: Cookie[] = (await context.cookies()).map((c) => ({ ...c, domain: REAL_DOMAIN }));
    await context.close();
    const hostUrls = (id: string): ModeUrls => ({
      open: `${portal}/web/open/${id}`,
      page: `https://w-${id}.${REAL_DOMAIN}:${site.port}/hmi/`,
      old: `https://w-${id}.${REAL_DOMAIN}:${site.port}/old`,
    });
    return await checkIsolation({ newContext }, { a: hostUrls(idA), b: hostUrls(idB), portalSession: `${portal}/api/v1/session` }, cookies, true);
  } finally {
    await browser.close();
  }
}

function fmtMs(v: number | null): string {
  return v === null ? "never" : v.toFixed(0);
}

function fmtRatio(v: number | null): string {
  return v === null ? "-" : v.toFixed(2);
}

function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** The text tables `npm run bench` prints. */
export function renderHmiModes(r: HmiModesReport): string {
  if (r.skipped) return `HMI modes: skipped, ${r.skipped}`;
  const out: string[] = ["HMI modes: which features of the test HMI work (yes/NO)"];
  out.push(
    table(
      ["feature", ...FEATURE_MODES],
      r.features.map((f) => [f.label, ...FEATURE_MODES.map((m) => (f.results[m]?.ok ? "yes" : "NO"))]),
    ),
  );
  out.push("");
  out.push(`HMI modes: open in a fresh profile -> load event / all features working, then reload; ms, median of ${r.runs} (ratio to direct) best`);
  out.push(
    table(
      ["mode", "open: load", "open: all working", "reload: load", "reload: all working"],
      r.timing.map((t) => [
        t.mode,
        ...(["loadMs", "readyMs", "reloadLoadMs", "reloadReadyMs"] as const).map(
          (k) => `${fmtMs(t.medianMs[k])} (${fmtRatio(t.ratioToDirect[k])}) ${fmtMs(t.bestMs[k])}`,
        ),
      ]),
    ),
  );
  out.push("");
  out.push("HMI modes: what HMI B's script reaches after an operator signed in on HMI A");
  const cell = (i: Isolation): string => (i.isolated ? "blocked" : "POSSIBLE");
  out.push(
    table(
      ["attempt by B", "w-<id>.localhost", `w-<id>.${REAL_DOMAIN}`, "path prefix"],
      r.isolation.map((i) => [i.label, cell(i.host), cell(i.hostDomain), cell(i.prefix)]),
    ),
  );
  out.push("");
  out.push(
    `modes: ${MODES.map((m) => `${m} = ${r.modes[m]}`).join("; ")}; HMI tick ${r.tickMs} ms; ` +
      `load avg at start ${r.loadavgAtStart.join(" ")}; ${r.seconds.toFixed(1)} s`,
  );
  return out.join("\n");
}
