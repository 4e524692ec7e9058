import assert from "node:assert/strict";
import { createSecretKey, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { AUDIT_KEY_FILE, loadOrCreateAuditKey } from "./audit-key.js";
import { loadOrCreateSecretKey, openSecret, SECRET_KEY_FILE, sealSecret } from "./secret-box.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fernlink-secret-box-"));
});
after(() => rm(dir, { recursive: true, force: true }));

const key = createSecretKey(randomBytes(32));
const isInternal = (secret: string) => (err: Error & { code?: string }) => err.code === "internal" && !err.message.includes(secret);

test("the secret key is created once, owner-only, apart from the audit key, and loaded again unchanged", async () => {
  const sub = join(dir, "once");
  await mkdir(sub);
  const first = await loadOrCreateSecretKey(sub);
  assert.equal(first.created, true);
  assert.equal((await stat(join(sub, SECRET_KEY_FILE))).mode & 0o777, 0o600);
  const again = await loadOrCreateSecretKey(sub);
  assert.equal(again.created, false);
  assert.ok(first.key.equals(again.key));
  const audit = await loadOrCreateAuditKey(sub);
  assert.ok(!audit.key.equals(first.key), "the two keys differ");
  assert.deepEqual((await readdir(sub)).sort(), [AUDIT_KEY_FILE, SECRET_KEY_FILE].sort(), "no temporary file is left behind");
});

test("starts racing on an empty data directory agree on one secret key", async () => {
  const sub = join(dir, "race");
  await mkdir(sub);
  const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecretKey(sub)));
  assert.equal(keys.filter((k) => k.created).length, 1);
  for (const k of keys) assert.ok(k.key.equals(keys[0]!.key));
});

test("a damaged secret key file is refused with the file named", async () => {
  const sub = join(dir, "damaged");
  await mkdir(sub);
  await writeFile(join(sub, SECRET_KEY_FILE), "short\n");
  await assert.rejects(loadOrCreateSecretKey(sub), (err: Error & { code?: string }) => err.code === "internal" && err.message.includes(SECRET_KEY_FILE));
});

test("a sealed secret opens with the same key and context, and shows nothing of the secret", () => {
  const sealed = sealSecret(key, "vnc-pass", "web-target:abc");
  assert.match(sealed, /^v1:[A-Za-z0-9_-]+$/);
  assert.ok(!sealed.includes("vnc-pass"));
  assert.ok(!Buffer.from(sealed.slice(3), "base64url").includes(Buffer.from("vnc-pass")));
  assert.equal(openSecret(key, sealed, "web-target:abc"), "vnc-pass");
  assert.notEqual(sealSecret(key, "vnc-pass", "web-target:abc"), sealed, "every seal uses a fresh IV");
});

test("a sealed secret does not open with another key, another context, or when altered", () => {
  const sealed = sealSecret(key, "vnc-pass", "web-target:abc");
  assert.throws(() => openSecret(createSecretKey(randomBytes(32)), sealed, "web-target:abc"), isInternal("vnc-pass"));
  assert.throws(() => openSecret(key, sealed, "web-target:xyz"), isInternal("vnc-pass"));
  const raw = Buffer.from(sealed.slice(3), "base64url");
  for (const i of [0, 12, 28, raw.length - 1]) {
    const altered = Buffer.from(raw);
    altered[i]! ^= 1;
    assert.throws(() => openSecret(key, `v1:${altered.toString("base64url")}`, "web-target:abc"), isInternal("vnc-pass"), `byte ${i}`);
  }
  for (const bad of ["", "vnc-pass", "v2:AAAA", "v1:", "v1:AAAA", `v1:${raw.subarray(0, 27).toString("base64url")}`]) {
    assert.throws(() => openSecret(key, bad, "web-target:abc"), isInternal("vnc-pass"), JSON.stringify(bad));
  }
});

test("the key file is the only place the key lives: the message of a failure names the file", async () => {
  const sub = join(dir, "named");
  await mkdir(sub);
  const { key: fileKey } = await loadOrCreateSecretKey(sub);
  const hex = (await readFile(join(sub, SECRET_KEY_FILE), "utf8")).trim();
  assert.equal(fileKey.export().toString("hex"), hex);
  assert.throws(
    () => openSecret(fileKey, "v1:AAAA", "web-target:abc"),
    (err: Error) => err.message.includes(SECRET_KEY_FILE) && err.message.includes("web-target:abc"),
  );
});

test("any text seals and opens to itself (property)", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ maxLength: 40 }), (secret, context) => {
      assert.equal(openSecret(key, sealSecret(key, secret, context), context), secret);
    }),
  );
});
