import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { FernlinkError } from "../protocol/errors.js";
import { RELAY_ROUTES, RelayRegisterResponse } from "../protocol/relay-link.js";
import { pathExists, writeFileAtomic } from "../shared/files.js";
import { requestJson } from "../shared/https-json.js";
import { createCsrPem, generateKeyPairPem } from "../shared/pki.js";

const RelayConfig = z.strictObject({ access: z.string().url(), relayId: z.string(), name: z.string(), url: z.string().url(), region: z.string().optional() });
export type RelayConfig = z.infer<typeof RelayConfig>;

/** A registered relay: its config, key, certificate and the CA it trusts. */
export interface RelayState {
  config: RelayConfig;
  keyPem: string;
  certPem: string;
  caPem: string;
}

const FILES = { key: "relay-key.pem", cert: "relay.pem", ca: "ca.pem", config: "relay.json" } as const;

/** What `fernlink relay run` needs to register, when its state directory is empty. */
export interface RelayRegistration {
  access: string;
  ca: string | undefined;
  key: string | undefined;
  url: string;
  region: string | undefined;
}

/**
 * The relay's state: loaded when `dir` holds a registration, else made by registering once
 * with the one-time relay key (a fresh key pair; only the CSR leaves this machine). The
 * config is written last, so it marks a complete state.
 */
export async function loadOrRegisterRelay(dir: string, reg: RelayRegistration): Promise<{ state: RelayState; registered: boolean }> {
  if (await pathExists(join(dir, FILES.config))) return { state: await loadRelayState(dir), registered: false };
  if (!reg.key) throw new FernlinkError("invalid-input", `relay state "${dir}" is empty; register with --key KEY (from: fernlink relay add NAME)`);
  const { privateKeyPem } = await generateKeyPairPem();
  const csr = await createCsrPem(privateKeyPem, { commonName: "fernlink-relay" });
  const reply = await requestJson({
    server: reg.access,
    path: RELAY_ROUTES.register,
    body: { key: reg.key, csr, url: reg.url, ...(reg.region ? { region: reg.region } : {}) },
    ca: reg.ca,
    response: RelayRegisterResponse,
  });
  const config: RelayConfig = { access: reg.access, relayId: reply.relayId, name: reply.name, url: reg.url, ...(reg.region ? { region: reg.region } : {}) };
  await writeFileAtomic(join(dir, FILES.key), privateKeyPem, 0o600);
  await writeFileAtomic(join(dir, FILES.cert), reply.certificate, 0o600);
  await writeFileAtomic(join(dir, FILES.ca), reply.caCertificate, 0o600);
  await writeFileAtomic(join(dir, FILES.config), `${JSON.stringify(config, null, 2)}\n`, 0o600);
  return { state: { config, keyPem: privateKeyPem, certPem: reply.certificate, caPem: reply.caCertificate }, registered: true };
}

async function loadRelayState(dir: string): Promise<RelayState> {
  const read = (name: string): Promise<string> => readFile(join(dir, name), "utf8");
  const [configText, keyPem, certPem, caPem] = await Promise.all([read(FILES.config), read(FILES.key), read(FILES.cert), read(FILES.ca)]);
  const parsed = RelayConfig.safeParse(JSON.parse(configText));
  if (!parsed.success) throw new FernlinkError("invalid-input", `${join(dir, FILES.config)} is damaged; register the relay again into an empty --state`);
  return { config: parsed.data, keyPem, certPem, caPem };
}
