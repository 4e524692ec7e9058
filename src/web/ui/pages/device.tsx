import { useState } from "preact/hooks";
import type { DeviceInfo } from "../../../protocol/api.js";
import type { AccountPolicy } from "../../../protocol/api-users.js";
import { call, path } from "../api.js";
import { Alert, PageHeading, TextField, Time } from "../components.js";
import { connectReason, setConnectReason, withReason } from "../connect-reason.js";
import { formatTime, offlineMessage } from "../format.js";
import { useResource, useTitle } from "../hooks.js";
import { API } from "../routes.js";
import { rememberTargets } from "../targets-memo.js";
import type { WebTarget, WebTargetList } from "../types.js";
import { DeviceConnect } from "./device-connect.js";
import { LiveNote, OnlineBadge } from "./devices.js";

/** Where a target's link goes: the server's `/web/open/<id>` redirect, or the VNC viewer route. */
export function targetHref(t: WebTarget): string {
  if (t.kind === "vnc") return `#/vnc/${encodeURIComponent(t.id)}`;
  // Only a same-origin path: a list from the server never turns into a link elsewhere.
  return t.open.startsWith("/") && !t.open.startsWith("//") ? t.open : path(API.webOpen, { id: t.id });
}

function TargetLink({ t, needsReason }: { t: WebTarget; needsReason: boolean }) {
  // Until a required reason is typed, the target is named but not a link.
  if (needsReason) {
    return (
      <li>
        {t.name} <span class="muted">give a reason above to open it</span>
      </li>
    );
  }
  if (t.kind === "vnc") {
    return (
      <li>
        <a href={targetHref(t)}>{t.name}</a> <span class="muted">remote screen (VNC)</span>
      </li>
    );
  }
  return (
    <li>
      <a href={withReason(targetHref(t))} target="_blank" rel="noopener">
        {t.name}
      </a>{" "}
      <span class="muted">web page, opens in a new tab</span>
    </li>
  );
}

/** The switch's position in words, with when the service learnt of it. */
function switchText(d: DeviceInfo): string {
  const since = d.switchedAt ? ` (since ${formatTime(d.switchedAt)})` : "";
  switch (d.switch) {
    case "off":
      return `off: no connection${since}`;
    case "online":
      return `online: connected, remote access switched off${since}`;
    case "remote":
      return `remote: access as the rules allow${since}`;
    default:
      return "not reported";
  }
}

/** One device: its state, details, how to connect to it, and the web pages and screens published on it. */
export function DevicePage({ name }: { name: string }) {
  useTitle(name);
  const device = useResource((signal) => call<DeviceInfo>(path(API.device, { name }), { signal }), [name], ["devices"]);
  const targets = useResource(
    async (signal) => {
      const list = await call<WebTargetList>(path(API.deviceWeb, { name }), { signal });
      rememberTargets(name, list.targets);
      return list.targets;
    },
    [name],
  );
  const policy = useResource((signal) => call<AccountPolicy>(API.policy, { signal }), []);
  const [reason, setReason] = useState(connectReason());
  const reasonRequired = policy.data?.requireReason === true;
  const d = device.data;

  return (
    <>
      <p class="breadcrumb">
        <a href="#/devices">All devices</a>
      </p>
      <PageHeading>{name}</PageHeading>
      <LiveNote />
      <Alert message={device.error} />
      <div aria-live="polite">{d && !d.online && <p class="notice offline-notice">{offlineMessage(d.name, d.lastSeen, d.switch === "off")}</p>}</div>
      {d && (
        <dl class="details">
          <dt>Status</dt>
          <dd>
            <OnlineBadge online={d.online} keySwitch={d.switch} />
          </dd>
          <dt>Key switch on site</dt>
          <dd>{switchText(d)}</dd>
          <dt>Last seen</dt>
          <dd>
            <Time iso={d.lastSeen} never="never" />
          </dd>
          <dt>Relay</dt>
          <dd>{d.relay ?? "none"}</dd>
          <dt>Address</dt>
          <dd>{d.address ?? "unknown"}</dd>
          <dt>LAN ranges</dt>
          <dd>{d.lan.length > 0 ? d.lan.join(", ") : "none (its agent's allowlist decides)"}</dd>
          <dt>Pools</dt>
          <dd>{d.pools.length > 0 ? d.pools.join(", ") : "none"}</dd>
          <dt>Registered</dt>
          <dd>{d.registered ? "yes" : "no (waiting for its activation key)"}</dd>
          <dt>Added</dt>
          <dd>
            <Time iso={d.createdAt} />
          </dd>
        </dl>
      )}
      {d && (
        <section aria-labelledby="connect">
          <h2 id="connect">Connect from your PC</h2>
          <DeviceConnect device={d} targets={targets.data ?? []} />
        </section>
      )}
      <section aria-labelledby="web-targets">
        <h2 id="web-targets">Web pages and screens</h2>
        <Alert message={targets.error} />
        {targets.data === undefined && !targets.error && <p>Loading…</p>}
        {targets.data && targets.data.length === 0 && <p>Nothing is published on this device.</p>}
        {targets.data && targets.data.length > 0 && reasonRequired && (
          <TextField
            label="Reason for this connection"
            hint="Your account asks why you connect (a ticket number, a sentence); it is kept in the audit."
            value={reason}
            maxLength={200}
            onValue={(text) => {
              setReason(text);
              setConnectReason(text);
            }}
          />
        )}
        {targets.data && targets.data.length > 0 && (
          <ul class="targets">
            {targets.data.map((t) => (
              <TargetLink key={t.id} t={t} needsReason={reasonRequired && reason.trim() === ""} />
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
