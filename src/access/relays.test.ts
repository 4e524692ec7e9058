import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import { createCsrPem, generateKeyPairPem, NODE_URN_PREFIX, RELAY_URN_PREFIX, urnIdFromCertificate } from "../shared/pki.js";
import { type Ca, caFromPem, generateCaPem, issueNodeCertificate } from "./ca.js";
import { addRelayWithKey, registerRelay, relayOfCertificate, relayUrl } from "./relays.js";
import { openDatabase } from "./store/dialects.js";
import { removeRelay } from "./store/relays.js";
import type { Store } from "./store/store.js";

const NOW = new Date("2030-01-01T00:00:00.000Z");
let dir: string;
let store: Store;
let ca: Ca;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fernlink-relays-"));
  store = await openDatabase({ dataDir: dir });
  const pem = await generateCaPem(NOW);
  ca = await caFromPem(pem.certPem, pem.keyPem, { now: NOW, certName: "ca.pem", keyName: "ca-key.pem" });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const csr = async (): Promise<string> => createCsrPem((await generateKeyPairPem()).privateKeyPem, { commonName: "fernlink-relay" });
const refused = (code: string) => (err: unknown) => err instanceof FernlinkError && err.code === code;

describe("relay registration", () => {
  test("a relay key buys one certificate naming the relay and its URL's host, accepted until the relay is removed", async () => {
    const { key } = await addRelayWithKey(store.db, { name: "eu-1", region: "eu", now: NOW });
    const reply = await registerRelay(store.db, ca, { key, csr: await csr(), url: "https://relay-eu.example:9443" }, NOW);
    assert.equal(reply.name, "eu-1");
    const cert = new X509Certificate(reply.certificate);
    assert.equal(urnIdFromCertificate(cert, RELAY_URN_PREFIX), reply.relayId);
    assert.equal(cert.checkHost("relay-eu.example"), "relay-eu.example");
    assert.equal(cert.checkIssued(new X509Certificate(ca.certPem)), true);
    await assert.rejects(
      registerRelay(store.db, ca, { key, csr: await csr(), url: "https://relay-eu.example:9443" }, NOW),
      refused("activation-key-invalid"),
      "the key works once",
    );
    assert.equal((await relayOfCertificate(store.db, cert)).name, "eu-1");
    await removeRelay(store.db, "eu-1");
    await assert.rejects(relayOfCertificate(store.db, cert), refused("certificate-revoked"));
  });

  test("an expired or unknown key and a bad CSR leave nothing behind", async () => {
    const { key } = await addRelayWithKey(store.db, { name: "us-1", region: undefined, now: NOW });
    await assert.rejects(registerRelay(store.db, ca, { key, csr: "not a csr", url: "https://r:1" }, NOW), refused("invalid-input"));
    await assert.rejects(registerRelay(store.db, ca, { key: "WRONG-KEY", csr: await csr(), url: "https://r:1" }, NOW), refused("activation-key-invalid"));
    await assert.rejects(
      registerRelay(store.db, ca, { key, csr: await csr(), url: "https://r:1" }, new Date(NOW.getTime() + 25 * 3600_000)),
      refused("activation-key-expired"),
    );
    const ok = await registerRelay(store.db, ca, { key, csr: await csr(), url: "https://r:1" }, NOW);
    assert.equal(ok.name, "us-1", "the key still worked after the bad CSR");
  });

  test("a node certificate or a device-like certificate is no relay certificate", async () => {
    const node = await issueNodeCertificate(ca, { nodeId: "node-a", now: NOW });
    const cert = new X509Certificate(node.certPem);
    assert.equal(urnIdFromCertificate(cert, NODE_URN_PREFIX), "node-a");
    await assert.rejects(relayOfCertificate(store.db, cert), refused("certificate-revoked"));
  });

  test("a relay URL is https://HOST:PORT and nothing more", () => {
    assert.equal(relayUrl("https://[::1]:9443").host, "[::1]:9443");
    for (const bad of ["http://r:1", "https://r:1/path", "https://u@r:1", "relay:1"]) assert.throws(() => relayUrl(bad), refused("invalid-input"), bad);
  });
});
