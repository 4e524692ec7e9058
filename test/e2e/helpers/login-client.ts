import { readFile } from "node:fs/promises";
import http2 from "node:http2";
import tls from "node:tls";
import type { Site } from "./fernlink.js";

/** A login as `POST /api/v1/login` takes it. */
export interface Attempt {
  account: string;
  user: string;
  password: string;
}

/** What the server answered to one login. */
export interface Answer {
  status: number;
  /** The error's stable code, for refusals. */
  code: string | undefined;
  /** The Retry-After header in seconds, when sent. */
  retryAfterSeconds: number | undefined;
  /** From sending the request to the end of the answer. */
  ms: number;
}

/** True for a refusal that only says "too many at once, come back in a second". */
export function isBusy(answer: Answer): boolean {
  return answer.status === 429 && answer.retryAfterSeconds !== undefined && answer.retryAfterSeconds <= 1;
}

/**
 * One HTTP/2 connection to the server from a chosen loopback address (127.0.0.2, …): the
 * server takes the socket's address as the login's source, so each address is its own source.
 */
export class LoginClient {
  private constructor(private readonly session: http2.ClientHttp2Session) {}

  static async open(site: Site, localAddress: string): Promise<LoginClient> {
    const url = new URL(site.url);
    const ca = await readFile(site.ca, "utf8");
    const session = http2.connect(site.url, {
      // `localAddress` is a socket option that tls.connect passes on, though its type omits it.
      createConnection: () => tls.connect({ host: url.hostname, port: Number(url.port), ca, ALPNProtocols: ["h2"], localAddress } as tls.ConnectionOptions),
    });
    session.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      session.once("connect", () => resolve());
      session.once("error", reject);
    });
    return new LoginClient(session);
  }

  /** Sends one login and waits for its answer. */
  login(attempt: Attempt): Promise<Answer> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const stream = this.session.request({ ":method": "POST", ":path": "/api/v1/login", "content-type": "application/json" });
      let status = 0;
      let retryAfter: string | undefined;
      let body = "";
      stream.setEncoding("utf8");
      stream.on("response", (headers) => {
        status = Number(headers[":status"]);
        retryAfter = headers["retry-after"] as string | undefined;
      });
      stream.on("data", (chunk: string) => (body += chunk));
      stream.on("error", reject);
      stream.on("end", () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status, code, retryAfterSeconds: retryAfter === undefined ? undefined : Number(retryAfter), ms: performance.now() - started });
      });
      stream.end(JSON.stringify(attempt));
    });
  }

  /** Sends every login at once, in order, as streams of this one connection. */
  burst(attempts: readonly Attempt[]): Promise<Answer[]> {
    return Promise.all(attempts.map((a) => this.login(a)));
  }

  /**
   * What an attacker who never waits gets: the logins are sent in one burst, and those refused
   * only for being too many at once are sent again at once, in their order, until each has
   * its final answer.
   */
  async hammer(attempts: readonly Attempt[], maxRounds = 500): Promise<Answer[]> {
    const answers: Answer[] = [];
    let open = attempts.map((_, i) => i);
    for (let round = 0; open.length > 0; round++) {
      if (round === maxRounds) throw new Error(`${open.length} logins still refused as busy after ${maxRounds} rounds`);
      const got = await this.burst(open.map((i) => attempts[i]!));
      const again: number[] = [];
      for (const [k, answer] of got.entries()) {
        if (isBusy(answer)) again.push(open[k]!);
        else answers[open[k]!] = answer;
      }
      open = again;
    }
    return answers;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.session.close(() => resolve()));
  }
}
