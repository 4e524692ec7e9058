import { z } from "zod";
import { NameSchema } from "./api.js";
import { MAX_DELAY_SECONDS, NOTIFY_EVENT_NAMES, SEVERITIES } from "./notify-events.js";
import type { RouteDoc } from "./openapi.js";
import { checkSmsTemplate, SmsTemplateError } from "./sms-template.js";

/**
 * The REST catalogue of notifications: an account's channels (where messages go) and rules
 * (which event goes where), admins only; the queue's recent rows; and the route a device's
 * agent raises the machine's alarms on, with its certificate.
 */
export const NOTIFY_ROUTES = {
  channels: "/api/v1/notifications/channels",
  channel: "/api/v1/notifications/channels/:name",
  channelTest: "/api/v1/notifications/channels/:name/test",
  rules: "/api/v1/notifications/rules",
  rule: "/api/v1/notifications/rules/:id",
  log: "/api/v1/notifications",
  agentAlarm: "/api/v1/agent/alarm",
} as const;

/** `smtp://[USER@]HOST[:PORT]` (STARTTLS required) or `smtps://…` (TLS from the start); never a password. */
export const SmtpUrl = z
  .string()
  .max(300)
  .superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: "custom", message: "the SMTP URL must look like smtp://USER@HOST:587" });
      return;
    }
    if (url.protocol !== "smtp:" && url.protocol !== "smtps:") ctx.addIssue({ code: "custom", message: "the SMTP URL must start with smtp:// or smtps://" });
    if (url.password !== "") ctx.addIssue({ code: "custom", message: "the SMTP URL must not hold the password: give it in FERNLINK_SMTP_PASSWORD" });
    if (url.hostname === "") ctx.addIssue({ code: "custom", message: "the SMTP URL names no host" });
  });

const Email = z.email().max(254);

/** An http(s) URL a webhook is POSTed to. */
export const WebhookUrl = z
  .string()
  .max(2000)
  .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), "the webhook URL must be an https:// (or http://) URL")
  // Listed to every admin of the account: a credential belongs in the signing secret, not the URL.
  .refine(
    (text) => !URL.canParse(text) || (new URL(text).username === "" && new URL(text).password === ""),
    "the webhook URL must not hold a user or password",
  );

const SmsTemplate = z
  .string()
  .max(2000)
  .superRefine((text, ctx) => {
    try {
      checkSmsTemplate(text);
    } catch (err) {
      if (!(err instanceof SmsTemplateError)) throw err;
      ctx.addIssue({ code: "custom", message: err.message });
    }
  });

/** A phone number as the gateway takes it: digits, optionally a leading +. */
const PhoneNumber = z.string().regex(/^\+?[0-9]{3,20}$/, "the phone number must be digits, optionally with a leading +");

/** POST /api/v1/notifications/channels — admin adds a channel; one of three kinds. */
export const ChannelAddRequest = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("email"),
    name: NameSchema,
    to: Email,
    smtp: SmtpUrl,
    /** The SMTP user's password, sealed at rest; needed when the URL names a user. */
    smtpPassword: z.string().min(1).max(500).optional(),
    /** Sender address; default `fernlink@` and the SMTP host. */
    from: Email.optional(),
    /** PEM of a CA to trust for the SMTP server's certificate (besides the system's). */
    smtpCa: z.string().max(20_000).optional(),
  }),
  z.strictObject({ kind: z.literal("webhook"), name: NameSchema, url: WebhookUrl }),
  z.strictObject({ kind: z.literal("sms"), name: NameSchema, template: SmsTemplate, to: PhoneNumber }),
]);
export type ChannelAddRequest = z.infer<typeof ChannelAddRequest>;

/** A channel as listed: never its secret. */
export const ChannelInfo = z.strictObject({
  name: z.string(),
  kind: z.enum(["email", "webhook", "sms"]),
  /** The address, the webhook URL, or the phone number. */
  target: z.string(),
  /** SMTP server (without user) or the SMS gateway's host; absent for webhooks. */
  via: z.string().optional(),
  createdAt: z.string(),
});
export type ChannelInfo = z.infer<typeof ChannelInfo>;

/** The answer to adding a channel: a webhook's signing secret is shown this once. */
export const ChannelAdded = z.strictObject({ channel: ChannelInfo, secret: z.string().optional() });
export type ChannelAdded = z.infer<typeof ChannelAdded>;

/** What a test message did. */
export const ChannelTestResult = z.strictObject({ delivered: z.boolean(), error: z.string().optional() });
export type ChannelTestResult = z.infer<typeof ChannelTestResult>;

