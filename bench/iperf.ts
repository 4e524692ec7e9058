/** iperf3 (Debian's) as the bulk load: one client run through a path, its JSON result read. */
import { setTimeout as sleep } from "node:timers/promises";
import { inNetns } from "./paths.js";
import { runCommand } from "./procs.js";

export interface IperfResult {
  /** What the receiving side counted. */
  gbps: number;
  bytes: number;
  seconds: number;
}

export interface IperfRun {
  host: string;
  port: number;
  seconds: number;
  /** `-R`: the target sends (download, device to technician). */
  reverse?: boolean;
  streams?: number;
  /** Seconds of slow start left out of the result (`-O`). */
  omit?: number;
  netns?: string | undefined;
}

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bytes: number; seconds: number; bits_per_second: number } };
}

/**
 * One iperf3 run; one retry after a pause if it fails: iperf3's server takes one test at a
 * time, and a path that is slow to close the last test's 64 connections can make it turn
 * the next one away.
 */
export async function iperf(run: IperfRun): Promise<IperfResult> {
  try {
    return await iperfOnce(run);
  } catch (err) {
    process.stderr.write(`  ${err instanceof Error ? err.message : String(err)}; once more in 2 s\n`);
    await sleep(2000);
    return iperfOnce(run);
  }
}

async function iperfOnce(run: IperfRun): Promise<IperfResult> {
  const args = ["-c", run.host, "-p", String(run.port), "-t", String(run.seconds), "--json"];
  if (run.reverse) args.push("-R");
  if (run.streams && run.streams > 1) args.push("-P", String(run.streams));
  if (run.omit) args.push("-O", String(run.omit));
  const [cmd, argv] = inNetns(run.netns, "iperf3", args);
  let out: string;
  try {
    out = await runCommand(cmd, argv);
  } catch (err) {
    // iperf3 --json reports its own errors on stdout, with exit status 1.
    throw new Error(`iperf3 ${args.join(" ")} failed`, { cause: err });
  }
  const json = JSON.parse(out) as IperfJson;
  const r = json.end?.sum_received;
  if (json.error || !r) throw new Error(`iperf3 ${args.join(" ")}: ${json.error ?? "no sum_received in its JSON"}`);
  return { gbps: r.bits_per_second / 1e9, bytes: r.bytes, seconds: r.seconds };
}
