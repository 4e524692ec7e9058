import type { IncomingHttpHeaders } from "node:http";

/**
 * Under a real domain every HMI host (`w-<id>.portal.example.com`) is the same *site*, so
 * the browser attaches one HMI's cookies (the grant among them) to requests another HMI's
 * page makes. Such a page could sign an operator out or send a setpoint. The browser tells
 * where a request comes from (Fetch Metadata, `Origin`); this decides which to refuse.
 * Returns the reason to refuse, or undefined to let the request through.
 */
export function foreignRequestRefusal(method: string, headers: IncomingHttpHeaders, ownOrigin: string, upgrade: boolean): string | undefined {
  const site = headers["sec-fetch-site"];
  const origin = headers.origin;
  if (upgrade) {
    // A WebSocket is not bound by the same-origin policy: only the HMI's own pages may open one.
    if (origin !== undefined && origin !== ownOrigin) return `a WebSocket from ${origin} may not reach this HMI`;
    return undefined;
  }
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    // Following a link or a redirect here is fine (the launch from the portal is one); anything else is not.
    const navigation = headers["sec-fetch-mode"] === "navigate" && headers["sec-fetch-dest"] === "document" && (method === "GET" || method === "HEAD");
    if (!navigation) return `requests from other sites (${site}) may only open this HMI's pages, not ${method} them or embed them`;
  }
  if (origin !== undefined && origin !== ownOrigin && origin !== "null" && method !== "GET" && method !== "HEAD") {
    return `a ${method} from ${origin} may not reach this HMI`;
  }
  return undefined;
}
