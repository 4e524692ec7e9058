import { useState } from "preact/hooks";
import type { DeviceInfo } from "../../../protocol/api.js";
import { call, path } from "../api.js";
import { Alert, PageHeading, SelectField, Status, Table, TextField, useConfirm } from "../components.js";
import { useAction, useResource, useTitle } from "../hooks.js";
import { API } from "../routes.js";
import type { WebTarget, WebTargetAddRequest, WebTargetList } from "../types.js";

function AddTargetForm({ device, onAdded }: { device: string; onAdded: (t: WebTarget) => void }) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  const isVnc = /^vnc:/i.test(url.trim());
  const submit = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      const body: WebTargetAddRequest = { name: name.trim(), url: url.trim(), ...(password ? { password } : {}) };
      const added = await call<WebTarget>(path(API.deviceWeb, { name: device }), { method: "POST", body });
      setName("");
      setUrl("");
      setPassword("");
      onAdded(added);
    });
  };
  return (
    <form onSubmit={submit} class="card" aria-labelledby="add-target">
      <h2 id="add-target">Add a web target to {device}</h2>
      <TextField label="Name" value={name} onValue={setName} required autoComplete="off" autoCapitalize="none" spellcheck={false} />
      <TextField
        label="URL"
        value={url}
        onValue={setUrl}
        required
        type="text"
        inputMode="url"
        autoComplete="off"
        autoCapitalize="none"
        spellcheck={false}
        hint="An address in the device's LAN: http://192.168.10.20/ for an HMI page, vnc://192.168.10.21:5900 for a panel's screen."
      />
      <TextField
        label="VNC password (optional)"
        type="password"
        value={password}
        onValue={setPassword}
        autoComplete="new-password"
        hint={isVnc ? "Kept on the server, which signs in to the VNC server itself; browsers never see it." : "Only for vnc:// targets."}
      />
      <Alert message={action.error} />
      <button type="submit" class="primary" disabled={action.busy}>
        Add web target
      </button>
    </form>
  );
}

function DeviceTargets({ device }: { device: string }) {
  const targets = useResource(async (signal) => (await call<WebTargetList>(path(API.deviceWeb, { name: device }), { signal })).targets, [device]);
  const [confirm, dialog] = useConfirm();
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();
  const remove = async (t: WebTarget): Promise<void> => {
    if (!(await confirm(`Remove web target ${t.name} of ${device}?`))) return;
    await action.run(async () => {
      await call(path(API.deviceWebTarget, { name: device, target: t.name }), { method: "DELETE" });
      setDone(`Web target ${t.name} removed.`);
      targets.reload();
    });
  };
  return (
    <>
      <Alert message={targets.error ?? action.error} />
      <Status>{done}</Status>
      {targets.data && (
        <Table
          caption={`Web targets of ${device}`}
          head={["Name", "Kind", "URL", "VNC password", "Actions"]}
          empty={targets.data.length === 0 && "Nothing published on this device."}
        >
          {targets.data.map((t) => (
            <tr key={t.id}>
              <th scope="row">{t.name}</th>
              <td>{t.kind}</td>
              <td class="url">{t.url}</td>
              <td>{t.kind === "vnc" ? (t.hasPassword ? "set" : "none") : ""}</td>
              <td class="actions">
                <button type="button" class="danger" onClick={() => void remove(t)} disabled={action.busy} aria-label={`Remove ${t.name}`}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <AddTargetForm
        device={device}
        onAdded={(t) => {
          setDone(`Web target ${t.name} added.`);
          targets.reload();
        }}
      />
      {dialog}
    </>
  );
}

/** Web targets (HMI pages, VNC panels) published per device. */
export function WebTargetsPage() {
  useTitle("Web targets");
  const devices = useResource((signal) => call<DeviceInfo[]>(API.devices, { signal }), []);
  const [picked, setPicked] = useState("");
  const names = devices.data?.map((d) => d.name) ?? [];
  const device = picked && names.includes(picked) ? picked : names[0];
  return (
    <>
      <PageHeading>Web targets</PageHeading>
      <Alert message={devices.error} />
      {devices.data && names.length === 0 && (
        <p>
          Add a device first, under <a href="#/admin/devices">Manage devices</a>.
        </p>
      )}
      {device && (
        <>
          <SelectField label="Device" value={device} onValue={setPicked} options={names} />
          <DeviceTargets key={device} device={device} />
        </>
      )}
    </>
  );
}
