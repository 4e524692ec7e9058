import tls from "node:tls";
import { type Ca, issueServerCertificate } from "../access/ca.js";
import type { Logger } from "../shared/log.js";

/** Certificates kept for HMI host names; each costs one key pair and one signature to make. */
const MAX_CACHED = 1000;

/** Certificates being made at once; more handshakes for new names wait their turn. */
const MAX_ISSUING = 2;

/**
 * Certificates for the HMI host names `w-<id>.<domain>`, issued by the server's CA on the
 * first TLS handshake that names one (SNI) and kept in memory. A wildcard would do for a
 * real domain, but browsers refuse wildcards directly under a top-level name such as
 * `*.localhost`, so each HMI host gets a certificate naming exactly it. Only names of web
 * targets that exist get one, and only a few are made at a time, so made-up names cost a
 * lookup, not a key pair.
 */
export function webCertificates(ca: Ca, isWebHost: (servername: string) => Promise<boolean>, now: () => Date, log: Logger) {
  const cache = new Map<string, Promise<tls.SecureContext>>();
  let issuing = 0;
  const waiting: (() => void)[] = [];
  const turn = async (): Promise<void> => {
    if (issuing >= MAX_ISSUING) await new Promise<void>((resolve) => waiting.push(resolve));
    issuing++;
  };
  const done = (): void => {
    issuing--;
    waiting.shift()?.();
  };
  const issue = async (name: string): Promise<tls.SecureContext> => {
    await turn();
    try {
      const { keyPem, certPem } = await issueServerCertificate(ca, { hostnames: [name], now: now() });
      return tls.createSecureContext({ key: keyPem, cert: certPem, ca: ca.certPem });
    } finally {
      done();
    }
  };
  return async (servername: string): Promise<tls.SecureContext | undefined> => {
    const name = servername.toLowerCase();
    if (!cache.has(name) && !(await isWebHost(name))) return undefined;
    let context = cache.get(name);
    if (!context) {
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      context = issue(name);
      context.catch((err: unknown) => {
        cache.delete(name);
        log.error("cannot issue a certificate for an HMI host", { host: name, error: String(err) });
      });
      cache.set(name, context);
    }
    return context;
  };
}
