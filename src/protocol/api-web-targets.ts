import { z } from "zod";
import { ROUTES } from "./api.js";
import type { RouteDoc } from "./openapi.js";
import { parseWebTargetUrl, WEB_TARGET_KINDS, type WebTargetKind } from "./web-target-url.js";

/**
 * The REST catalogue of web targets: the HMI pages (http, https) and VNC panels an admin
 * publishes on a device, for the portal to open. Anyone who may see the device lists them;
 * only admins add and remove them.
 */

/** Longest VNC password accepted (the classic VNC scheme uses only the first 8 characters). */
export const MAX_WEB_TARGET_PASSWORD = 256;

/** A web target's name: 1–64 printable characters, unique per device (spaces inside are fine). */
export const WebTargetName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^\p{C}\p{Zl}\p{Zp}]*$/u, "use printable characters only")
  .regex(/^(?!\s)[\s\S]*(?<!\s)$/u, "no white space at the start or the end");

/** A web target URL: http://, https:// or vnc://, checked by parseWebTargetUrl. */
export const WebTargetUrlText = z
  .string()
  .max(4096)
  .superRefine((text, ctx) => {
    try {
      parseWebTargetUrl(text);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
    }
  });

/** What a web target is. */
export const WebTargetKindSchema = z.enum(WEB_TARGET_KINDS);

function kindOf(url: string): WebTargetKind | undefined {
  try {
    return parseWebTargetUrl(url).kind;
  } catch {
    return undefined;
  }
}

/** POST /api/v1/devices/:name/web — admin publishes a web target; `password` only for vnc://. */
export const WebTargetAddRequest = z
  .strictObject({
    name: WebTargetName,
    url: WebTargetUrlText,
    /** The VNC server's password; stored sealed, never shown again. */
    password: z.string().min(1).max(MAX_WEB_TARGET_PASSWORD).optional(),
  })
  .superRefine((r, ctx) => {
    const kind = kindOf(r.url);
    if (r.password !== undefined && kind !== undefined && kind !== "vnc") {
      ctx.addIssue({ code: "custom", path: ["password"], message: "a password applies to vnc:// targets only (--password-stdin)" });
    }
  });
export type WebTargetAddRequest = z.infer<typeof WebTargetAddRequest>;

/** One web target as the API shows it: the canonical URL without any password, and where the browser opens it. */
export const WebTargetInfo = z.strictObject({
  id: z.string(),
  name: WebTargetName,
  kind: WebTargetKindSchema,
  url: z.string(),
  hasPassword: z.boolean(),
  /** `/web/open/<id>` (a page on the portal's host) for http(s); `#/vnc/<id>` (a view of the portal) for vnc. */
  open: z.string(),
});
export type WebTargetInfo = z.infer<typeof WebTargetInfo>;

/** GET /api/v1/devices/:name/web — the device's web targets, by name. */
export const WebTargetList = z.strictObject({ targets: z.array(WebTargetInfo) });
export type WebTargetList = z.infer<typeof WebTargetList>;

/** Where the browser goes to open a web target. */
export function webTargetOpenPath(kind: WebTargetKind, id: string): string {
  return kind === "vnc" ? `#/vnc/${id}` : `/web/open/${id}`;
}

const Ok = z.strictObject({ ok: z.literal(true) });

/** The routes above as the OpenAPI document describes them. */
export const WEB_TARGET_ROUTE_DOCS: readonly RouteDoc[] = [
  {
    method: "get",
    path: ROUTES.deviceWeb,
    summary: "Web targets (HMI pages, VNC panels) of a device the caller may see",
    auth: "session",
    response: WebTargetList,
  },
  {
    method: "post",
    path: ROUTES.deviceWeb,
    summary: "Publish an HMI page or VNC panel of the device; a VNC password is stored sealed (admin)",
    auth: "session",
    role: "admin",
    request: WebTargetAddRequest,
    response: WebTargetInfo,
    status: 201,
  },
  {
    method: "delete",
    path: ROUTES.deviceWebTarget,
    summary: "Remove a web target of the device, by name (admin)",
    auth: "session",
    role: "admin",
    response: Ok,
  },
];
