import { useEffect, useRef, useState } from "preact/hooks";
import { DEFAULT_DELAY_SECONDS, formatDelay, NOTIFY_EVENTS, type NotifyEvent, parseDelay, SEVERITIES, type Severity } from "../../../protocol/notify-events.js";
import { call } from "../api.js";
import { Alert, CopyButton, SelectField, TextField } from "../components.js";
import { useAction } from "../hooks.js";
import { API } from "../routes.js";
import type { ChannelAdded, ChannelAddRequest, RuleAddRequest, RuleInfo } from "../types.js";

type Kind = ChannelAddRequest["kind"];

const KINDS: readonly { value: Kind; label: string }[] = [
  { value: "webhook", label: "Webhook (signed JSON POST)" },
  { value: "email", label: "E-mail (SMTP)" },
  { value: "sms", label: "SMS (gateway URL)" },
];

const NO_AUTOFILL = { autoComplete: "off", autoCapitalize: "none", spellcheck: false } as const;

/** The request for the kind chosen, from the form's fields (the server checks them). */
function channelRequest(kind: Kind, name: string, f: Record<string, string>): ChannelAddRequest {
  const given = (key: string): string | undefined => f[key]?.trim() || undefined;
  if (kind === "webhook") return { kind, name, url: f["url"]?.trim() ?? "" };
  if (kind === "sms") return { kind, name, template: f["template"]?.trim() ?? "", to: f["phone"]?.trim() ?? "" };
  const password = f["smtpPassword"] ?? "";
  const from = given("from");
  return { kind, name, to: f["to"]?.trim() ?? "", smtp: f["smtp"]?.trim() ?? "", ...(password ? { smtpPassword: password } : {}), ...(from ? { from } : {}) };
}

/** A webhook's signing secret, shown once after the channel was added; focus moves to it. */
function SigningSecret({ added, onDismiss }: { added: ChannelAdded & { secret: string }; onDismiss: () => void }) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => ref.current?.focus(), [added.secret]);
  return (
    <section class="card key" aria-labelledby="signing-secret" tabIndex={-1} ref={ref}>
      <h2 id="signing-secret">Signing secret of {added.channel.name}</h2>
      <p>Shown only now. The receiver checks each POST's x-fernlink-signature header (HMAC-SHA256 of the body) with it.</p>
      <div class="field">
        <label for="signing-secret-value">Signing secret</label>
        <input id="signing-secret-value" class="secret" readOnly value={added.secret} onFocus={(e) => e.currentTarget.select()} />
      </div>
      <CopyButton text={added.secret} label="Copy secret" />
      <button type="button" onClick={onDismiss}>
        Done
      </button>
    </section>
  );
}

/** Adds an e-mail, webhook or SMS channel; a webhook's signing secret is shown once. */
export function AddChannelForm({ onAdded }: { onAdded: (added: ChannelAdded) => void }) {
  const [name, setName] = useState("");
  const [kind, setKind] = useState<Kind>("webhook");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [secret, setSecret] = useState<(ChannelAdded & { secret: string }) | null>(null);
  const action = useAction();
  const field = (key: string) => ({ value: fields[key] ?? "", onValue: (v: string) => setFields((f) => ({ ...f, [key]: v })) });
  const submit = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      const added = await call<ChannelAdded>(API.notifyChannels, { method: "POST", body: channelRequest(kind, name.trim(), fields) });
      setName("");
      setFields({});
      if (added.secret !== undefined) setSecret({ ...added, secret: added.secret });
      onAdded(added);
    });
  };
  return (
    <>
      {secret && <SigningSecret added={secret} onDismiss={() => setSecret(null)} />}
      <form onSubmit={submit} class="card" aria-labelledby="add-channel">
        <h2 id="add-channel">Add a channel</h2>
        <TextField label="Channel name" value={name} onValue={setName} required {...NO_AUTOFILL} />
        <SelectField label="Kind" value={kind} onValue={(v) => setKind(KINDS.find((k) => k.value === v)?.value ?? "webhook")} options={KINDS} />
        {kind === "webhook" && (
          <TextField
            label="Webhook URL"
            {...field("url")}
            required
            inputMode="url"
            {...NO_AUTOFILL}
            hint="https://… (or http://); no user or password in it."
          />
        )}
        {kind === "email" && (
          <>
            <TextField label="To" type="email" {...field("to")} required {...NO_AUTOFILL} />
            <TextField
              label="SMTP server"
              {...field("smtp")}
              required
              {...NO_AUTOFILL}
              hint="smtp://USER@HOST:587 (STARTTLS required) or smtps://USER@HOST:465."
            />
            <TextField
              label="SMTP password"
              type="password"
              {...field("smtpPassword")}
              autoComplete="new-password"
              hint="When the URL names a user; kept sealed on the server."
            />
            <TextField label="From (optional)" type="email" {...field("from")} {...NO_AUTOFILL} />
          </>
        )}
        {kind === "sms" && (
          <>
            <TextField
              label="Gateway URL template"
              {...field("template")}
              required
              {...NO_AUTOFILL}
              hint="The gateway's GET URL with {to} and {text} where the number and the message go."
            />
            <TextField label="Phone number" type="tel" {...field("phone")} required {...NO_AUTOFILL} hint="Digits, optionally with a leading +." />
          </>
        )}
        <Alert message={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
          Add channel
        </button>
      </form>
    </>
  );
}

