/**
 * Linux /proc readings for the processes under test: resident memory, and CPU time of the
 * process and of its main thread. The main thread is where JavaScript, TLS record work and
 * nghttp2 all run, so "main thread near 100 %" means that process is the bottleneck even
 * when the whole process (libuv pool, GC threads) shows less.
 */
import { readdirSync, readFileSync } from "node:fs";

/** USER_HZ; 100 on every mainstream Linux build (x86-64, arm64). */
const TICKS_PER_SECOND = 100;

/** VmRSS in MiB, or NaN when the process is gone. */
export function rssMiB(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** utime + stime in seconds from a /proc …/stat file (fields 14 and 15; the name may hold spaces). */
function cpuSeconds(path: string): number {
  try {
    const stat = readFileSync(path, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

export interface CpuSample {
  at: number;
  process: number;
  main: number;
}

export function cpuSample(pid: number): CpuSample {
  return { at: performance.now(), process: cpuSeconds(`/proc/${pid}/stat`), main: cpuSeconds(`/proc/${pid}/task/${pid}/stat`) };
}

/** CPU use between two samples, in percent of one core (200 = two cores busy). */
export function cpuPercent(a: CpuSample, b: CpuSample): { process: number; main: number } {
  const wall = (b.at - a.at) / 1000;
  return { process: (100 * (b.process - a.process)) / wall, main: (100 * (b.main - a.main)) / wall };
}

/** Samples VmRSS of some processes every `everyMs` until stopped; keeps the peak of each. */
export function watchRss(pids: Record<string, number>, everyMs = 50): () => Record<string, number> {
  const peak: Record<string, number> = {};
  const sample = (): void => {
    for (const [name, pid] of Object.entries(pids)) {
      const v = rssMiB(pid);
      if (v > (peak[name] ?? 0)) peak[name] = v;
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}

/** Busy and total jiffies of the whole machine (all cores), from the first line of /proc/stat. */
export interface MachineSample {
  busy: number;
  total: number;
}

export function machineSample(): MachineSample {
  // cpu  user nice system idle iowait irq softirq steal …
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/** Machine CPU busy between two samples, in percent of one core (so up to 100 × cores). */
export function machinePercent(a: MachineSample, b: MachineSample, cores: number): number {
  return (100 * cores * (b.busy - a.busy)) / Math.max(1, b.total - a.total);
}

/** utime + stime + cutime + cstime (fields 14–17) in seconds: the process and the children it has reaped. */
function cpuWithReaped(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** `pid` and every live descendant, from /proc/PID/task/TID/children. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number): void => {
    out.push(p);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let children = "";
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, "utf8");
      } catch {
        continue;
      }
      for (const c of children.split(" ").filter(Boolean)) visit(Number(c));
    }
  };
  visit(pid);
  return out;
}

/**
 * CPU seconds used so far by the process trees under `roots`: each live process's own time
 * plus what its reaped children used, so a per-connection child (sshd's, socat's) that
 * ends between two readings still counts once, in its parent.
 */
export function treeCpuSeconds(roots: number[]): number {
  return roots.flatMap(processTree).reduce((a, p) => a + cpuWithReaped(p), 0);
}
