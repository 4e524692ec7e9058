import { UsageError } from "./errors.js";

/** An HTTP proxy to tunnel through with CONNECT, and who to be there. */
export interface ProxySetting {
  host: string;
  port: number;
  /** Absent: the proxy asks for nothing (or a 407 is reported as such). */
  credentials?: { user: string; password: string };
  /** Where the setting came from, for messages: "--proxy" or "HTTPS_PROXY". */
  source: string;
  /** Hosts reached directly (NO_PROXY entries). */
  noProxy: string[];
}

/** The proxy names a user but no password was given: a terminal may ask for it. */
export class ProxyPasswordMissing extends UsageError {
  constructor(readonly user: string) {
    super(`the proxy user "${user}" needs a password: set FERNLINK_PROXY_PASSWORD, or run on a terminal to be asked`);
  }
}

/** What the proxy setting is made from: the flag and the environment. */
export interface ProxyInputs {
  flag?: string | undefined;
  env: Record<string, string | undefined>;
}

/**
 * The proxy to use, from `--proxy` (never carrying a password) or else HTTPS_PROXY / https_proxy
 * (which may, as curl allows); the password from FERNLINK_PROXY_PASSWORD otherwise.
 * Undefined: connect directly. Bad input throws a one-line UsageError.
 */
export function proxySetting(inputs: ProxyInputs): ProxySetting | undefined {
  const { env } = inputs;
  const fromFlag = inputs.flag !== undefined && inputs.flag !== "";
  const text = fromFlag ? inputs.flag : (env["HTTPS_PROXY"] ?? env["https_proxy"]);
  if (text === undefined || text === "") return undefined;
  const source = fromFlag ? "--proxy" : "HTTPS_PROXY";
  let url: URL;
  try {
    // curl accepts "host:port" without a scheme; so do we.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new UsageError(`${source} "${redact(text)}" is not a proxy URL; use http://[USER@]HOST:PORT`);
  }
  if (url.protocol !== "http:")
    throw new UsageError(`${source} "${redact(text)}": only http:// proxies are supported (CONNECT over plain HTTP); use http://[USER@]HOST:PORT`);
  if (url.password !== "" && fromFlag)
    throw new UsageError("--proxy must not carry a password (it would show in the process list); set FERNLINK_PROXY_PASSWORD instead");
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "")
    throw new UsageError(`${source} "${redact(text)}" has a path; use http://[USER@]HOST:PORT`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port === "" ? 80 : Number(url.port);
  const user = decodeURIComponent(url.username);
  const setting: ProxySetting = { host, port, source, noProxy: noProxyList(env["NO_PROXY"] ?? env["no_proxy"]) };
  if (user !== "") {
    const password = env["FERNLINK_PROXY_PASSWORD"] ?? (url.password !== "" ? decodeURIComponent(url.password) : undefined);
    if (password === undefined) throw new ProxyPasswordMissing(user);
    setting.credentials = { user, password };
  }
  return setting;
}

/** A proxy URL fit for messages: the password, if any, left out. */
export function redact(text: string): string {
  return text.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

/** The entries of a NO_PROXY value, lower-cased. */
export function noProxyList(value: string | undefined): string[] {
  return (value ?? "")
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * True when `host:port` is to be reached without the proxy, as curl reads NO_PROXY: "*" for all,
 * a name matches itself and its subdomains (".example.com" or "example.com"), an address
 * itself, an optional ":port" narrows the entry to that port.
 */
export function bypassesProxy(noProxy: readonly string[], host: string, port: number): boolean {
  const name = host
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  return noProxy.some((entry) => {
    if (entry === "*") return true;
    let pattern = entry;
    const withPort = /^(.*):(\d+)$/.exec(entry);
    if (withPort && !entry.includes("::") && withPort[1] !== undefined) {
      if (Number(withPort[2]) !== port) return false;
      pattern = withPort[1];
    }
    pattern = pattern.replace(/^\[|\]$/g, "").replace(/^\*?\./, "");
    return name === pattern || name.endsWith(`.${pattern}`);
  });
}