const EVENTS = (Object.keys(NOTIFY_EVENTS) as NotifyEvent[]).map((e) => ({ value: e, label: e }));
const EVERY_DEVICE = "";

/** Adds a rule: an event, on one device or all, after a delay, to a channel. */
export function AddRuleForm({ channels, devices, onAdded }: { channels: string[]; devices: string[]; onAdded: (rule: RuleInfo) => void }) {
  const [event, setEvent] = useState<NotifyEvent>("device.offline");
  const [picked, setPicked] = useState("");
  const [device, setDevice] = useState(EVERY_DEVICE);
  const [after, setAfter] = useState("");
  const [severity, setSeverity] = useState<Severity>("info");
  const action = useAction();
  const channel = picked && channels.includes(picked) ? picked : (channels[0] ?? "");
  const delayed = event === "device.offline" || event === "certificate.expiring";
  const submit = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      const body: RuleAddRequest = {
        event,
        channel,
        ...(device === EVERY_DEVICE ? {} : { device }),
        ...(delayed && after.trim() ? { delaySeconds: parseDelay(after) } : {}),
        ...(event === "alarm" ? { minSeverity: severity } : {}),
      };
      const rule = await call<RuleInfo>(API.notifyRules, { method: "POST", body });
      setAfter("");
      onAdded(rule);
    });
  };
  return (
    <form onSubmit={submit} class="card" aria-labelledby="add-rule">
      <h2 id="add-rule">Add a rule</h2>
      {channels.length === 0 ? (
        <p>Add a channel first: a rule sends its event to one.</p>
      ) : (
        <>
          <SelectField label="Event" value={event} onValue={(v) => setEvent(EVENTS.find((x) => x.value === v)?.value ?? "device.offline")} options={EVENTS} />
          <p class="hint">{NOTIFY_EVENTS[event]}</p>
          <SelectField label="Device" value={device} onValue={setDevice} options={[{ value: EVERY_DEVICE, label: "every device" }, ...devices]} />
          {delayed && (
            <TextField
              label="After"
              value={after}
              onValue={setAfter}
              {...NO_AUTOFILL}
              hint={`30s, 5m, 2h or 30d; empty for ${formatDelay(DEFAULT_DELAY_SECONDS[event])}.`}
            />
          )}
          {event === "alarm" && (
            <SelectField
              label="Lowest severity"
              value={severity}
              onValue={(v) => setSeverity(SEVERITIES.find((s) => s === v) ?? "info")}
              options={SEVERITIES}
            />
          )}
          <SelectField label="Channel" value={channel} onValue={setPicked} options={channels} />
          <Alert message={action.error} />
          <button type="submit" class="primary" disabled={action.busy}>
            Add rule
          </button>
        </>
      )}
    </form>
  );
}
