import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import http2 from "node:http2";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Connection, Site } from "./helpers/fernlink.js";
import { assertExit, PASSWORD, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer } from "./helpers/targets.js";

/**
 * One member churning streams must not take a device offline for everyone: thousands of
 * CONNECT-then-RST streams and reset TCP connections through a forward leave the agent up
 * and connected, and another user's stream to the same device carries data throughout.
 */

const ACME = { account: "acme", user: "alice" };
const BOB = { account: "acme", user: "bob" };

/** What a churn run saw: answers by status, and the error codes of refusals. */
interface ChurnResult {
  statuses: Map<number, number>;
  codes: Map<string, number>;
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * Opens `total` CONNECT streams with `user`'s session token over `loops` parallel HTTP/2
 * connections and resets each one (RST_STREAM CANCEL) as soon as it is answered, the way a
 * client that gives up would. A connection the server ends is replaced.
 */
async function connectThenReset(site: Site, user: string, target: string, total: number, loops: number): Promise<ChurnResult> {
  const { token } = JSON.parse(await readFile(join(site.home(user), "session.json"), "utf8")) as { token: string };
  const ca = await readFile(site.ca, "utf8");
  const result: ChurnResult = { statuses: new Map(), codes: new Map() };
  let left = total;
  const loop = async (): Promise<void> => {
    let session: http2.ClientHttp2Session | undefined;
    while (left > 0) {
      left--;
      if (!session || session.closed || session.destroyed) {
        session = http2.connect(site.url, { ca, ALPNProtocols: ["h2"] });
        session.on("error", () => {});
      }
      const stream = session.request({ ":method": "CONNECT", ":authority": target, "fernlink-device": "press-7", authorization: `Bearer ${token}` });
      stream.on("error", () => {});
      const status = await new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(0), 10_000);
        stream.once("response", (headers) => {
          clearTimeout(timer);
          const code = headers["fernlink-error"];
          if (typeof code === "string") bump(result.codes, code);
          resolve(Number(headers[":status"]));
        });
        stream.once("close", () => {
          clearTimeout(timer);
          resolve(-1);
        });
      });
      bump(result.statuses, status);
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }
    session?.destroy();
  };
  await Promise.all(Array.from({ length: loops }, loop));
  return result;
}

/** Connects to `port` `total` times, `parallel` at once; each connection sends a byte, then is reset. */
async function resetConnections(port: number, total: number, parallel: number): Promise<void> {
  let left = total;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.on("error", () => resolve());
      socket.once("connect", () => {
        socket.write("x");
        setImmediate(() => {
          socket.resetAndDestroy();
          resolve();
        });
      });
    });
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (left-- > 0) await one();
    }),
  );
}

/**
 * A line protocol on one forwarded connection: every 50 ms a numbered line goes out and must
 * come back, in order. Records the longest time any line took, and the first failure.
 */
class Heartbeat {
  private socket!: net.Socket;
  private sent = 0;
  private received = 0;
  private pending = new Map<number, number>();
  private timer!: NodeJS.Timeout;
  longestMs = 0;
  failure: string | undefined;

  async start(port: number): Promise<void> {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => this.socket.once("connect", resolve).once("error", reject));
    this.socket.on("error", (err) => (this.failure ??= `socket error: ${err.message}`));
    this.socket.once("close", () => (this.failure ??= "the connection closed"));
    let buffered = "";
    this.socket.setEncoding("utf8").on("data", (s: string) => {
      buffered += s;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const n = Number(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        const sentAt = this.pending.get(n);
        if (n !== this.received) this.failure ??= `line ${n} came back out of order (expected ${this.received})`;
        this.received++;
        if (sentAt !== undefined) this.longestMs = Math.max(this.longestMs, Date.now() - sentAt);
        this.pending.delete(n);
      }
    });
    this.timer = setInterval(() => {
      const oldest = Math.min(...this.pending.values());
      // Generous: the test machine runs several suites at once; a lost tunnel never echoes again.
      if (Date.now() - oldest > 10_000) this.failure ??= `no echo for ${Date.now() - oldest} ms`;
      this.pending.set(this.sent, Date.now());
      this.socket.write(`${this.sent++}\n`);
    }, 50);
  }

  /** Lines sent and echoed so far. */
  get counts(): { sent: number; received: number } {
    return { sent: this.sent, received: this.received };
  }

  stop(): void {
    clearInterval(this.timer);
    this.socket.destroy();
  }
}

interface Fixture {
  sb: Sandbox;
  site: Site;
  agent: Proc;
  echo: Awaited<ReturnType<typeof startEchoServer>>;
  target: string;
  alice: Connection;
}

async function setUp(label: string, serverArgs: string[]): Promise<Fixture> {
  const sb = await Sandbox.create(label);
  const echo = await startEchoServer();
  sb.defer(echo.close);
  const site = await Site.start(sb, [ACME], { serverArgs });
  await site.login(ACME);
  const agent = await site.startAgent(await site.register(await site.addDevice("alice", "press-7", ["127.0.0.0/8"]), "agent"));
  assertExit(await site.cli("alice", ["user", "add", "bob", "--role", "member"], { env: { FERNLINK_NEW_PASSWORD: PASSWORD } }), 0);
  await site.ok("alice", ["group", "add", "service"]);
  await site.ok("alice", ["group", "members", "service", "--add", "bob"]);
  await site.ok("alice", ["pool", "add", "line-3"]);
  await site.ok("alice", ["pool", "devices", "line-3", "--add", "press-7"]);
  await site.ok("alice", ["access", "grant", "--group", "service", "--pool", "line-3", "--level", "connect"]);
  await site.login(BOB);
  const target = `127.0.0.1:${echo.port}`;
  const alice = await site.connect("alice", "press-7", [target]);
  return { sb, site, agent, echo, target, alice };
}

