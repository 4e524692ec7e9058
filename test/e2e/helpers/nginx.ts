import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon } from "./daemon.js";

/** Debian's nginx. */
export const NGINX = "/usr/sbin/nginx";

/** A private nginx terminating TLS on a loopback port in front of a Fernlink server. */
export interface Nginx {
  port: number;
  url: string;
  /** The file of the CA that signed nginx's certificate (a stand-in for a public CA). */
  caFile: string;
  /** nginx's access log: every request it passed on. */
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts nginx as the common reverse proxy in front of the server: TLS terminated with its own
 * certificate for 127.0.0.1 (from its own CA, made by openssl: a stand-in for a public CA),
 * HTTP/1.1 only, requests and WebSocket upgrades passed to `https://127.0.0.1:upstreamPort`.
 */
export async function startNginx(options: { port: number; upstreamPort: number }): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), "fernlink-nginx-"));
  const ssl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Public Test CA");
  ssl("req", ...ec, "-keyout", "key.pem", "-out", "req.csr", "-subj", "/CN=127.0.0.1");
  await writeFile(join(dir, "san.cnf"), "subjectAltName=IP:127.0.0.1\n");
  ssl("x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "san.cnf");
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) await mkdir(join(dir, sub));
  const config = `
daemon off;
master_process off;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} info;
events { worker_connections 256; }
http {
  access_log ${join(dir, "access.log")};
  client_body_temp_path ${join(dir, "body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  map $http_upgrade $connection_upgrade { default upgrade; "" close; }
  server {
    listen 127.0.0.1:${options.port} ssl;
    ssl_certificate ${join(dir, "cert.pem")};
    ssl_certificate_key ${join(dir, "key.pem")};
    location / {
      proxy_pass https://127.0.0.1:${options.upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Host $host:$server_port;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_ssl_verify off;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      proxy_buffering off;
    }
  }
}
`;
  const file = join(dir, "nginx.conf");
  await writeFile(file, config);
  const { stop } = await startDaemon({
    name: "nginx",
    command: NGINX,
    args: ["-p", dir, "-c", file, "-e", join(dir, "error.log")],
    port: options.port,
    dir,
    explain: () => readFile(join(dir, "error.log"), "utf8").catch(() => ""),
  });
  return {
    port: options.port,
    url: `https://127.0.0.1:${options.port}`,
    caFile: join(dir, "ca.pem"),
    accessLog: () => readFile(join(dir, "access.log"), "utf8").catch(() => ""),
    stop,
  };
}
