import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { after, afterEach, before, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Locator, type Page } from "playwright-core";

/**
 * Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the
 * portal's browser tests: a fresh profile per launch, contexts that accept the server's own CA,
 * console errors / uncaught errors / CSP violations collected for assertions, and PNG
 * screenshots in test-artifacts/browser/<test file>/.
 */

/** The browser the tests drive (package `chromium`, installed by .ci/run). */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * The flags we launch Chromium with. playwright-core adds its own defaults (switches that keep
 * automation deterministic, `--remote-debugging-pipe`, and a fresh temporary `--user-data-dir`
 * that it deletes on close).
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * `false` when the browser tests can run, else why they are skipped: pass as the `skip` option of
 * a `describe`/`test`. Under CI (CI=true) it is always `false`, so a missing browser fails loudly.
 */
export const skipWithoutBrowser: string | false =
  existsSync(CHROMIUM) || process.env["CI"] === "true" ? false : `${CHROMIUM} is missing (apt-get install chromium); browser tests skipped`;

/** Something a page did that a test should know about. */
export interface PageProblem {
  kind: "console-error" | "page-error" | "csp-violation";
  text: string;
  /** Page URL, or the script/resource location when known. */
  url: string;
}

/** A launched browser with one watched context and page; see {@link launchBrowser}. */
export interface BrowserSession {
  readonly browser: Browser;
  /** The first context (`ignoreHTTPSErrors`, 1280×800, en-US). */
  readonly context: BrowserContext;
  /** The first page of `context`. */
  readonly page: Page;
  /** Console errors, uncaught page errors and CSP violations of every watched page, in order. */
  readonly problems: PageProblem[];
  /** Resolves with the first problem, recorded already or later, that `match` accepts; fails after `timeoutMs` (10 s). */
  waitForProblem(what: string, match: (problem: PageProblem) => boolean, timeoutMs?: number): Promise<PageProblem>;
  /** A further isolated context (another user's cookie jar), watched and closed like the first. */
  newContext(options?: BrowserContextOptions): Promise<{ context: BrowserContext; page: Page }>;
  /**
   * Fails listing every problem matching none of `allowed`, each tried on `<text> (<url>)`, e.g.
   * `/status of 401 .*\/api\/v1\/session/` for an expected 401 (Chromium logs every 4xx/5xx).
   */
  assertNoProblems(allowed?: readonly RegExp[]): void;
  /** Screenshots every open page of every watched context; returns the files. */
  screenshotAll(name: string): Promise<string[]>;
  /** Screenshots every page when the test `t` failed (node:test sets `t.passed`). */
  afterTest(t: { readonly name: string }): Promise<void>;
  /** Closes the browser (idempotent); playwright-core removes the profile directory. */
  close(): Promise<void>;
}

/** Options of {@link launchBrowser}. */
export interface LaunchOptions {
  /** Options for the first context, merged over the defaults. */
  context?: BrowserContextOptions;
  /** Default timeout of page actions and expectations; 10 s. */
  timeoutMs?: number;
}

const DEFAULT_CONTEXT: BrowserContextOptions = {
  ignoreHTTPSErrors: true,
  viewport: { width: 1280, height: 800 },
  locale: "en-US",
  timezoneId: "UTC",
};

/** Binding the init script calls for each `securitypolicyviolation` event. */
const CSP_BINDING = "__fernlinkTestCspViolation";
const CSP_LISTENER = `document.addEventListener("securitypolicyviolation", (e) => {
  try {
    globalThis.${CSP_BINDING}({ directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber, disposition: e.disposition });
  } catch {}
}, true);`;

/**
 * Launches a fresh headless Chromium with one context and page. With the test's context `t`, it
 * takes a screenshot if the test failed and closes in `t.after`; without, the caller closes it
 * (for one browser shared by a file or suite, see {@link useBrowser}).
 */
