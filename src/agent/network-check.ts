import { errorMessage } from "../protocol/errors.js";
import { checkConnection } from "../shared/connection-check.js";
import type { Logger } from "../shared/log.js";

/**
 * Runs `fernlink check`'s checklist against the server, once per run of the agent, when the
 * agent first cannot connect, and logs what is blocked and what to ask the plant's IT for: the
 * technician on site reads the agent's log, not a stack of retries.
 */
export function networkCheckOnce(server: string, caPem: string, log: Logger): () => void {
  let ran = false;
  return () => {
    if (ran) return;
    ran = true;
    checkConnection({ server, ca: caPem }).then(
      (report) => {
        for (const c of report.checks.filter((c) => c.result === "blocked" || c.result === "warning"))
          log.warn("network check", { check: c.name, result: c.result, detail: c.detail, ...(c.fix ? { ask: c.fix } : {}) });
        log.info("network check done", { server, passed: report.passed, proxy: report.proxy ?? "none" });
      },
      (err: unknown) => log.warn("network check failed", { reason: errorMessage(err) }),
    );
  };
}
