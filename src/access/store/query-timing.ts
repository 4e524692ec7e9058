import type { KyselyConfig, LogEvent } from "kysely";

/** The kinds of statement store timings are counted by: few, so the metric's series stay few. */
export type StatementKind = "select" | "insert" | "update" | "delete" | "other";

/** Told of every statement the store ran: its kind, how long it took, whether it failed. */
export type QueryObserver = (kind: StatementKind, seconds: number, failed: boolean) => void;

const KINDS: ReadonlySet<string> = new Set(["select", "insert", "update", "delete"]);

/** A statement's kind from its first word (a `with … select` counts as other). */
export function statementKind(text: string): StatementKind {
  const word = /^\s*([a-z]+)/i.exec(text)?.[1]?.toLowerCase() ?? "";
  return KINDS.has(word) ? (word as StatementKind) : "other";
}

/** Kysely's `log` option reporting each statement to `observe`; none without one. */
export function queryLog(observe: QueryObserver | undefined): Pick<KyselyConfig, "log"> {
  if (!observe) return {};
  return { log: (event: LogEvent) => observe(statementKind(event.query.sql), event.queryDurationMillis / 1000, event.level === "error") };
}
