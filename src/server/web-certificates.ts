import tls from "node:tls";
import { issueServerCertificate, type Ca } from "../access/ca.js";
import type { Logger } from "../shared/log.js";

/** Certificates kept for HMI host names; each costs one key pair and one signature to make. */
const MAX_CACHED = 1000;

/**
 * Certificates for the HMI host names `w-<id>.<domain>`, issued by the server's CA on the
 * first TLS handshake that names one (SNI) and kept in memory. A wildcard would do for a
 * real domain, but browsers refuse wildcards directly under a top-level name such as
 * `*.localhost`, so each HMI host gets a certificate naming exactly it.
 */
export function webCertificates(ca: Ca, isWebHost: (servername: string) => boolean, now: () => Date, log: Logger) {
  const cache = new Map<string, Promise<tls.SecureContext>>();
  return (servername: string): Promise<tls.SecureContext | undefined> => {
    const name = servername.toLowerCase();
    if (!isWebHost(name)) return Promise.resolve(undefined);
    let context = cache.get(name);
    if (!context) {
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      context = issueServerCertificate(ca, { hostnames: [name], now: now() }).then(({ keyPem, certPem }) => tls.createSecureContext({ key: keyPem, cert: certPem, ca: ca.certPem }));
      context.catch((err: unknown) => {
        cache.delete(name);
        log.error("cannot issue a certificate for an HMI host", { host: name, error: String(err) });
      });
      cache.set(name, context);
    }
    return context;
  };
}