/** The agent is still the same process, its tunnel never dropped, and the device reads online. */
async function assertAgentUp(f: Fixture): Promise<void> {
  assert.equal(f.agent.running, true, `the agent process is still running\n${f.agent.stderr.slice(-2000)}`);
  assert.doesNotMatch(f.agent.stderr, /tunnel lost|reconnecting/, "the agent's tunnel never dropped");
  assert.equal((await f.site.devices("alice")).find((d) => d.name === "press-7")?.online, true);
}

describe("stream churn with the per-user stream rate lifted: resets never add up to a tunnel error", () => {
  let f: Fixture;
  before(async () => (f = await setUp("churn-lifted", ["--stream-rate", "100000"])));
  after(() => f?.sb.cleanup());

  test("3,000 CONNECT-then-RST streams reach the agent, which stays up while another user's stream carries data", { timeout: 120_000 }, async (t) => {
    const beat = new Heartbeat();
    await beat.start(f.alice.forwards[0]!);
    const acceptedBefore = f.echo.accepted();
    const started = Date.now();
    const churn = await connectThenReset(f.site, "bob", f.target, 3000, 4);
    t.diagnostic(`3000 CONNECT-then-RST in ${Date.now() - started} ms; answers ${JSON.stringify([...churn.statuses])}`);
    await new Promise((r) => setTimeout(r, 1000));
    beat.stop();
    t.diagnostic(`heartbeat: ${JSON.stringify(beat.counts)}, slowest echo ${beat.longestMs} ms`);
    assert.equal(churn.statuses.get(200), 3000, "every stream was answered 200 by the agent");
    assert.ok(f.echo.accepted() - acceptedBefore >= 3000, "the target saw every stream");
    assert.equal(beat.failure, undefined, "alice's stream carried data throughout");
    await assertAgentUp(f);
  });

  test("2,000 TCP connections reset through a forward leave the agent up and the member's forward working", { timeout: 120_000 }, async (t) => {
    const bob = await f.site.connect("bob", "press-7", [f.target]);
    const beat = new Heartbeat();
    await beat.start(f.alice.forwards[0]!);
    const started = Date.now();
    await resetConnections(bob.forwards[0]!, 2000, 16);
    t.diagnostic(`2000 reset connections in ${Date.now() - started} ms`);
    await new Promise((r) => setTimeout(r, 1000));
    beat.stop();
    assert.equal(beat.failure, undefined, "alice's stream carried data throughout");
    await assertAgentUp(f);
    assert.equal(bob.proc.running, true, "bob's connect keeps running");
    const after = await f.site.cli("bob", ["connect", "press-7", "--stdio", f.target], { input: "still there\n" });
    assertExit(after, 0);
    assert.equal(after.stdout, "still there\n");
  });
});

describe("stream churn at the default limits: one member is throttled, nobody else notices", () => {
  let f: Fixture;
  before(async () => (f = await setUp("churn-throttled", [])));
  after(() => f?.sb.cleanup());

  test("a member churning 3,000 streams is answered 'too many streams', audited once per window", { timeout: 120_000 }, async (t) => {
    const beat = new Heartbeat();
    await beat.start(f.alice.forwards[0]!);
    const churn = await connectThenReset(f.site, "bob", f.target, 3000, 4);
    beat.stop();
    t.diagnostic(`answers ${JSON.stringify([...churn.statuses])}, codes ${JSON.stringify([...churn.codes])}`);
    assert.ok((churn.codes.get("too-many-streams") ?? 0) > 1000, "most of the churn is refused as too many streams");
    assert.equal(beat.failure, undefined, "alice's stream carried data throughout");
    await assertAgentUp(f);
    const refusals = await waitUntil(
      "the throttling is audited",
      async () => {
        const rows = (await f.site.audit("alice", 5000)).filter((r) => r.action === "stream" && r.actor === "bob" && r.result === "denied");
        return rows.length > 0 ? rows : undefined;
      },
      10_000,
      200,
    );
    assert.ok(refusals.length <= 2, `refusals are audited once per minute, not each (${refusals.length} rows)`);
    assert.match(refusals[0]!.reason ?? "", /^too-many-streams: too many streams/);
    const alice = await f.site.cli("alice", ["connect", "press-7", "--stdio", f.target], { input: "alice unaffected\n" });
    assertExit(alice, 0);
    assert.equal(alice.stdout, "alice unaffected\n");
  });

  test("the throttled member hears 'too many streams' from fernlink connect", { timeout: 60_000 }, async () => {
    const bob = await f.site.connect("bob", "press-7", [f.target]);
    await resetConnections(bob.forwards[0]!, 600, 16);
    await waitUntil("connect reports the throttling", async () => (/too many streams/.test(bob.proc.stderr) ? true : undefined), 10_000, 100);
    await assertAgentUp(f);
  });
});
