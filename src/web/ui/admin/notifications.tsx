import { useState } from "preact/hooks";
import type { DeviceInfo } from "../../../protocol/api.js";
import { formatDelay } from "../../../protocol/notify-events.js";
import { call, path } from "../api.js";
import { Alert, PageHeading, Status, Table, Time, useConfirm } from "../components.js";
import { useAction, useResource, useTitle } from "../hooks.js";
import { API } from "../routes.js";
import type { ChannelInfo, ChannelTestResult, NotificationInfo, RuleInfo } from "../types.js";
import { AddChannelForm, AddRuleForm } from "./notify-forms.js";

/** The delivery log: the account's latest notifications, queued and done, newest first. */
function DeliveryLog({ changes }: { changes: number }) {
  const log = useResource((signal) => call<NotificationInfo[]>(API.notifyLog, { signal }), [changes]);
  return (
    <section aria-labelledby="notify-log">
      <h2 id="notify-log">Delivery log</h2>
      <Alert message={log.error} />
      <button type="button" onClick={log.reload} disabled={log.loading}>
        Refresh
      </button>
      {log.data && (
        <Table
          caption="Latest notifications, queued and done"
          head={["Created", "Event", "Device", "Channel", "Subject", "State", "Attempts", "Due", "Done", "Last error"]}
          empty={log.data.length === 0 && "Nothing sent yet."}
        >
          {log.data.map((n) => (
            <tr key={n.id}>
              <td>
                <Time iso={n.createdAt} />
              </td>
              <td>{n.event}</td>
              <td>{n.device ?? ""}</td>
              <td>{n.channel}</td>
              <td>{n.subject}</td>
              <td>{n.state}</td>
              <td>{n.attempts}</td>
              <td>
                <Time iso={n.dueAt} />
              </td>
              <td>
                <Time iso={n.doneAt} />
              </td>
              <td>{n.lastError ?? ""}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

/**
 * Notifications of the account for admins: the channels (e-mail, webhook, SMS) to add, test and
 * remove, the rules that send events to them, and the delivery log.
 */
export function NotificationsPage() {
  useTitle("Notifications");
  const channels = useResource((signal) => call<ChannelInfo[]>(API.notifyChannels, { signal }), []);
  const rules = useResource((signal) => call<RuleInfo[]>(API.notifyRules, { signal }), []);
  const devices = useResource((signal) => call<DeviceInfo[]>(API.devices, { signal }), []);
  const [confirm, dialog] = useConfirm();
  const [done, setDone] = useState<string | null>(null);
  const [changes, setChanges] = useState(0);
  const action = useAction();

  const changed = (text: string): void => {
    setDone(text);
    channels.reload();
    rules.reload();
    setChanges((n) => n + 1);
  };
  const test = (c: ChannelInfo): void =>
    void action.run(async () => {
      setDone(null);
      const result = await call<ChannelTestResult>(path(API.notifyChannelTest, { name: c.name }), { method: "POST" });
      if (!result.delivered) throw new Error(`The test message on ${c.name} was not delivered: ${result.error ?? "no reason given"}`);
      changed(`Test message on ${c.name} delivered.`);
    });
  const removeChannel = async (c: ChannelInfo): Promise<void> => {
    if (!(await confirm(`Remove channel ${c.name}? Its rules and their queued notifications go with it.`))) return;
    await action.run(async () => {
      await call(path(API.notifyChannel, { name: c.name }), { method: "DELETE" });
      changed(`Channel ${c.name} removed.`);
    });
  };
  const removeRule = async (r: RuleInfo): Promise<void> => {
    if (!(await confirm(`Remove the ${r.event} rule to ${r.channel}? Its queued notifications go with it.`))) return;
    await action.run(async () => {
      await call(path(API.notifyRule, { id: r.id }), { method: "DELETE" });
      changed(`Rule ${r.event} to ${r.channel} removed.`);
    });
  };

  return (
    <>
      <PageHeading>Notifications</PageHeading>
      <Alert message={channels.error ?? rules.error ?? devices.error ?? action.error} />
      <Status>{done}</Status>
      <section aria-labelledby="notify-channels">
        <h2 id="notify-channels">Channels</h2>
        {channels.data && (
          <Table
            caption="Where notifications go"
            head={["Name", "Kind", "To", "Via", "Created", "Actions"]}
            empty={channels.data.length === 0 && "No channels."}
          >
            {channels.data.map((c) => (
              <tr key={c.name}>
                <th scope="row">{c.name}</th>
                <td>{c.kind}</td>
                <td class="url">{c.target}</td>
                <td>{c.via ?? ""}</td>
                <td>
                  <Time iso={c.createdAt} />
                </td>
                <td class="actions">
                  <button type="button" onClick={() => test(c)} disabled={action.busy} aria-label={`Test ${c.name}`}>
                    Test
                  </button>
                  <button type="button" class="danger" onClick={() => void removeChannel(c)} disabled={action.busy} aria-label={`Remove channel ${c.name}`}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </Table>
        )}
        <AddChannelForm onAdded={(added) => changed(`Channel ${added.channel.name} added.`)} />
      </section>
      <section aria-labelledby="notify-rules">
        <h2 id="notify-rules">Rules</h2>
        {rules.data && (
          <Table
            caption="Which event goes where"
            head={["Event", "Device", "After", "Lowest severity", "Channel", "Created", "Actions"]}
            empty={rules.data.length === 0 && "No rules."}
          >
            {rules.data.map((r) => (
              <tr key={r.id}>
                <th scope="row">{r.event}</th>
                <td>{r.device ?? "every device"}</td>
                <td>{r.delaySeconds > 0 ? formatDelay(r.delaySeconds) : "at once"}</td>
                <td>{r.minSeverity ?? ""}</td>
                <td>{r.channel}</td>
                <td>
                  <Time iso={r.createdAt} />
                </td>
                <td class="actions">
                  <button
                    type="button"
                    class="danger"
                    onClick={() => void removeRule(r)}
                    disabled={action.busy}
                    aria-label={`Remove the ${r.event} rule to ${r.channel}${r.device ? ` on ${r.device}` : ""}`}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </Table>
        )}
        {channels.data && (
          <AddRuleForm
            channels={channels.data.map((c) => c.name)}
            devices={devices.data?.map((d) => d.name) ?? []}
            onAdded={(rule) => changed(`Rule ${rule.event} to ${rule.channel} added.`)}
          />
        )}
      </section>
      <DeliveryLog changes={changes} />
      {dialog}
    </>
  );
}
