/**
 * Child process: the load generator. It gets one Job at a time over IPC, runs it against
 * a port (the client's forward port for "tunnel", the target's own port for "direct")
 * and answers with a JobResult. Separate from the targets so that, in the direct case,
 * sender and receiver do not share one event loop (which would serialise them and flatter
 * neither side), and separate from the orchestrator so sampling /proc never delays it.
 */
import net from "node:net";
import {
  ACK,
  BULK_HEADER_BYTES,
  CHUNK_BYTES,
  type ChildMessage,
  type Job,
  type JobResult,
  MODE_DOWNLOAD,
  MODE_UPLOAD,
  percentile,
  QUANTILES,
  RTT_REPLY_BYTES,
  RTT_REQUEST_BYTES,
  summarize,
} from "./shared.js";

const CHUNK = Buffer.alloc(CHUNK_BYTES, 0x5a);
const now = (): bigint => process.hrtime.bigint();

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    socket.once("connect", () => resolve(socket)).once("error", reject);
  });
}

/** Runs `onData` on each chunk until it returns true; rejects if the socket fails or closes first. */
function consume(socket: net.Socket, onData: (data: Buffer) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err?: Error): void => reject(err ?? new Error("connection closed early"));
    socket.once("error", fail).once("close", () => fail());
    socket.on("data", (data: Buffer) => {
      if (!onData(data)) return;
      socket.removeAllListeners("data").removeListener("close", fail).removeListener("error", fail);
      socket.on("error", () => {});
      socket.destroy();
      resolve();
    });
  });
}

function header(mode: number, bytes: number): Buffer {
  const h = Buffer.alloc(BULK_HEADER_BYTES);
  h[0] = mode;
  h.writeBigUInt64BE(BigInt(bytes), 1);
  return h;
}

async function upload(port: number, bytes: number): Promise<void> {
  const socket = await connect(port);
  const acked = consume(socket, (d) => d.includes(ACK));
  socket.write(header(MODE_UPLOAD, bytes));
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, CHUNK_BYTES);
    left -= n;
    if (!socket.write(n === CHUNK_BYTES ? CHUNK : CHUNK.subarray(0, n))) {
      await Promise.race([new Promise((r) => socket.once("drain", r)), acked]);
    }
  }
  await acked;
}

async function download(port: number, bytes: number): Promise<void> {
  const socket = await connect(port);
  let received = 0;
  const done = consume(socket, (d) => {
    received += d.length;
    return received >= bytes;
  });
  socket.write(header(MODE_DOWNLOAD, bytes));
  await done;
}

/**
 * `n` sequential request/reply round trips after a warm-up of `warmup` round trips and at least
 * `warmupSeconds` (fewer if `maxSeconds` pass after it); microseconds each, and the warm-up's own.
 */
async function pingPong(
  port: number,
  n: number,
  warmup: number,
  maxSeconds = Infinity,
  warmupSeconds = 0,
): Promise<{ samples: Float64Array; cold: Float64Array; seconds: number }> {
  const socket = await connect(port);
  const warmUntil = now() + BigInt(Math.round(warmupSeconds * 1e9));
  let deadline = 0n;
  const samples = new Float64Array(n);
  const cold: number[] = [];
  const request = Buffer.alloc(RTT_REQUEST_BYTES);
  request.writeUInt16BE(6, 4); // MBAP length
  request[7] = 0x03;
  request.writeUInt16BE(8, 10); // 8 registers -> 25-byte reply
  let warming = true;
  let i = 0;
  let got = 0;
  let t0 = now();
  let start = t0;
  const send = (): void => {
    request.writeUInt16BE(i & 0xffff, 0); // transaction id
    t0 = now();
    socket.write(request);
  };
  const done = consume(socket, (d) => {
    got += d.length;
    if (got < RTT_REPLY_BYTES) return false;
    got -= RTT_REPLY_BYTES;
    const us = Number(now() - t0) / 1000;
    if (warming) {
      cold.push(us);
      if (cold.length >= warmup && now() >= warmUntil) {
        warming = false;
        start = now();
        deadline = start + BigInt(Math.round(Math.min(maxSeconds, 1e6) * 1e9));
      }
    } else {
      samples[i] = us;
      if (++i >= n || now() > deadline) return true;
    }
    send();
    return false;
  });
  send();
  await done;
  return { samples: samples.subarray(0, i), cold: Float64Array.from(cold), seconds: Number(now() - start) / 1e9 };
}

