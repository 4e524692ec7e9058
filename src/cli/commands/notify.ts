import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { NameSchema, routePath } from "../../protocol/api.js";
import { ChannelAdded, ChannelInfo, ChannelTestResult, NOTIFY_ROUTES, NotificationInfo, RuleInfo } from "../../protocol/api-notify.js";
import { UsageError } from "../../protocol/errors.js";
import { DelaySyntaxError, formatDelay, isNotifyEvent, NOTIFY_EVENT_NAMES, parseDelay, SEVERITIES, type Severity } from "../../protocol/notify-events.js";
import { checkSmsTemplate, SmsTemplateError } from "../../protocol/sms-template.js";
import { isoSeconds } from "../../shared/format.js";
import { printJson, printTable } from "../output.js";
import { readPassword } from "../password.js";

const Ok = z.object({ ok: z.boolean() });

interface ChannelFlags {
  email?: string;
  smtp?: string;
  from?: string;
  smtpCa?: string;
  webhook?: string;
  smsUrl?: string;
  to?: string;
}

function checkedName(value: string, what: string): string {
  const parsed = NameSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${what} "${value}": ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return value;
}

/** The body of `notify channel add`: exactly one kind, its flags checked before the server is asked. */
async function channelBody(name: string, flags: ChannelFlags): Promise<Record<string, unknown>> {
  const smsTemplate = flags.smsUrl ?? process.env["FERNLINK_SMS_URL"];
  const kinds = [flags.email !== undefined, flags.webhook !== undefined, flags.smsUrl !== undefined || (flags.to !== undefined && smsTemplate !== undefined)];
  if (kinds.filter(Boolean).length !== 1)
    throw new UsageError("notify channel add needs one of: --email ADDR --smtp URL, --webhook URL, or --sms-url TEMPLATE --to NUMBER");
  if (flags.email !== undefined) {
    if (flags.smtp === undefined) throw new UsageError("--email needs --smtp smtp://USER@HOST:587 (STARTTLS) or smtps://USER@HOST:465");
    let url: URL;
    try {
      url = new URL(flags.smtp);
    } catch {
      throw new UsageError(`--smtp "${flags.smtp}" is not a URL; e.g. smtp://alerts@mail.example.com:587`);
    }
    if (url.password !== "") throw new UsageError("--smtp must not hold the password: put it in FERNLINK_SMTP_PASSWORD (or type it when asked)");
    const smtpPassword =
      url.username !== "" ? await readPassword("FERNLINK_SMTP_PASSWORD", `SMTP password of ${decodeURIComponent(url.username)}: `) : undefined;
    const smtpCa =
      flags.smtpCa === undefined
        ? undefined
        : await readFile(flags.smtpCa, "utf8").catch(() => {
            throw new UsageError(`--smtp-ca "${flags.smtpCa}" cannot be read`);
          });
    return {
      kind: "email",
      name,
      to: flags.email,
      smtp: flags.smtp,
      ...(smtpPassword ? { smtpPassword } : {}),
      ...(flags.from ? { from: flags.from } : {}),
      ...(smtpCa ? { smtpCa } : {}),
    };
  }
  if (flags.webhook !== undefined) return { kind: "webhook", name, url: flags.webhook };
  if (smsTemplate === undefined || flags.to === undefined)
    throw new UsageError("an SMS channel needs --sms-url TEMPLATE (or FERNLINK_SMS_URL) and --to NUMBER");
  try {
    checkSmsTemplate(smsTemplate);
  } catch (err) {
    if (err instanceof SmsTemplateError) throw new UsageError(err.message);
    throw err;
  }
  return { kind: "sms", name, template: smsTemplate, to: flags.to };
}

