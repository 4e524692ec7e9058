/**
 * What the hop through a separate relay costs: the same access node reaches one device on
 * its embedded relay (client → node → agent) and one on a relay of its own process
 * (client → node → relay → agent, the forwarded path every user stream takes when the
 * device is on another relay). 12-byte round trips and one bulk download on each, in one run.
 *
 *   node dist-test/bench/relay-hop.js   (RTTS=3000, BULK_MIB=256; BENCH_CLI as for run.ts)
 */
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "./config.js";
import { Helper, runCli, startCli, stopAll } from "./procs.js";
import { BULK_HEADER_BYTES, MODE_DOWNLOAD, RTT_REPLY_BYTES, RTT_REQUEST_BYTES } from "./shared.js";

const RTTS = Number(process.env["RTTS"] ?? 3000);
const BULK_MIB = Number(process.env["BULK_MIB"] ?? 256);

function rtts(port: number, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    const request = Buffer.alloc(RTT_REQUEST_BYTES, 1);
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true }, () => {
      t0 = performance.now();
      socket.write(request);
    });
    let t0 = 0;
    let got = 0;
    socket.on("data", (d: Buffer) => {
      got += d.length;
      if (got < RTT_REPLY_BYTES) return;
      got -= RTT_REPLY_BYTES;
      times.push((performance.now() - t0) * 1000);
      if (times.length === n) {
        socket.destroy();
        resolve(times.sort((a, b) => a - b));
        return;
      }
      t0 = performance.now();
      socket.write(request);
    });
    socket.on("error", reject);
  });
}

function download(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const header = Buffer.alloc(BULK_HEADER_BYTES);
    header.writeUInt8(MODE_DOWNLOAD, 0);
    header.writeBigUInt64BE(BigInt(bytes), 1);
    const t0 = performance.now();
    let got = 0;
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true }, () => socket.write(header));
    socket.on("data", (d: Buffer) => (got += d.length));
    socket.on("end", () => (got >= bytes ? resolve((bytes * 8) / ((performance.now() - t0) / 1000) / 1e9) : reject(new Error(`got ${got} of ${bytes}`))));
    socket.on("error", reject);
  });
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<void> {
  const { cli } = loadConfig();
  const tmp = await mkdtemp(join(tmpdir(), "fernlink-relay-hop-"));
  const env: NodeJS.ProcessEnv = { ...process.env, FERNLINK_HOME: join(tmp, "home"), FERNLINK_PASSWORD: "bench-password-1234" };
  delete env["FERNLINK_DB"];
  delete env["FERNLINK_CA"];
  try {
    const targets = new Helper(new URL("./targets.js", import.meta.url));
    const answer = await targets.request(undefined, 10_000);
    if (!("ports" in answer)) throw new Error("targets sent no ports");
    const data = join(tmp, "data");
    const ca = join(data, "ca.pem");
    const server = await startCli(
      cli,
      ["server", "--data", data, "--listen", "127.0.0.1:0", "--init-account", "bench", "--init-user", "bench", "--stream-rate", "1000000", "--region", "near"],
      env,
      /fernlink server ready: (https:\/\/\S+)/,
    );
    const url = server.match[1]!;
    const key = /relay key: (\S+)/.exec(await runCli(cli, ["relay", "add", "far", "--region", "far", "--data", data], env))![1]!;
    await startCli(
      cli,
      ["relay", "run", "--access", url, "--ca", ca, "--state", join(tmp, "relay"), "--listen", "127.0.0.1:0"],
      { ...env, FERNLINK_RELAY_KEY: key },
      /fernlink relay ready: /,
    );
    await runCli(cli, ["login", "--server", url, "--ca", ca, "--account", "bench", "--user", "bench"], env);
    await new Promise((r) => setTimeout(r, 2500)); // the relay's first load report puts it in the directory
    const forwards: Record<string, { echo: number; bulk: number }> = {};
    for (const region of ["near", "far"]) {
      const added = await runCli(cli, ["device", "add", `plc-${region}`, "--lan", "127.0.0.0/8"], env);
      const deviceKey = /^activation key: (\S+)$/m.exec(added)![1]!;
      await runCli(cli, ["agent", "register", "--server", url, "--ca", ca, "--state", join(tmp, `agent-${region}`)], {
        ...env,
        FERNLINK_ACTIVATION_KEY: deviceKey,
      });
      await startCli(cli, ["agent", "run", "--state", join(tmp, `agent-${region}`), "--region", region], env, /fernlink agent online: .*\n/);
      const client = await startCli(
        cli,
        ["connect", `plc-${region}`, "--forward", `0:127.0.0.1:${answer.ports.echo}`, "--forward", `0:127.0.0.1:${answer.ports.bulk}`],
        env,
        /(?:forwarding 127\.0\.0\.1:\d+ -> .*\n){2}/,
      );
      const ports = [...client.match[0].matchAll(/forwarding 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      forwards[region] = { echo: ports[0]!, bulk: ports[1]! };
    }
    const listing = await runCli(cli, ["device", "list", "--json"], env);
    const where = Object.fromEntries((JSON.parse(listing) as { name: string; relay: string }[]).map((d) => [d.name, d.relay]));
    const rows: Record<string, { relay: string; p50: number; p99: number; gbit: number }> = {};
    for (const region of ["near", "far", "near", "far"]) {
      const f = forwards[region]!;
      const t = await rtts(f.echo, RTTS);
      const gbit = await download(f.bulk, BULK_MIB * 2 ** 20);
      const row = { relay: where[`plc-${region}`]!, p50: pct(t, 50), p99: pct(t, 99), gbit };
      // Each path twice, interleaved; the better of the two is kept (a busy machine only slows).
      const prev = rows[region];
      rows[region] = prev ? { relay: row.relay, p50: Math.min(prev.p50, row.p50), p99: Math.min(prev.p99, row.p99), gbit: Math.max(prev.gbit, row.gbit) } : row;
    }
    const near = rows["near"]!;
    const far = rows["far"]!;
    const lines = [
      `embedded relay (client → node → agent, device on ${near.relay}): rtt p50 ${near.p50.toFixed(0)} µs, p99 ${near.p99.toFixed(0)} µs, ` +
        `download ${near.gbit.toFixed(2)} Gbit/s`,
      `separate relay (client → node → relay → agent, device on ${far.relay}): rtt p50 ${far.p50.toFixed(0)} µs, p99 ${far.p99.toFixed(0)} µs, ` +
        `download ${far.gbit.toFixed(2)} Gbit/s`,
      `separate / embedded: rtt p50 ${(far.p50 / near.p50).toFixed(2)}×, p99 ${(far.p99 / near.p99).toFixed(2)}×, ` +
        `download ${(far.gbit / near.gbit).toFixed(2)}×`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await stopAll();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
