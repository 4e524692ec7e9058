import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CLUSTER_KEY_FILE, ClusterKeyError, type ClusterKeyProblem, clusterKeyPath, loadOrCreateClusterKey, readClusterKey } from "./cluster-key.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fernlink-cluster-key-"));
});
after(() => rm(dir, { recursive: true, force: true }));

const problem = (expected: ClusterKeyProblem) => (err: unknown) => err instanceof ClusterKeyError && err.problem === expected;

test("the cluster key is DIR/cluster-key unless a file is named", () => {
  assert.equal(clusterKeyPath("/data"), join("/data", CLUSTER_KEY_FILE));
  assert.equal(clusterKeyPath("/data", "/etc/fernlink/key"), "/etc/fernlink/key");
});

test("a key in hex or in base64 reads as the same 32 bytes", async () => {
  const bytes = randomBytes(32);
  const hex = join(dir, "hex");
  const b64 = join(dir, "b64");
  await writeFile(hex, `${bytes.toString("hex").toUpperCase()}\n`, { mode: 0o600 });
  await writeFile(b64, `${bytes.toString("base64")}\n`, { mode: 0o600 });
  assert.ok((await readClusterKey(hex))!.export().equals(bytes));
  assert.ok((await readClusterKey(b64))!.export().equals(bytes));
});

test("a missing key file reads as none, a short or unreadable-format one is refused", async () => {
  assert.equal(await readClusterKey(join(dir, "absent")), undefined);
  const short = join(dir, "short");
  await writeFile(short, randomBytes(31).toString("hex"), { mode: 0o600 });
  await assert.rejects(readClusterKey(short), problem("malformed"));
  await writeFile(short, "not a key at all", { mode: 0o600 });
  await assert.rejects(readClusterKey(short), problem("malformed"));
});

test("a key file that group or others may read is refused with the chmod to run", async () => {
  const path = join(dir, "open");
  await writeFile(path, randomBytes(32).toString("hex"), { mode: 0o600 });
  await chmod(path, 0o640);
  await assert.rejects(readClusterKey(path), (err: unknown) => problem("readable-by-others")(err) && (err as Error).message.includes(`chmod 600 ${path}`));
  await chmod(path, 0o600);
  assert.ok(await readClusterKey(path));
});

test("starts racing to create the cluster key agree on one, made once, owner-only, with no temporary file left", async () => {
  const path = join(dir, CLUSTER_KEY_FILE);
  const keys = await Promise.all(Array.from({ length: 6 }, () => loadOrCreateClusterKey(path)));
  assert.equal(keys.filter((k) => k.created).length, 1);
  for (const k of keys) assert.ok(k.key.equals(keys[0]!.key));
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.ok((await readdir(dir)).every((f) => !f.endsWith(".tmp")));
});