/** Time from connect() to the first byte of the target's banner, `n` times in a row. */
async function connectTimes(port: number, n: number, warmup: number): Promise<Float64Array> {
  const samples = new Float64Array(n);
  for (let i = -warmup; i < n; i++) {
    const t0 = now();
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    await consume(socket, () => true);
    if (i >= 0) samples[i] = Number(now() - t0) / 1000;
  }
  return samples;
}

/** One stream: connect, a 12-byte request, its 25-byte reply, close. */
async function oneStream(port: number): Promise<void> {
  const socket = await connect(port);
  let got = 0;
  const done = consume(socket, (d) => {
    got += d.length;
    return got >= RTT_REPLY_BYTES;
  });
  socket.write(Buffer.alloc(RTT_REQUEST_BYTES, 0x01));
  await done;
}

/** `loops` loops opening one stream after another for `seconds`; streams completed. */
async function streams(port: number, loops: number, seconds: number): Promise<number> {
  const end = now() + BigInt(Math.round(seconds * 1e9));
  let n = 0;
  const loop = async (): Promise<void> => {
    while (now() < end) {
      await oneStream(port);
      n++;
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
  return n;
}

async function run(job: Job): Promise<JobResult> {
  const t0 = now();
  const seconds = (): number => Number(now() - t0) / 1e9;
  const parallel = <T>(conns: number, f: () => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: conns }, f));
  switch (job.kind) {
    case "upload":
    case "download": {
      const f = job.kind === "upload" ? upload : download;
      await parallel(job.conns, () => f(job.port, job.bytesPerConn));
      const s = seconds();
      const bytes = job.bytesPerConn * job.conns;
      return { kind: "bulk", bytes, seconds: s, gbps: (bytes * 8) / s / 1e9 };
    }
    case "rtt": {
      const all = await parallel(job.conns, () => pingPong(job.port, job.n, job.warmup, job.maxSeconds, job.warmupSeconds));
      const merged = new Float64Array(all.reduce((a, x) => a + x.samples.length, 0));
      let at = 0;
      for (const x of all) {
        merged.set(x.samples, at);
        at += x.samples.length;
      }
      // Aggregate rate = sum of each connection's rate over its own measured window (warm-up excluded).
      const perSecond = all.reduce((a, x) => a + x.samples.length / x.seconds, 0);
      const result: JobResult = { kind: "rtt", messages: merged.length, seconds: seconds(), perSecond, us: summarize(merged) };
      if (job.warmupSeconds) result.coldUs = summarize(Float64Array.from(all.flatMap((x) => [...x.cold])));
      if (job.quantiles) {
        const sorted = Float64Array.from(merged).sort();
        result.quantilesUs = QUANTILES.map((q) => percentile(sorted, q));
      }
      return result;
    }
    case "connect":
      return { kind: "connect", n: job.n, us: summarize(await connectTimes(job.port, job.n, job.warmup)) };
    case "streams": {
      const n = await streams(job.port, job.loops, job.seconds);
      const s = seconds();
      return { kind: "streams", n, seconds: s, perSecond: n / s };
    }
  }
}

const send = (m: ChildMessage): void => void process.send?.(m);
process.on("message", (job: Job) => {
  run(job).then(
    (result) => send({ ok: true, result }),
    (err: unknown) => send({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on("disconnect", () => process.exit(0));
