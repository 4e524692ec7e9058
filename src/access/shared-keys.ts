import type { KeyObject } from "node:crypto";
import { createSecretKey, randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { pathExists, writeFileAtomic } from "../shared/files.js";
import type { Logger } from "../shared/log.js";
import { AUDIT_KEY_FILE, openAuditKey } from "./audit-key.js";
import { CA_CERT_FILE, CA_KEY_FILE, type Ca, caFromPem, generateCaPem, loadOrCreateCa } from "./ca.js";
import { ClusterKeyError, clusterKeyPath, loadOrCreateClusterKey, readClusterKey } from "./cluster-key.js";
import { KEY_BYTES, readKeyFileIfExists } from "./key-file.js";
import { openSecret, openSecretKey, SECRET_KEY_FILE, sealSecret } from "./secret-box.js";
import { insertClusterKeysIfAbsent, readClusterKeys, type SealedClusterKey } from "./store/cluster-keys.js";
import type { Store } from "./store/store.js";

/**
 * The keys a server signs and seals with: the CA, the audit chain's key and the secret box
 * key. On SQLite they are files in the data directory, as a single node needs. On PostgreSQL
 * every node of a cluster must hold the same ones, so they live in the store, each sealed
 * with the cluster key (cluster-key.ts) and bound to its row name; the first node seals them
 * (those of its data directory, when an installation grows from one node, else new ones),
 * every further node opens them with a copy of its cluster key file.
 */

/** What the server needs of its keys. */
export interface ServerKeys {
  ca: Ca;
  auditKey: KeyObject;
  secretKey: KeyObject;
}

/** Where to find the keys. */
export interface ServerKeyOptions {
  dataDir: string;
  store: Store;
  /** The cluster key file named by --cluster-key or FERNLINK_CLUSTER_KEY; default DIR/cluster-key. */
  clusterKeyFile?: string | undefined;
  log: Logger;
  now: Date;
}

/** The keys in clear, as sealed into the store. */
interface KeyMaterial {
  caCertPem: string;
  caKeyPem: string;
  auditKey: Buffer;
  secretKey: Buffer;
}

/** Row names; each sealed value is bound to its name, so values swapped between rows do not open. */
const ROW = { check: "check", caCert: "ca-cert", caKey: "ca-key", audit: "audit-key", secret: "secret-key" } as const;
/** The known value that tells a wrong cluster key from damaged rows: GCM authenticates it. */
const CHECK_VALUE = "fernlink cluster key v1";

const contextOf = (name: string): string => `cluster-key:${name}`;

/** Loads the server's keys: from DATA on SQLite, from the store (sealed with the cluster key) on PostgreSQL. */
export async function openServerKeys(options: ServerKeyOptions): Promise<ServerKeys> {
  const { dataDir, store, log, now } = options;
  if (store.dialect !== "postgres") {
    return {
      ca: await loadOrCreateCa(dataDir, { now }),
      auditKey: await openAuditKey(dataDir, store.db, log),
      secretKey: await openSecretKey(dataDir, store.db, log),
    };
  }
  const path = clusterKeyPath(dataDir, options.clusterKeyFile);
  const material = (await sealFirst(options, path)) ?? openSealed(await readClusterKeys(store.db), await readClusterKey(path), path);
  const ca = await caFromPem(material.caCertPem, material.caKeyPem, {
    now,
    certName: "the cluster CA certificate in the database",
    keyName: "the cluster CA key in the database",
  });
  await writeCaFile(dataDir, ca.certPem);
  return { ca, auditKey: createSecretKey(material.auditKey), secretKey: createSecretKey(material.secretKey) };
}

/**
 * When the store holds no keys yet: this node is the first, so it makes (or reuses) its
 * cluster key file and seals its keys into the store. Undefined when the store already has
 * keys, or another node sealed its own first; a key file this start made is then removed,
 * so a refused start leaves nothing behind.
 */
async function sealFirst(options: ServerKeyOptions, path: string): Promise<KeyMaterial | undefined> {
  const { store, log, now } = options;
  if ((await readClusterKeys(store.db)).length > 0) return undefined;
  const { key, created } = await loadOrCreateClusterKey(path);
  try {
    const { material, fromDataDir } = await localMaterial(options.dataDir, now);
    const keyFile = `${hostname()}:${path}`;
    const rows: SealedClusterKey[] = [
      [ROW.check, CHECK_VALUE],
      [ROW.caCert, material.caCertPem],
      [ROW.caKey, material.caKeyPem],
      [ROW.audit, material.auditKey.toString("hex")],
      [ROW.secret, material.secretKey.toString("hex")],
    ].map(([name, value]) => ({ name: name!, sealed: sealSecret(key, value!, contextOf(name!)), keyFile }));
    const inserted = await insertClusterKeysIfAbsent(store.db, rows, now);
    if (inserted.length === 0) {
      if (created) await rm(path, { force: true });
      return undefined;
    }
    log.info(
      fromDataDir
        ? "moved the CA, audit key and secret key of the data directory into the database, sealed with a new cluster key"
        : "created the cluster's CA, audit key and secret key, sealed with a new cluster key",
      {
        file: path,
        next: "copy this file (mode 0600) to every further node of the cluster",
      },
    );
    return material;
  } catch (err) {
    if (created) await rm(path, { force: true });
    throw err;
  }
}

/** The keys of the data directory when it has them (a single-node installation growing), else new ones. */
async function localMaterial(dataDir: string, now: Date): Promise<{ material: KeyMaterial; fromDataDir: boolean }> {
  const hasCa = (await pathExists(join(dataDir, CA_CERT_FILE))) || (await pathExists(join(dataDir, CA_KEY_FILE)));
  const ca = hasCa ? await loadOrCreateCa(dataDir, { now }) : await generateCaPem(now);
  const audit = await readKeyFileIfExists(join(dataDir, AUDIT_KEY_FILE), { name: "audit key", lostWithout: "the audit chain cannot be verified" });
  const secret = await readKeyFileIfExists(join(dataDir, SECRET_KEY_FILE), {
    name: "secret key",
    lostWithout: "stored VNC passwords and one-time code secrets cannot be used",
  });
  return {
    material: {
      caCertPem: ca.certPem,
      caKeyPem: ca.keyPem,
      auditKey: audit?.export() ?? randomBytes(KEY_BYTES),
      secretKey: secret?.export() ?? randomBytes(KEY_BYTES),
    },
    fromDataDir: hasCa || audit !== undefined || secret !== undefined,
  };
}

/** Opens the sealed rows with `key`, refusing with the file to copy when the key is missing or another. */
function openSealed(rows: readonly SealedClusterKey[], key: KeyObject | undefined, path: string): KeyMaterial {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const check = byName.get(ROW.check);
  const damaged = (what: string, cause?: unknown): ClusterKeyError =>
    new ClusterKeyError(
      "damaged",
      `the cluster keys in the database are damaged (${what}): restore the table cluster_keys from a backup`,
      cause === undefined ? undefined : { cause },
    );
  if (check === undefined) throw damaged(`no "${ROW.check}" row`);
  const source = `copy ${check.keyFile} (the cluster key of the node that sealed them) to ${path}, or name the copy with --cluster-key FILE`;
  if (key === undefined) {
    throw new ClusterKeyError("missing", `the cluster keys in the database are sealed with a cluster key, but ${path} does not exist: ${source}`);
  }
  let checked: string | undefined;
  try {
    checked = openSecret(key, check.sealed, contextOf(ROW.check));
  } catch {
    checked = undefined;
  }
  if (checked !== CHECK_VALUE)
    throw new ClusterKeyError("wrong", `${path} is another cluster key than the one the cluster keys in the database are sealed with: ${source}`);
  const open = (name: string): string => {
    const row = byName.get(name);
    if (row === undefined) throw damaged(`no "${name}" row`);
    try {
      return openSecret(key, row.sealed, contextOf(name));
    } catch (err) {
      throw damaged(`"${name}" does not open`, err);
    }
  };
  const hexKey = (name: string): Buffer => {
    const hex = open(name);
    if (!/^[0-9a-f]+$/.test(hex) || hex.length !== KEY_BYTES * 2) throw damaged(`"${name}" is not a key`);
    return Buffer.from(hex, "hex");
  };
  return { caCertPem: open(ROW.caCert), caKeyPem: open(ROW.caKey), auditKey: hexKey(ROW.audit), secretKey: hexKey(ROW.secret) };
}

/**
 * Writes DATA/ca.pem for clients (`--ca DIR/ca.pem`). A data directory whose ca.pem belongs to
 * another CA is refused rather than overwritten: its devices would lose their trust silently.
 */
async function writeCaFile(dataDir: string, certPem: string): Promise<void> {
  const path = join(dataDir, CA_CERT_FILE);
  let current: string | undefined;
  try {
    current = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (current === undefined) return writeFileAtomic(path, certPem, 0o644);
  if (current.trim() !== certPem.trim()) {
    throw new ClusterKeyError(
      "ca-differs",
      `${path} belongs to another CA than the cluster's in the database: move ${CA_CERT_FILE} and ${CA_KEY_FILE} out of ${dataDir} (devices registered ` +
        `with that CA must register again), or use another data directory`,
    );
  }
}
