/**
 * The reason the user typed on a device page, for accounts whose policy requires one: the HMI
 * link carries it to the server (`/web/open/<id>?reason=`), the VNC viewer's WebSocket likewise.
 * Kept in memory for this tab only, so the next page opened on the way needs no second typing.
 */
let current = "";

export function connectReason(): string {
  return current;
}

export function setConnectReason(text: string): void {
  current = text;
}

/** `url` with the reason as its query, when one was given. */
export function withReason(url: string): string {
  const reason = current.trim();
  return reason === "" ? url : `${url}${url.includes("?") ? "&" : "?"}reason=${encodeURIComponent(reason)}`;
}
