import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../protocol/errors.js";
import type { RelayRegisterRequest, RelayRegisterResponse } from "../protocol/relay-link.js";
import { type CertificateLike, RELAY_URN_PREFIX, serialOf, urnIdFromCertificate } from "../shared/pki.js";
import { ACTIVATION_KEY_TTL_MS, hashActivationKey, newActivationKey } from "./activation-key.js";
import { type Ca, signRelayCsr } from "./ca.js";
import { addRelay, findRelay, type RelayRow, relayOfKey, setRelayCertificate } from "./store/relays.js";
import type { Database } from "./store/schema.js";

const KEY_ERRORS = {
  unknown: new FernlinkError(
    "activation-key-invalid",
    "the relay key is not valid; check it, or issue a new one with: fernlink relay remove NAME, then fernlink relay add NAME",
  ),
  expired: new FernlinkError(
    "activation-key-expired",
    "the relay key has expired; issue a new one with: fernlink relay remove NAME, then fernlink relay add NAME",
  ),
} as const;

/** `fernlink relay add`: a relay that may register once; returns its one-time key. */
export async function addRelayWithKey(
  db: Kysely<Database>,
  input: { name: string; region: string | undefined; now: Date },
): Promise<{ key: string; expiresAt: Date }> {
  const key = newActivationKey();
  const expiresAt = new Date(input.now.getTime() + ACTIVATION_KEY_TTL_MS);
  await addRelay(db, {
    id: randomUUID(),
    name: input.name,
    region: input.region ?? null,
    keyHash: hashActivationKey(`relay:${key}`),
    keyExpiresAt: expiresAt,
    now: input.now,
  });
  return { key, expiresAt };
}

/**
 * Registers a relay: checks its one-time key, signs its CSR for the host of its URL, and
 * keeps the certificate's serial. A bad CSR leaves the key unused.
 */
export async function registerRelay(db: Kysely<Database>, ca: Ca, input: RelayRegisterRequest, now: Date): Promise<RelayRegisterResponse> {
  const keyHash = hashActivationKey(`relay:${input.key}`);
  const relay = await relayOfKey(db, keyHash, now);
  if (relay === "unknown" || relay === "expired") throw KEY_ERRORS[relay];
  const url = relayUrl(input.url);
  const signed = await signRelayCsr(ca, { csrPem: input.csr, relayId: relay.id, hostnames: [url.hostname.replace(/^\[|\]$/g, "")], now });
  const region = input.region ?? relay.region;
  if (!(await setRelayCertificate(db, { id: relay.id, keyHash, serial: signed.serial, url: url.origin, region }))) throw KEY_ERRORS.unknown;
  return { relayId: relay.id, name: relay.name, certificate: signed.certPem, caCertificate: ca.certPem };
}

/** A relay's URL: https, a host, a port; nothing else. */
export function relayUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FernlinkError("invalid-input", `relay URL "${text}" is not a URL; give https://HOST:PORT`);
  }
  if (url.protocol !== "https:" || url.pathname !== "/" || url.search || url.username) {
    throw new FernlinkError("invalid-input", `relay URL "${text}" must be https://HOST:PORT`);
  }
  return url;
}

/**
 * The registered relay a chain-verified client certificate belongs to; throws
 * "certificate-revoked" when the relay was removed or has been given a newer certificate.
 */
export async function relayOfCertificate(db: Kysely<Database>, cert: CertificateLike & { serialNumber: string }): Promise<RelayRow> {
  const id = urnIdFromCertificate(cert, RELAY_URN_PREFIX);
  const row = id === undefined ? undefined : await findRelay(db, id);
  if (row?.kind !== "relay" || row.cert_serial !== serialOf(cert)) {
    throw new FernlinkError(
      "certificate-revoked",
      "this relay's certificate is not accepted (the relay was removed, or registered again); add it again with: fernlink relay add NAME",
    );
  }
  return row;
}