async function addChannel(name: string, flags: ChannelFlags & { json?: boolean }): Promise<void> {
  const body = await channelBody(checkedName(name, "channel name"), flags);
  const api = await apiClient();
  const added = await api.call("POST", NOTIFY_ROUTES.channels, ChannelAdded, body);
  if (flags.json) return printJson(added);
  process.stdout.write(`channel "${added.channel.name}" added: ${added.channel.kind} to ${added.channel.target}\n`);
  if (added.secret) process.stdout.write(`signing secret (shown once; check X-Fernlink-Signature: sha256=HMAC-SHA256(secret, body)): ${added.secret}\n`);
}

async function listChannels(flags: { json?: boolean }): Promise<void> {
  const api = await apiClient();
  const channels = await api.call("GET", NOTIFY_ROUTES.channels, z.array(ChannelInfo));
  if (flags.json) return printJson(channels);
  printTable(
    ["NAME", "KIND", "TO", "VIA", "CREATED"],
    channels.map((c) => [c.name, c.kind, c.target, c.via ?? "-", isoSeconds(c.createdAt)]),
  );
}

async function testChannel(name: string): Promise<void> {
  const api = await apiClient();
  const result = await api.call("POST", routePath(NOTIFY_ROUTES.channelTest, { name: checkedName(name, "channel name") }), ChannelTestResult);
  if (!result.delivered) throw new Error(`test message on channel "${name}" not delivered: ${result.error ?? "unknown error"}`);
  process.stdout.write(`test message on channel "${name}" delivered\n`);
}

interface RuleFlags {
  on?: string;
  channel?: string;
  device?: string;
  after?: string;
  severity?: string;
  json?: boolean;
}

async function addRule(flags: RuleFlags): Promise<void> {
  if (flags.on === undefined || !isNotifyEvent(flags.on))
    throw new UsageError(`notify rule add needs --on EVENT, one of: ${NOTIFY_EVENT_NAMES.join(", ")}${flags.on ? ` (not "${flags.on}")` : ""}`);
  if (flags.channel === undefined) throw new UsageError("notify rule add needs --channel NAME (see: fernlink notify channel list)");
  let delaySeconds: number | undefined;
  try {
    delaySeconds = flags.after === undefined ? undefined : parseDelay(flags.after);
  } catch (err) {
    if (err instanceof DelaySyntaxError) throw new UsageError(`--after: ${err.message}`);
    throw err;
  }
  if (flags.severity !== undefined && !SEVERITIES.includes(flags.severity as Severity))
    throw new UsageError(`--severity "${flags.severity}" must be one of: ${SEVERITIES.join(", ")}`);
  if (flags.severity !== undefined && flags.on !== "alarm") throw new UsageError("--severity goes only with --on alarm");
  const api = await apiClient();
  const rule = await api.call("POST", NOTIFY_ROUTES.rules, RuleInfo, {
    event: flags.on,
    channel: checkedName(flags.channel, "channel name"),
    ...(flags.device === undefined ? {} : { device: checkedName(flags.device, "device name") }),
    ...(delaySeconds === undefined ? {} : { delaySeconds }),
    ...(flags.severity === undefined ? {} : { minSeverity: flags.severity }),
  });
  if (flags.json) return printJson(rule);
  process.stdout.write(`rule ${rule.id} added: ${describeRule(rule)}\n`);
}

function describeRule(r: RuleInfo): string {
  const after = r.event === "device.offline" || r.event === "certificate.expiring" ? ` after ${formatDelay(r.delaySeconds)}` : "";
  const severity = r.minSeverity ? ` (${r.minSeverity} and worse)` : "";
  return `${r.event}${severity} on ${r.device ?? "every device"}${after} to ${r.channel}`;
}

async function listRules(flags: { json?: boolean }): Promise<void> {
  const api = await apiClient();
  const rules = await api.call("GET", NOTIFY_ROUTES.rules, z.array(RuleInfo));
  if (flags.json) return printJson(rules);
  printTable(
    ["ID", "EVENT", "DEVICE", "AFTER", "CHANNEL"],
    rules.map((r) => [r.id, r.event + (r.minSeverity ? `>=${r.minSeverity}` : ""), r.device ?? "(all)", formatDelay(r.delaySeconds), r.channel]),
  );
}

