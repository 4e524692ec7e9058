import { readFile, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { FernlinkError } from "../protocol/errors.js";
import { writeFileAtomic } from "../shared/files.js";

/** The client's saved login: which server, which CA, and the session token. */
const ClientSession = z.strictObject({
  server: z.string().url(),
  ca: z.string().nullable(),
  account: z.string(),
  user: z.string(),
  token: z.string(),
  expiresAt: z.string(),
});
export type ClientSession = z.infer<typeof ClientSession>;

/** `$FERNLINK_HOME`, default `~/.config/fernlink`. */
export function clientHome(env: NodeJS.ProcessEnv = process.env): string {
  return env["FERNLINK_HOME"] ? resolve(env["FERNLINK_HOME"]) : join(homedir(), ".config", "fernlink");
}

function sessionPath(home: string): string {
  return join(home, "session.json");
}

/** Saves the session with mode 0600 (it holds a bearer token). */
export async function saveSession(home: string, session: ClientSession): Promise<void> {
  await writeFileAtomic(sessionPath(home), JSON.stringify(session, null, 2) + "\n", 0o600);
}

/** Loads the session or tells the user to log in. */
export async function loadSession(home: string): Promise<ClientSession> {
  let text: string;
  try {
    text = await readFile(sessionPath(home), "utf8");
  } catch {
    throw new FernlinkError("unauthenticated", "not logged in; run: fernlink login --server URL --account NAME --user NAME");
  }
  const parsed = ClientSession.safeParse(JSON.parse(text));
  if (!parsed.success) throw new FernlinkError("unauthenticated", `${sessionPath(home)} is damaged; run fernlink login again`);
  return parsed.data;
}

/** Forgets the session. */
export async function removeSession(home: string): Promise<void> {
  await rm(sessionPath(home), { force: true });
}

/** Reads the CA file named by --ca / FERNLINK_CA / the session, if any. */
export async function readCa(path: string | null | undefined): Promise<string | undefined> {
  if (!path) return undefined;
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new FernlinkError("invalid-input", `cannot read CA file "${path}"; pass the server's ca.pem with --ca FILE`, { cause: err });
  }
}
