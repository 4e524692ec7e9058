import type { X509Certificate } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type tls from "node:tls";
import { ALPN } from "../protocol/alpn.js";
import { errorMessage, FernlinkError } from "../protocol/errors.js";
import { TRANSPORT_PATH } from "../protocol/transport.js";
import { authorityOf } from "./proxy-tunnel.js";
import { dialTcp, dialTls, proxyFor } from "./server-dialer.js";

/** What one check found: passed, blocked (the firewall or something on the way stops it), a warning, or not run. */
export type CheckResult = "passed" | "blocked" | "warning" | "skipped";

/** One line of the checklist. */
export interface CheckItem {
  name: "dns" | "proxy" | "tcp" | "tls" | "alpn" | "websocket" | "time";
  result: CheckResult;
  detail: string;
  /** What to ask the plant's IT for (or do), when not passed. */
  fix?: string;
}

/** The whole checklist for one server. */
export interface CheckReport {
  server: string;
  proxy: string | null;
  /** True when nothing is blocked. */
  passed: boolean;
  checks: CheckItem[];
}

/** Clock difference past which certificates are refused (they allow 5 minutes), and past which it is worth a warning. */
const SKEW_BLOCKED_MS = 5 * 60_000;
const SKEW_WARNING_MS = 60_000;

/**
 * Checks, one after another, what a connection to the server needs: the name resolves, TCP
 * (or the proxy's CONNECT) gets through, TLS shows our chain (not an inspection CA's), the
 * agent's ALPN survives the way, the WebSocket transport gets through, and the clocks agree.
 */
export async function checkConnection(options: { server: string; ca: string | undefined; timeoutMs?: number }): Promise<CheckReport> {
  const url = new URL(options.server);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 443);
  const where = authorityOf(host, port);
  const proxy = proxyFor(host, port);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const checks: CheckItem[] = [];
  const skip = (name: CheckItem["name"], why: string): void => void checks.push({ name, result: "skipped", detail: why });

  if (isIP(host) !== 0) checks.push({ name: "dns", result: "passed", detail: `${host} is an address` });
  else {
    try {
      const addresses = await lookup(host, { all: true });
      checks.push({ name: "dns", result: "passed", detail: `${host} → ${addresses.map((a) => a.address).join(", ")}` });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
      if (proxy) checks.push({ name: "dns", result: "warning", detail: `${host} does not resolve here (${code}); the proxy resolves it` });
      else
        checks.push({
          name: "dns",
          result: "blocked",
          detail: `${host} does not resolve (${code})`,
          fix: `name resolution for ${host} (or an HTTP proxy, --proxy)`,
        });
    }
  }

  const signal = (): AbortSignal => AbortSignal.timeout(timeoutMs);
  let reached = false;
  try {
    const socket = await dialTcp(host, port, { signal: signal() });
    socket.destroy();
    reached = true;
    if (proxy)
      checks.push({ name: "proxy", result: "passed", detail: `${authorityOf(proxy.host, proxy.port)} (${proxy.source}) lets CONNECT ${where} through` });
    else skip("proxy", "none: direct");
    checks.push({ name: "tcp", result: "passed", detail: proxy ? `${where} through the proxy` : `${where} accepts connections` });
  } catch (err) {
    const detail = err instanceof FernlinkError ? err.message : `${where}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`;
    if (proxy) {
      checks.push({ name: "proxy", result: "blocked", detail, fix: `the proxy to allow CONNECT to ${where} for this computer` });
      skip("tcp", "through the proxy");
    } else {
      skip("proxy", "none: direct");
      checks.push({ name: "tcp", result: "blocked", detail, fix: `outbound TCP to ${where} in the firewall` });
    }
  }
  if (!reached) {
    for (const name of ["tls", "alpn", "websocket", "time"] as const) skip(name, "needs the TCP connection");
    return report(options.server, proxy, checks);
  }

  let serverDate: string | undefined;
  try {
    const socket = await dialTls({ host, port, ca: options.ca, alpn: [ALPN.http1], transport: "tls", label: options.server, timeoutMs });
    const issuer = peerIssuer(socket);
    serverDate = await dateHeader(socket, where, timeoutMs);
    checks.push({ name: "tls", result: "passed", detail: `chain signed by ${issuer}${options.ca ? " (the CA given)" : ""}` });
  } catch (err) {
    const foreign = err instanceof FernlinkError && err.code === "certificate-untrusted";
    checks.push({
      name: "tls",
      result: "blocked",
      detail: errorMessage(err),
      ...(foreign ? { fix: `an exception from TLS inspection for ${host} (or the right --ca)` } : { fix: `TLS to ${where}` }),
    });
  }

  let agentAlpn: string | undefined;
  try {
    const socket = await dialTls({ host, port, ca: options.ca, alpn: [ALPN.agent], transport: "tls", label: options.server, timeoutMs });
    agentAlpn = socket.alpnProtocol || "none";
    socket.destroy();
  } catch (err) {
    agentAlpn = `failed: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`;
  }

  let websocket = false;
  try {
    const socket = await dialTls({ host, port, ca: options.ca, alpn: [ALPN.h2], transport: "websocket", label: options.server, timeoutMs });
    websocket = socket.alpnProtocol === ALPN.h2;
    socket.destroy();
    checks.push({ name: "websocket", result: "passed", detail: `TLS inside a WebSocket on ${TRANSPORT_PATH} gets through` });
  } catch (err) {
    checks.push({
      name: "websocket",
      result: "warning",
      detail: `the WebSocket transport does not get through (${errorMessage(err)})`,
      fix: `WebSocket upgrades to ${where}${TRANSPORT_PATH} (only needed where TLS+ALPN is blocked)`,
    });
  }
  if (agentAlpn === ALPN.agent) checks.push({ name: "alpn", result: "passed", detail: `${ALPN.agent} agreed: the direct tunnel works` });
  else
    checks.push({
      name: "alpn",
      result: websocket ? "warning" : "blocked",
      detail: `${ALPN.agent} not agreed (${agentAlpn}): something on the way terminates TLS${websocket ? "; the WebSocket transport is used instead" : ""}`,
      fix: `TLS to ${where} passed through untouched (no TLS-terminating proxy)`,
    });

  if (serverDate === undefined) skip("time", "no answer from the server to compare with");
  else {
    const skewMs = Date.parse(serverDate) - Date.now();
    const seconds = Math.round(Math.abs(skewMs) / 1000);
    const detail = `this computer's clock is ${seconds} s ${skewMs > 0 ? "behind" : "ahead of"} the server's`;
    if (Math.abs(skewMs) >= SKEW_BLOCKED_MS)
      checks.push({ name: "time", result: "blocked", detail, fix: "set this computer's clock (NTP): certificates are refused past 5 minutes" });
    else if (Math.abs(skewMs) >= SKEW_WARNING_MS) checks.push({ name: "time", result: "warning", detail, fix: "set this computer's clock (NTP)" });
    else checks.push({ name: "time", result: "passed", detail });
  }
  return report(options.server, proxy, checks);
}

