/** iperf3 (Debian's) as the bulk load: one client run through a path, its JSON result read. */
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

export async function iperf(run: IperfRun): Promise<IperfResult> {
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
