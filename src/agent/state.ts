import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { FernlinkError } from "../protocol/errors.js";
import { writeFileAtomic } from "../shared/files.js";

/** What registration leaves in the state directory besides the PEM files. */
const AgentConfig = z.strictObject({
  server: z.string().url(),
  deviceId: z.string(),
  device: z.string(),
  account: z.string(),
  lan: z.array(z.string()),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

/** Everything `agent run` needs, loaded from the state directory. */
export interface AgentState {
  config: AgentConfig;
  keyPem: string;
  certPem: string;
  caPem: string;
}

/** File names inside the state directory. */
export const STATE_FILES = { key: "device-key.pem", cert: "device.pem", ca: "ca.pem", config: "agent.json" } as const;

/** Loads the state directory, failing with what to do when it is missing or incomplete. */
export async function loadAgentState(dir: string): Promise<AgentState> {
  const read = async (name: string): Promise<string> => {
    try {
      return await readFile(join(dir, name), "utf8");
    } catch (err) {
      throw new FernlinkError(
        "invalid-input",
        `agent state "${dir}" has no ${name}; register first with: fernlink agent register --server URL --key KEY --state ${dir}`,
        { cause: err },
      );
    }
  };
  const [configText, keyPem, certPem, caPem] = await Promise.all([
    read(STATE_FILES.config),
    read(STATE_FILES.key),
    read(STATE_FILES.cert),
    read(STATE_FILES.ca),
  ]);
  const mode = (await stat(join(dir, STATE_FILES.key))).mode & 0o077;
  if (mode !== 0) throw new FernlinkError("invalid-input", `${join(dir, STATE_FILES.key)} is readable by others; run: chmod 600 ${join(dir, STATE_FILES.key)}`);
  const parsed = AgentConfig.safeParse(JSON.parse(configText));
  if (!parsed.success) throw new FernlinkError("invalid-input", `${join(dir, STATE_FILES.config)} is damaged; register the agent again`);
  return { config: parsed.data, keyPem, certPem, caPem };
}

/** Writes the private key first: it is made here and never leaves this directory. */
export async function saveKey(dir: string, keyPem: string): Promise<void> {
  await writeFileAtomic(join(dir, STATE_FILES.key), keyPem, 0o600);
}

/** Stores what registration returned; the config is written last, so it marks a complete state. */
export async function saveRegistration(dir: string, reg: { config: AgentConfig; certPem: string; caPem: string }): Promise<void> {
  await writeFileAtomic(join(dir, STATE_FILES.cert), reg.certPem, 0o600);
  await writeFileAtomic(join(dir, STATE_FILES.ca), reg.caPem, 0o600);
  await writeFileAtomic(join(dir, STATE_FILES.config), `${JSON.stringify(reg.config, null, 2)}\n`, 0o600);
}