function report(server: string, proxy: { host: string; port: number } | undefined, checks: CheckItem[]): CheckReport {
  return {
    server,
    proxy: proxy ? `http://${authorityOf(proxy.host, proxy.port)}` : null,
    passed: !checks.some((c) => c.result === "blocked"),
    checks,
  };
}

/** The issuer of the certificate the server showed, as "CN=…". */
function peerIssuer(socket: tls.TLSSocket): string {
  const raw = socket.getPeerX509Certificate();
  return raw ? (raw as X509Certificate).issuer.split("\n").join(", ") : "unknown";
}

/** Asks the server for its Date header (HEAD / over HTTP/1.1), then closes. */
function dateHeader(socket: tls.TLSSocket, where: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = "";
    const done = (value: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (text.includes("\r\n\r\n")) done(/^date:\s*(.+)$/im.exec(text)?.[1]?.trim());
    });
    socket.on("error", () => done(undefined));
    socket.on("end", () => done(/^date:\s*(.+)$/im.exec(text)?.[1]?.trim()));
    socket.write(`HEAD / HTTP/1.1\r\nHost: ${where}\r\nConnection: close\r\n\r\n`);
  });
}

/** The checklist as a table, then what to ask for: one line per check. */
export function formatCheckReport(report: CheckReport): string {
  const lines = [`fernlink check ${report.server}${report.proxy ? ` via proxy ${report.proxy}` : ""}`];
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const c of report.checks) lines.push(`  ${c.name.padEnd(width)}  ${c.result.padEnd(7)}  ${c.detail}`);
  const fixes = report.checks.filter((c) => c.fix && (c.result === "blocked" || c.result === "warning"));
  if (fixes.length > 0) {
    lines.push("", "to ask the plant's IT for:");
    for (const c of fixes) lines.push(`  ${c.name}: ${c.fix}`);
  }
  lines.push("", report.passed ? "all passed: Fernlink can connect from here" : "blocked: Fernlink cannot connect from here until the above is open");
  return `${lines.join("\n")}\n`;
}
