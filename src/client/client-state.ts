import { readFile, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { FernlinkError } from "../protocol/errors.js";
import { checkCaPem } from "../shared/ca-file.js";
import { pathExists, writeFileAtomic } from "../shared/files.js";

/** The client's saved login: which server, which CA (a copy in the home folder), and the session token. */
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
  await writeFileAtomic(sessionPath(home), `${JSON.stringify(session, null, 2)}\n`, 0o600);
}

/** What to type to log in; the saved server, account and user are reused when left out. */
export const LOGIN_HINT = "fernlink login --server URL [--ca FILE] --account NAME --user NAME";

/** Loads the session or tells the user to log in. */
export async function loadSession(home: string): Promise<ClientSession> {
  const session = await readSavedSession(home);
  if (!session) throw new FernlinkError("unauthenticated", `not logged in; run: ${LOGIN_HINT}`);
  return session;
}

/** The saved session, expired or not; undefined when there is none. */
export async function readSavedSession(home: string): Promise<ClientSession | undefined> {
  let text: string;
  try {
    text = await readFile(sessionPath(home), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new FernlinkError("unauthenticated", `cannot read ${sessionPath(home)}; run: ${LOGIN_HINT}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = ClientSession.safeParse(json);
  if (!parsed.success) throw new FernlinkError("unauthenticated", `${sessionPath(home)} is damaged; run: ${LOGIN_HINT}`);
  return parsed.data;
}

/** True when a session file exists (valid or not). */
export function hasSession(home: string): Promise<boolean> {
  return pathExists(sessionPath(home));
}

/** Forgets the session. */
export async function removeSession(home: string): Promise<void> {
  await rm(sessionPath(home), { force: true });
}

/** Name of the client's own copy of the CA, inside `$FERNLINK_HOME`. */
export const CA_COPY = "ca.pem";

/** Keeps a copy of the CA beside the session, so moving or deleting the original breaks nothing. */
export async function saveCaCopy(home: string, pem: string): Promise<string> {
  await writeFileAtomic(join(home, CA_COPY), pem, 0o600);
  return CA_COPY;
}

/** Drops the CA copy of an earlier login (the new one trusts the system store); returns null for the session. */
export async function removeCaCopy(home: string): Promise<null> {
  await rm(join(home, CA_COPY), { force: true });
  return null;
}

/** The CA file a session names: its copy in `home` (a relative name) or, for older sessions, an absolute path. */
export function sessionCaPath(home: string, session: ClientSession): string | null {
  return session.ca === null ? null : resolve(home, session.ca);
}

/** Reads the CA file named by --ca / FERNLINK_CA / the session, if any, and checks that it holds a certificate. */
export async function readCa(path: string | null | undefined): Promise<string | undefined> {
  if (!path) return undefined;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new FernlinkError("invalid-input", `cannot read CA file "${path}"; pass the server's ca.pem with --ca FILE`, { cause: err });
  }
  checkCaPem(text, path);
  return text;
}