/** POST /api/v1/notifications/rules — admin: an event, on a device or all, after a delay, to a channel. */
export const RuleAddRequest = z.strictObject({
  event: z.enum(NOTIFY_EVENT_NAMES),
  channel: NameSchema,
  device: NameSchema.optional(),
  /** Seconds; default per event (device.offline 5 min, certificate.expiring 30 days). */
  delaySeconds: z.number().int().min(0).max(MAX_DELAY_SECONDS).optional(),
  /** alarm only: the lowest severity that counts. */
  minSeverity: z.enum(SEVERITIES).optional(),
});
export type RuleAddRequest = z.infer<typeof RuleAddRequest>;

/** A rule as listed. */
export const RuleInfo = z.strictObject({
  id: z.string(),
  event: z.enum(NOTIFY_EVENT_NAMES),
  channel: z.string(),
  /** Null: every device of the account. */
  device: z.string().nullable(),
  delaySeconds: z.number().int(),
  minSeverity: z.enum(SEVERITIES).nullable(),
  createdAt: z.string(),
});
export type RuleInfo = z.infer<typeof RuleInfo>;

/** A notification in the queue or sent. */
export const NotificationInfo = z.strictObject({
  id: z.string(),
  event: z.string(),
  channel: z.string(),
  device: z.string().nullable(),
  subject: z.string(),
  state: z.enum(["queued", "sending", "sent", "failed", "cancelled"]),
  attempts: z.number().int(),
  dueAt: z.string(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  doneAt: z.string().nullable(),
});
export type NotificationInfo = z.infer<typeof NotificationInfo>;

/** POST /api/v1/agent/alarm — the agent (device certificate): an alarm the machine raised. */
export const AlarmRequest = z.strictObject({
  severity: z.enum(SEVERITIES),
  text: z.string().trim().min(1).max(1000),
});
export type AlarmRequest = z.infer<typeof AlarmRequest>;

/** The service's answer to an alarm: how many notifications it queued. */
export const AlarmAnswer = z.strictObject({ queued: z.number().int().nonnegative() });
export type AlarmAnswer = z.infer<typeof AlarmAnswer>;

const Ok = z.strictObject({ ok: z.literal(true) });

/** The routes above as the OpenAPI document describes them. */
export const NOTIFY_ROUTE_DOCS: readonly RouteDoc[] = [
  { method: "get", path: NOTIFY_ROUTES.channels, summary: "Notification channels (admin)", auth: "session", role: "admin", response: z.array(ChannelInfo) },
  {
    method: "post",
    path: NOTIFY_ROUTES.channels,
    summary: "Add an e-mail, webhook or SMS channel; a webhook's signing secret is in the answer, once (admin)",
    auth: "session",
    role: "admin",
    request: ChannelAddRequest,
    response: ChannelAdded,
    status: 201,
  },
  { method: "delete", path: NOTIFY_ROUTES.channel, summary: "Remove a channel and its rules (admin)", auth: "session", role: "admin", response: Ok },
  {
    method: "post",
    path: NOTIFY_ROUTES.channelTest,
    summary: "Send a test message on a channel now and say whether it was delivered (admin)",
    auth: "session",
    role: "admin",
    response: ChannelTestResult,
  },
  { method: "get", path: NOTIFY_ROUTES.rules, summary: "Notification rules (admin)", auth: "session", role: "admin", response: z.array(RuleInfo) },
  {
    method: "post",
    path: NOTIFY_ROUTES.rules,
    summary: "Add a rule: an event, on one device or all, after a delay, to a channel (admin)",
    auth: "session",
    role: "admin",
    request: RuleAddRequest,
    response: RuleInfo,
    status: 201,
  },
  {
    method: "delete",
    path: NOTIFY_ROUTES.rule,
    summary: "Remove a rule; its queued notifications go with it (admin)",
    auth: "session",
    role: "admin",
    response: Ok,
  },
  {
    method: "get",
    path: NOTIFY_ROUTES.log,
    summary: "The account's latest 100 notifications, queued and done (admin)",
    auth: "session",
    role: "admin",
    response: z.array(NotificationInfo),
  },
  {
    method: "post",
    path: NOTIFY_ROUTES.agentAlarm,
    summary: "An alarm raised by the machine, sent by its agent; queued for the account's alarm rules",
    auth: "device-certificate",
    request: AlarmRequest,
    response: AlarmAnswer,
  },
];
