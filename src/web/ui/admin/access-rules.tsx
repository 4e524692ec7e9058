import { useState } from "preact/hooks";
import type { AccessGrantRequest, AccessLevel, AccessRuleInfo, GroupInfo, PoolInfo } from "../../../protocol/api-access.js";
import { call, path } from "../api.js";
import { Alert, PageHeading, SelectField, Status, Table, TextField, Time, useConfirm } from "../components.js";
import { useAction, useResource, useTitle } from "../hooks.js";
import { API } from "../routes.js";

const LEVELS = [
  { value: "connect", label: "connect (see and open connections)" },
  { value: "view", label: "view (see only)" },
] as const;

function AddRuleForm({ groups, pools, onAdded }: { groups: string[]; pools: string[]; onAdded: (rule: AccessRuleInfo) => void }) {
  const [group, setGroup] = useState("");
  const [pool, setPool] = useState("");
  const [level, setLevel] = useState<AccessLevel>("connect");
  const [targets, setTargets] = useState("");
  const action = useAction();
  const submit = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      // Entries are separated by spaces or new lines: one entry's ports are separated by commas.
      const list = targets.split(/\s+/).filter((t) => t !== "");
      const body: AccessGrantRequest = {
        group: group || groups[0] || "",
        pool: pool || pools[0] || "",
        level,
        ...(level === "connect" && list.length > 0 ? { targets: list } : {}),
      };
      const rule = await call<AccessRuleInfo>(API.accessRules, { method: "POST", body });
      setTargets("");
      onAdded(rule);
    });
  };
  if (groups.length === 0 || pools.length === 0) {
    return (
      <p class="card">
        A rule joins a group and a pool: create at least one <a href="#/admin/groups">group</a> and one <a href="#/admin/pools">pool</a> first.
      </p>
    );
  }
  return (
    <form onSubmit={submit} class="card" aria-labelledby="add-rule">
      <h2 id="add-rule">Add a rule</h2>
      <p class="hint">A new rule replaces the group's earlier rule on the same pool.</p>
      <SelectField label="Group" value={group || groups[0] || ""} onValue={setGroup} options={groups} />
      <SelectField label="Pool" value={pool || pools[0] || ""} onValue={setPool} options={pools} />
      <SelectField label="Level" value={level} onValue={(v) => setLevel(v === "view" ? "view" : "connect")} options={LEVELS} />
      {level === "connect" && (
        <TextField
          label="Targets (optional)"
          value={targets}
          onValue={setTargets}
          autoComplete="off"
          autoCapitalize="none"
          spellcheck={false}
          hint={
            "Leave empty to allow each device's LAN ranges. Otherwise entries separated by spaces, each host[:port,port…]: " +
            "e.g. 10.0.0.5:502,8080 10.0.1.0/24"
          }
        />
      )}
      <Alert message={action.error} />
      <button type="submit" class="primary" disabled={action.busy}>
        Add rule
      </button>
    </form>
  );
}

/** Access rules: which group may view or connect to which pool (and optionally only some targets). */
export function AccessRulesPage() {
  useTitle("Access rules");
  const rules = useResource((signal) => call<AccessRuleInfo[]>(API.accessRules, { signal }), []);
  const names = useResource(async (signal) => {
    const [groups, pools] = await Promise.all([call<GroupInfo[]>(API.groups, { signal }), call<PoolInfo[]>(API.pools, { signal })]);
    return { groups: groups.map((g) => g.name), pools: pools.map((p) => p.name) };
  }, []);
  const [confirm, dialog] = useConfirm();
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();

  const remove = async (r: AccessRuleInfo): Promise<void> => {
    if (!(await confirm(`Remove the rule of group ${r.group} on pool ${r.pool}? Live connections that relied on it end.`))) return;
    await action.run(async () => {
      await call(path(API.accessRule, { group: r.group, pool: r.pool }), { method: "DELETE" });
      setDone(`Rule of ${r.group} on ${r.pool} removed.`);
      rules.reload();
    });
  };

  return (
    <>
      <PageHeading>Access rules</PageHeading>
      <Alert message={rules.error ?? names.error ?? action.error} />
      <Status>{done}</Status>
      {rules.data && (
        <Table
          caption="Access rules of the account"
          head={["Group", "Pool", "Level", "Targets", "Created", "Actions"]}
          empty={rules.data.length === 0 && "No rules: members see no devices."}
        >
          {rules.data.map((r) => (
            <tr key={`${r.group}/${r.pool}`}>
              <td>{r.group}</td>
              <td>{r.pool}</td>
              <td>{r.level}</td>
              <td class="wrap">{r.level === "view" ? "" : r.targets ? r.targets.join(" ") : "the devices' LAN ranges"}</td>
              <td>
                <Time iso={r.createdAt} />
              </td>
              <td class="actions">
                <button
                  type="button"
                  class="danger"
                  onClick={() => void remove(r)}
                  disabled={action.busy}
                  aria-label={`Remove rule of ${r.group} on ${r.pool}`}
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      {names.data && (
        <AddRuleForm
          groups={names.data.groups}
          pools={names.data.pools}
          onAdded={(r) => {
            setDone(`Group ${r.group} may now ${r.level === "view" ? "view" : "connect to"} pool ${r.pool}.`);
            rules.reload();
          }}
        />
      )}
      {dialog}
    </>
  );
}
