import nodemailer from "nodemailer";
import { errorMessage } from "../protocol/errors.js";
import { fillSmsTemplate } from "../protocol/sms-template.js";
import { SIGNATURE_HEADER, signWebhookBody } from "../protocol/webhook-signature.js";
import type { NotifyChannel } from "./store/schema.js";

/** One message for one channel: the e-mail's subject and text, the SMS line, the webhook's JSON. */
export interface OutgoingMessage {
  /** The notification's id: the webhook's `X-Fernlink-Delivery`, so a receiver can drop repeats. */
  id: string;
  event: string;
  subject: string;
  text: string;
  /** JSON text, sent as is (and signed as is) to webhooks. */
  json: string;
}

/** A channel with its secret opened, ready to send. */
export interface OpenChannel {
  row: NotifyChannel;
  /** SMTP password, webhook HMAC secret or SMS URL template; undefined for e-mail without a login. */
  secret: string | undefined;
}

/** The settings of an e-mail channel kept in `notify_channels.config`. */
export interface EmailConfig {
  smtp: string;
  from?: string;
  ca?: string;
}

/** Every attempt to reach a channel gives up after this long. */
export const SEND_TIMEOUT_MS = 15_000;

/** A send that did not get through; the message names the channel's host and what went wrong, never a secret. */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  readonly code = "delivery-failed";
}

async function sendEmail(channel: OpenChannel, message: OutgoingMessage): Promise<void> {
  const config = JSON.parse(channel.row.config) as EmailConfig;
  const url = new URL(config.smtp);
  const user = decodeURIComponent(url.username);
  const transport = nodemailer.createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : url.protocol === "smtps:" ? 465 : 587,
    secure: url.protocol === "smtps:",
    // smtp:// must upgrade with STARTTLS: a server that does not offer it gets no password and no mail.
    requireTLS: url.protocol === "smtp:",
    ...(user ? { auth: { user, pass: channel.secret ?? "" } } : {}),
    ...(config.ca ? { tls: { ca: config.ca } } : {}),
    connectionTimeout: SEND_TIMEOUT_MS,
    greetingTimeout: SEND_TIMEOUT_MS,
    socketTimeout: SEND_TIMEOUT_MS,
  });
  try {
    await transport.sendMail({
      from: config.from ?? `fernlink@${url.hostname}`,
      to: channel.row.target,
      subject: message.subject,
      text: message.text,
    });
  } catch (err) {
    throw new DeliveryError(`SMTP server ${url.host}: ${errorMessage(err).replaceAll(channel.secret ?? "\u0000", "***")}`, { cause: err });
  } finally {
    transport.close();
  }
}

async function httpCall(what: string, url: string, init: RequestInit): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : errorMessage(err);
    throw new DeliveryError(`${what}: ${cause}`, { cause: err });
  }
  // The body is read only to free the connection; a receiver's page is no message for us.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new DeliveryError(`${what} answered HTTP ${res.status}`);
}

async function sendWebhook(channel: OpenChannel, message: OutgoingMessage): Promise<void> {
  const url = new URL(channel.row.target);
  await httpCall(`webhook ${url.host}`, channel.row.target, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "fernlink-notify",
      [SIGNATURE_HEADER]: signWebhookBody(channel.secret ?? "", message.json),
      "x-fernlink-event": message.event,
      "x-fernlink-delivery": message.id,
    },
    body: message.json,
  });
}

async function sendSms(channel: OpenChannel, message: OutgoingMessage): Promise<void> {
  const url = fillSmsTemplate(channel.secret ?? "", { to: channel.row.target, text: message.text.split("\n")[0] ?? message.subject });
  // The template's host only: its query may hold the gateway's key.
  await httpCall(`SMS gateway ${new URL(url).host}`, url, { method: "GET", headers: { "user-agent": "fernlink-notify" } });
}

/** The sender of each channel kind. */
export const SENDERS: Readonly<Record<NotifyChannel["kind"], (channel: OpenChannel, message: OutgoingMessage) => Promise<void>>> = {
  email: sendEmail,
  webhook: sendWebhook,
  sms: sendSms,
};
