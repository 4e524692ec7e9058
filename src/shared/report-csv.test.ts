import assert from "node:assert/strict";
import { test } from "node:test";
import type { AuditRecord } from "../protocol/api.js";
import type { ConnectionRecord } from "../protocol/api-audit.js";
import { AUDIT_CSV_HEADER, auditCsv, CONNECTIONS_CSV_HEADER, connectionsCsv } from "./report-csv.js";

const record: AuditRecord = {
  seq: 7,
  id: "a1",
  at: "2026-11-27T10:02:11.000Z",
  actor: "alice",
  source: "10.0.0.9",
  action: "stream",
  object: "press-7",
  result: "ok",
  reason: '=HYPERLINK("http://evil")',
  device: "press-7",
  target: "10.0.0.5:502",
  startedAt: "2026-11-27T10:00:00.000Z",
  endedAt: "2026-11-27T10:02:11.000Z",
  bytesUp: 1200,
  bytesDown: null,
  token: "ci-deploy",
};

test("the audit CSV has the CLI's columns, one CRLF line per record", () => {
  const lines = auditCsv([record]).split("\r\n");
  assert.equal(lines[0], AUDIT_CSV_HEADER.join(","));
  assert.equal(
    lines[1],
    `7,2026-11-27T10:02:11.000Z,alice,10.0.0.9,stream,press-7,ok,"'=HYPERLINK(""http://evil"")",` +
      `press-7,10.0.0.5:502,2026-11-27T10:00:00.000Z,2026-11-27T10:02:11.000Z,1200,,1,ci-deploy`,
  );
  assert.equal(lines[2], "");
});

test("a record made without an API token has an empty token cell", () => {
  const lines = auditCsv([{ ...record, token: null }]).split("\r\n");
  assert.match(lines[1] ?? "", /,1200,,1,$/);
});

test("the connections CSV gives the duration in seconds and neutralises formula-like cells", () => {
  const row: ConnectionRecord = {
    seq: 3,
    user: "@bob",
    source: null,
    device: "press-7",
    target: "10.0.0.5:502",
    start: "s",
    end: "e",
    durationMs: 1500,
    bytesUp: 1,
    bytesDown: 2,
    reason: "=ticket 7",
    note: null,
  };
  const lines = connectionsCsv([row]).split("\r\n");
  assert.equal(lines[0], CONNECTIONS_CSV_HEADER.join(","));
  assert.equal(lines[1], "'@bob,,press-7,10.0.0.5:502,s,e,1.5,1,2,'=ticket 7,");
});
