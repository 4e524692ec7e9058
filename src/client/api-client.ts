import { resolve } from "node:path";
import type { z } from "zod";
import { requestJson } from "../shared/https-json.js";
import { type ClientSession, clientHome, loadSession, readCa, sessionCaPath } from "./client-state.js";

/** The logged-in user's view of the API: server, CA and token from the saved session. */
export interface ApiClient {
  session: ClientSession;
  ca: string | undefined;
  /** The file `ca` was read from (--ca, FERNLINK_CA or the session's copy), absolute; null for the system store. */
  caPath: string | null;
  call<T extends z.ZodType>(method: "GET" | "POST" | "DELETE", path: string, response: T, body?: unknown): Promise<z.infer<T>>;
}

let caOverride: string | undefined;

/** A CA file named on the command line (`--ca`), trusted instead of the session's for this run. */
export function useCaFile(path: string | undefined): void {
  caOverride = path;
}

/** Loads the saved session (`$FERNLINK_HOME`) and returns a client for it. */
export async function apiClient(home = clientHome()): Promise<ApiClient> {
  const session = await loadSession(home);
  const caFile = caOverride ?? process.env["FERNLINK_CA"] ?? sessionCaPath(home, session);
  const ca = await readCa(caFile);
  return {
    session,
    ca,
    caPath: caFile ? resolve(caFile) : null,
    call: (method, path, response, body) => requestJson({ server: session.server, path, method, body, ca, token: session.token, response }),
  };
}
