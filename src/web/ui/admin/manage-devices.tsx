import { useEffect, useRef, useState } from "preact/hooks";
import type { ActivationKeyResponse, DeviceAddRequest, DeviceInfo } from "../../../protocol/api.js";
import { call, path } from "../api.js";
import { Alert, CopyButton, PageHeading, Status, Table, TextField, Time, useConfirm } from "../components.js";
import { DEVICE_LIST_EVENTS, deviceListMemory, Pager, useDeviceList } from "../device-list.js";
import { useAction, useResource, useTitle } from "../hooks.js";
import { DeviceFilters } from "../pages/device-filters.js";
import { OnlineBadge } from "../pages/devices.js";
import { deviceHref } from "../router.js";
import { API } from "../routes.js";

/** The one-time activation key, shown once with a copy button; focus moves to it. */
function ActivationKey({ reply, onDismiss }: { reply: ActivationKeyResponse; onDismiss: () => void }) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => ref.current?.focus(), [reply.activationKey]);
  return (
    <section class="card key" aria-labelledby="activation-key" tabIndex={-1} ref={ref}>
      <h2 id="activation-key">Register {reply.device.name}</h2>
      <p>
        The activation key below is shown only now and works once, until <Time iso={reply.expiresAt} />. On the device run:
      </p>
      <pre class="command">fernlink agent register --server URL --ca ca.pem --key KEY --state DIR</pre>
      <div class="field">
        <label for="activation-key-value">Activation key</label>
        <input id="activation-key-value" class="secret" readOnly value={reply.activationKey} onFocus={(e) => e.currentTarget.select()} />
      </div>
      <CopyButton text={reply.activationKey} label="Copy key" />
      <button type="button" onClick={onDismiss}>
        Done
      </button>
    </section>
  );
}

// Kept while the portal is open, like the Devices page's search.
const remembered = deviceListMemory();

/** Devices of the account for admins: add (and get the activation key), new key, remove; searched and in pages like the Devices page. */
export function ManageDevicesPage() {
  useTitle("Manage devices");
  const devices = useResource((signal) => call<DeviceInfo[]>(API.devices, { signal }), [], ["devices"], DEVICE_LIST_EVENTS);
  const [name, setName] = useState("");
  const [lan, setLan] = useState("");
  const [key, setKey] = useState<ActivationKeyResponse | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [confirm, dialog] = useConfirm();
  const add = useAction();
  const action = useAction();
  const view = useDeviceList(devices.data, remembered);

  const submit = (e: Event): void => {
    e.preventDefault();
    void add.run(async () => {
      const body: DeviceAddRequest = { name: name.trim(), lan: lan.split(/[\s,]+/).filter((x) => x !== "") };
      setKey(await call<ActivationKeyResponse>(API.devices, { method: "POST", body }));
      setName("");
      setLan("");
      devices.reload();
    });
  };
  const newKey = async (device: string): Promise<void> => {
    if (!(await confirm(`Issue a new activation key for ${device}? The device must register again with it.`))) return;
    await action.run(async () => {
      setKey(await call<ActivationKeyResponse>(path(API.deviceKey, { name: device }), { method: "POST" }));
      devices.reload();
    });
  };
  const remove = async (device: string): Promise<void> => {
    if (!(await confirm(`Remove device ${device}? Its certificate is revoked and its connection closed.`))) return;
    await action.run(async () => {
      await call(path(API.device, { name: device }), { method: "DELETE" });
      setDone(`Device ${device} removed.`);
      devices.reload();
    });
  };

  return (
    <>
      <PageHeading>Manage devices</PageHeading>
      <Alert message={devices.error ?? action.error} />
      <Status>{done}</Status>
      {key && <ActivationKey reply={key} onDismiss={() => setKey(null)} />}
      <form onSubmit={submit} class="card" aria-labelledby="add-device">
        <h2 id="add-device">Add a device</h2>
        <TextField label="Device name" value={name} onValue={setName} required autoComplete="off" autoCapitalize="none" spellcheck={false} />
        <TextField
          label="LAN ranges (optional)"
          value={lan}
          onValue={setLan}
          autoComplete="off"
          spellcheck={false}
          hint="What clients may reach behind the device, separated by spaces: e.g. 192.168.10.0/24 10.0.0.5"
        />
        <Alert message={add.error} />
        <button type="submit" class="primary" disabled={add.busy}>
          Add device
        </button>
      </form>
      {devices.data && devices.data.length > 0 && <DeviceFilters query={view.query} pools={view.pools} onQuery={view.setQuery} />}
      {devices.data && (
        <p class="result-count" role="status">
          {view.summary}
        </p>
      )}
      {devices.data && (
        <Table
          caption="Devices of the account"
          head={["Name", "Status", "Registered", "Last seen", "LAN ranges", "Actions"]}
          empty={view.rows.length === 0 && (view.filtered ? "No device matches." : "No devices yet.")}
        >
          {view.rows.map((d) => (
            <tr key={d.name}>
              <th scope="row">
                <a href={deviceHref(d.name)}>{d.name}</a>
              </th>
              <td>
                <OnlineBadge online={d.online} keySwitch={d.switch} />
              </td>
              <td>{d.registered ? "yes" : "no"}</td>
              <td>
                <Time iso={d.lastSeen} never="never" />
              </td>
              <td>{d.lan.join(" ")}</td>
              <td class="actions">
                <button type="button" onClick={() => void newKey(d.name)} disabled={action.busy} aria-label={`New key for ${d.name}`}>
                  New key
                </button>
                <button type="button" class="danger" onClick={() => void remove(d.name)} disabled={action.busy} aria-label={`Remove ${d.name}`}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      {devices.data && <Pager view={view} />}
      {dialog}
    </>
  );
}
