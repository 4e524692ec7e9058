import { RegisterResponse, ROUTES } from "../protocol/api.js";
import { requestJson } from "../shared/https-json.js";
import { createCsrPem, generateKeyPairPem } from "../shared/pki.js";
import { type AgentConfig, saveKey, saveRegistration } from "./state.js";

/** What `fernlink agent register` was given. */
export interface RegisterOptions {
  server: string;
  ca: string | undefined;
  activationKey: string;
  stateDir: string;
}

/**
 * Makes a fresh key pair locally, sends only the CSR with the one-time key, and stores the
 * certificate the service signed for this device. The private key never leaves `stateDir`.
 */
export async function registerAgent(options: RegisterOptions): Promise<AgentConfig> {
  const { privateKeyPem } = await generateKeyPairPem();
  const csr = await createCsrPem(privateKeyPem, { commonName: "fernlink-agent" });
  const reply = await requestJson({
    server: options.server,
    path: ROUTES.register,
    body: { activationKey: options.activationKey, csr },
    ca: options.ca,
    response: RegisterResponse,
  });
  const config: AgentConfig = {
    server: options.server,
    deviceId: reply.deviceId,
    device: reply.device,
    account: reply.account,
    lan: reply.lan,
  };
  await saveKey(options.stateDir, privateKeyPem);
  await saveRegistration(options.stateDir, { config, certPem: reply.certificate, caPem: reply.caCertificate });
  return config;
}
