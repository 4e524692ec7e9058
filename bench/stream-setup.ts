/**
 * Stream setup cost: how many new streams per second the stack opens, and how much server
 * CPU each costs. Every stream is one TCP connection to the client's forward port, so one
 * CONNECT through the relay (authenticate, authorize, audit), a 12-byte request and its reply
 * from the echo target, then close. Run in 1 and in 8 concurrent loops.
 *
 *   node dist-test/bench/stream-setup.js   (STREAMS=2000 streams per run; BENCH_CLI and
 *                                           BENCH_CPU_PROF as for run.ts, see config.ts)
 */
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "./config.js";
import { startStack } from "./fernlink.js";
import { Helper, stopAll } from "./procs.js";
import { cpuSample } from "./procstat.js";
import { RTT_REPLY_BYTES, RTT_REQUEST_BYTES } from "./shared.js";

const STREAMS = Number(process.env["STREAMS"] ?? 2000);
const WARMUP = 100;
const REQUEST = Buffer.alloc(RTT_REQUEST_BYTES, 0x01);

/** One stream: connect to the forward port, one request and its reply, close. */
function oneStream(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true }, () => socket.write(REQUEST));
    let got = 0;
    socket.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= RTT_REPLY_BYTES) {
        socket.destroy();
        resolve();
      }
    });
    socket.on("error", reject);
    socket.on("close", () => (got < RTT_REPLY_BYTES ? reject(new Error(`stream closed after ${got} of ${RTT_REPLY_BYTES} reply bytes`)) : undefined));
  });
}

/** `n` streams shared by `loops` loops, each opening the next as soon as its last closed. */
async function run(port: number, n: number, loops: number): Promise<void> {
  let left = n;
  const loop = async (): Promise<void> => {
    while (left-- > 0) await oneStream(port);
  };
  await Promise.all(Array.from({ length: loops }, loop));
}

async function main(): Promise<void> {
  const config = loadConfig();
  const tmp = await mkdtemp(join(tmpdir(), "fernlink-stream-setup-"));
  try {
    const targets = new Helper(new URL("./targets.js", import.meta.url));
    const answer = await targets.request(undefined, 10_000);
    if (!("ports" in answer)) throw new Error("targets sent no ports");
    const stack = await startStack(config.cli, tmp, answer.ports, config.cpuProfDir);
    const port = stack.forwards.echo;
    await run(port, WARMUP, 1);
    const rows: string[] = [];
    for (const loops of [1, 8]) {
      const before = cpuSample(stack.pids.server);
      const t0 = performance.now();
      await run(port, STREAMS, loops);
      const seconds = (performance.now() - t0) / 1000;
      const after = cpuSample(stack.pids.server);
      const cpuMs = ((after.process - before.process) * 1000) / STREAMS;
      const mainMs = ((after.main - before.main) * 1000) / STREAMS;
      rows.push(
        `${loops} loop(s): ${STREAMS} streams in ${seconds.toFixed(2)} s = ${(STREAMS / seconds).toFixed(0)} streams/s; ` +
          `server CPU ${cpuMs.toFixed(2)} ms/stream (main thread ${mainMs.toFixed(2)})`,
      );
    }
    process.stdout.write(`${rows.join("\n")}\n`);
  } finally {
    await stopAll();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
