import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AUDIT_KEY_FILE, loadOrCreateAuditKey } from "./audit-key.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fernlink-audit-key-"));
});
after(() => rm(dir, { recursive: true, force: true }));

test("the audit key is created once, owner-only, and loaded again unchanged", async () => {
  const sub = join(dir, "once");
  await mkdir(sub);
  const first = await loadOrCreateAuditKey(sub);
  assert.equal(first.created, true);
  assert.equal((await stat(join(sub, AUDIT_KEY_FILE))).mode & 0o777, 0o600);
  const again = await loadOrCreateAuditKey(sub);
  assert.equal(again.created, false);
  assert.ok(first.key.equals(again.key));
  assert.deepEqual(await readdir(sub), [AUDIT_KEY_FILE], "no temporary file is left behind");
});

test("starts racing on an empty data directory agree on one key", async () => {
  const sub = join(dir, "race");
  await mkdir(sub);
  const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateAuditKey(sub)));
  assert.equal(keys.filter((k) => k.created).length, 1);
  for (const k of keys) assert.ok(k.key.equals(keys[0]!.key));
});

test("a damaged key file is refused with the file named", async () => {
  const sub = join(dir, "damaged");
  await mkdir(sub);
  await writeFile(join(sub, AUDIT_KEY_FILE), "short\n");
  await assert.rejects(loadOrCreateAuditKey(sub), (err: Error & { code?: string }) => err.code === "internal" && err.message.includes(AUDIT_KEY_FILE));
});