async function showLog(flags: { json?: boolean }): Promise<void> {
  const api = await apiClient();
  const rows = await api.call("GET", NOTIFY_ROUTES.log, z.array(NotificationInfo));
  if (flags.json) return printJson(rows);
  printTable(
    ["CREATED", "EVENT", "DEVICE", "CHANNEL", "STATE", "TRIES", "ERROR"],
    rows.map((r) => [isoSeconds(r.createdAt), r.event, r.device ?? "-", r.channel, r.state, String(r.attempts), r.lastError ?? ""]),
  );
}

/** `fernlink notify …`: notification channels, rules and the delivery log; admins only. */
export function registerNotifyCommands(program: Command): void {
  const notify = program.command("notify").description("notifications by e-mail, webhook or SMS when devices go offline, raise alarms, … (admin)");
  const channel = notify.command("channel").description("where notifications go");
  channel
    .command("add <name>")
    .description("add an e-mail, webhook or SMS channel (SMTP password from FERNLINK_SMTP_PASSWORD or a prompt)")
    .option("--email <addr>", "send e-mail to this address (with --smtp)")
    .option("--smtp <url>", "SMTP server: smtp://USER@HOST:587 (STARTTLS required) or smtps://USER@HOST:465")
    .option("--from <addr>", "sender address (default: fernlink@ the SMTP host)")
    .option("--smtp-ca <file>", "PEM CA certificate to trust for the SMTP server")
    .option("--webhook <url>", "POST signed JSON to this https URL; the signing secret is shown once")
    .option("--sms-url <template>", "SMS gateway URL with {to} and {text}, called with GET; one holding an API key is better given in FERNLINK_SMS_URL")
    .option("--to <number>", "the phone number an SMS channel sends to")
    .option("--json", "print the answer as JSON")
    .action(addChannel);
  channel.command("list").description("the account's channels").option("--json", "print JSON").action(listChannels);
  channel
    .command("remove <name>")
    .description("remove a channel with its rules")
    .action(async (name: string) => {
      const api = await apiClient();
      await api.call("DELETE", routePath(NOTIFY_ROUTES.channel, { name: checkedName(name, "channel name") }), Ok);
      process.stdout.write(`channel "${name}" removed\n`);
    });
  channel.command("test <name>").description("send a test message now and say whether it was delivered").action(testChannel);

  const rule = notify.command("rule").description("which events go to which channel");
  rule
    .command("add")
    .description(`notify a channel of an event: ${NOTIFY_EVENT_NAMES.join(", ")}`)
    .option("--on <event>", "the event")
    .option("--channel <name>", "the channel to notify")
    .option("--device <name>", "only this device (default: every device)")
    .option(
      "--after <delay>",
      "device.offline: offline this long first (5m if not given); certificate.expiring: this long before its end (default 30d); 30s, 5m, 2h, 30d",
    )
    .option("--severity <level>", "alarm: this severity and worse only (info, warning, critical)")
    .option("--json", "print the rule as JSON")
    .action(addRule);
  rule.command("list").description("the account's rules").option("--json", "print JSON").action(listRules);
  rule
    .command("remove <id>")
    .description("remove a rule (its id from: notify rule list)")
    .action(async (id: string) => {
      if (!/^[0-9a-f-]{36}$/.test(id)) throw new UsageError(`rule id "${id}" is not an id from: fernlink notify rule list`);
      const api = await apiClient();
      await api.call("DELETE", routePath(NOTIFY_ROUTES.rule, { id }), Ok);
      process.stdout.write(`rule ${id} removed\n`);
    });
  notify.command("log").description("the latest 100 notifications: queued, sent, failed, cancelled").option("--json", "print JSON").action(showLog);
}