export async function launchBrowser(t?: TestContext, options: LaunchOptions = {}): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) throw new Error(`cannot launch the browser: ${CHROMIUM} is missing (apt-get install chromium)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS] });
  const problems: PageProblem[] = [];
  const problemWaiters = new Set<() => void>();
  const record = (problem: PageProblem): void => {
    problems.push(problem);
    for (const wake of problemWaiters) wake();
  };
  const contexts: BrowserContext[] = [];
  const timeoutMs = options.timeoutMs ?? 10_000;
  let closed: Promise<void> | undefined;

  const newContext = async (contextOptions: BrowserContextOptions = {}): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ ...DEFAULT_CONTEXT, ...contextOptions });
    context.setDefaultTimeout(timeoutMs);
    contexts.push(context);
    await context.exposeBinding(CSP_BINDING, ({ page }, v: { directive: string; blocked: string; source: string; line: number; disposition: string }) => {
      record({ kind: "csp-violation", text: `${v.disposition} ${v.directive} blocked ${v.blocked || "(inline)"} at ${v.source}:${v.line}`, url: page.url() });
    });
    await context.addInitScript({ content: CSP_LISTENER });
    context.on("page", (page) => watchPage(page, record));
    return { context, page: await context.newPage() };
  };

  const session: BrowserSession = {
    browser,
    ...(await newContext(options.context).catch(async (err: unknown) => {
      await browser.close();
      throw err;
    })),
    problems,
    waitForProblem(what, match, waitMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = problems.find(match);
          if (found) done(() => resolve(found));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no ${what} within ${waitMs} ms; the browser reported: ${JSON.stringify(problems)}`))),
          waitMs,
        );
        const done = (settle: () => void): void => {
          clearTimeout(timer);
          problemWaiters.delete(check);
          settle();
        };
        problemWaiters.add(check);
        check();
      });
    },
    newContext,
    assertNoProblems(allowed = []) {
      const unexpected = problems.filter((p) => !allowed.some((re) => re.test(`${p.text} (${p.url})`)));
      assert.deepEqual(unexpected, [], `the browser reported problems:\n${unexpected.map((p) => `  ${p.kind}: ${p.text} (${p.url})`).join("\n")}`);
    },
    async screenshotAll(name) {
      const files: string[] = [];
      for (const page of contexts.flatMap((c) => c.pages())) {
        if (!page.isClosed()) files.push(await screenshot(page, name).catch((err: unknown) => `(no screenshot: ${String(err)})`));
      }
      return files;
    },
    async afterTest(test) {
      if (hasFailed(test) && browser.isConnected()) await session.screenshotAll(`failed-${test.name}`);
    },
    close() {
      closed ??= browser.close();
      return closed;
    },
  };
  t?.after(async () => {
    await session.afterTest(t);
    await session.close();
  });
  return session;
}

/**
 * One browser for a whole file or `describe`: call it synchronously in the file or suite body (not
 * in a hook). It registers `before` (launch), `afterEach` (screenshot of a failed test) and `after`
 * (close), and returns the session, usable from the first test on.
 */
export function useBrowser(options: LaunchOptions = {}): BrowserSession {
  let session: BrowserSession | undefined;
  const current = (): BrowserSession => {
    if (session === undefined) throw new Error("the browser is launched in useBrowser's before hook: use it inside a test");
    return session;
  };
  before(async () => {
    session = await launchBrowser(undefined, options);
  });
  afterEach((t) => session?.afterTest(t));
  after(() => session?.close());
  return {
    get browser() {
      return current().browser;
    },
    get context() {
      return current().context;
    },
    get page() {
      return current().page;
    },
    get problems() {
      return current().problems;
    },
    waitForProblem: (what, match, timeoutMs) => current().waitForProblem(what, match, timeoutMs),
    newContext: (contextOptions) => current().newContext(contextOptions),
    assertNoProblems: (allowed) => current().assertNoProblems(allowed),
    screenshotAll: (name) => current().screenshotAll(name),
    afterTest: (test) => current().afterTest(test),
    close: () => session?.close() ?? Promise.resolve(),
  };
}

/** node:test ≥ 20.19 sets `passed` on a test's context (missing from @types/node 20). */
function hasFailed(t: { readonly name: string }): boolean {
  return (t as { passed?: boolean }).passed === false;
}

function watchPage(page: Page, record: (problem: PageProblem) => void): void {
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const { url, lineNumber } = message.location();
    record({ kind: "console-error", text: message.text(), url: url ? `${url}:${lineNumber}` : page.url() });
  });
  page.on("pageerror", (err) => record({ kind: "page-error", text: err.stack ?? err.message, url: page.url() }));
}

/** test-artifacts/ at the repository root (gitignored): dist-test/test/e2e/helpers → ../../../../. */
const ARTIFACTS = fileURLToPath(new URL("../../../../test-artifacts/browser/", import.meta.url));
let shots = 0;
let fileDir: Promise<string> | undefined;

/** test-artifacts/browser/<test file>/, emptied at the first screenshot of this process. */
function screenshotDir(): Promise<string> {
  fileDir ??= (async () => {
    // node --test runs each file in its own process: argv[1] is the test file.
    const dir = join(ARTIFACTS, basename(process.argv[1] ?? "unknown").replace(/(\.test)?\.[cm]?js$/, ""));
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    return dir;
  })();
  return fileDir;
}

/** Saves a full-page PNG as test-artifacts/browser/<test file>/<NN-name>.png; returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const n = ++shots;
  const safe =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 80) || "page";
  const path = join(await screenshotDir(), `${String(n).padStart(2, "0")}-${safe}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Waits until `locator`'s text equals `expected` (trimmed) or matches it; returns the text.
 * playwright-core has no `expect`, so this is the tests' polling assertion.
 */
export async function waitForText(locator: Locator, expected: string | RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null | undefined;
  let error: unknown;
  for (;;) {
    try {
      last = await locator.textContent({ timeout: Math.max(1, deadline - Date.now()) });
      error = undefined;
    } catch (err) {
      error = err;
    }
    if (typeof last === "string" && (typeof expected === "string" ? last.trim() === expected : expected.test(last.trim()))) return last.trim();
    if (Date.now() >= deadline) {
      const seen = error === undefined ? `it read ${JSON.stringify(last)}` : `last error: ${String(error).split("\n")[0]}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(locator)} to read ${String(expected)}; ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
