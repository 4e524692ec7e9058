import assert from "node:assert/strict";
import { test } from "node:test";
import type { AuditAction } from "./audit-actions.js";

test("an audit action outside the list does not compile", () => {
  // The build fails here if AuditAction ever widens to any string.
  // @ts-expect-error "device.ad" is not an audit action
  const misspelt: AuditAction = "device.ad";
  const known: AuditAction = "device.add";
  assert.notEqual(misspelt, known);
});
