import type { DeviceInfo } from "../../../protocol/api.js";
import { CopyButton } from "../components.js";
import { connectHint, type KnownTarget, targetOfUrl } from "../connect-hint.js";
import type { WebTarget } from "../types.js";

function Command({ text, label }: { text: string; label: string }) {
  return (
    <div class="command-line">
      <pre class="command">
        <code>{text}</code>
      </pre>
      <CopyButton text={text} label={label} />
    </div>
  );
}

/** How to reach the device from a PC: the `fernlink connect` lines for what the user may reach. */
export function DeviceConnect({ device, targets }: { device: DeviceInfo; targets: readonly WebTarget[] }) {
  const access = device.access;
  if (!access) return null;
  if (access.level !== "connect") {
    return <p>You may see this device but not connect to it. An admin can grant connect access to one of its pools.</p>;
  }
  const known = targets.map((t) => targetOfUrl(t.url)).filter((t): t is KnownTarget => t !== undefined);
  const hint = connectHint(device.name, access, known);
  return (
    <>
      <p>
        With the command line (after <code>fernlink login</code>), forward local ports to the targets you may reach
        {hint.socks ? ", or open a SOCKS5 proxy for any of them" : ""}:
      </p>
      {hint.forward && <Command text={hint.forward} label="Copy the forward command" />}
      {hint.socks && <Command text={hint.socks} label="Copy the SOCKS command" />}
      <h3>Targets you may reach</h3>
      <ul class="plain">
        {access.targets.map((t) => (
          <li key={t}>
            <code>{t}</code>
          </li>
        ))}
      </ul>
    </>
  );
}
