import { useState } from "preact/hooks";
import type { GroupInfo, MembershipChange, NamedAddRequest, PoolInfo, RemovedReply } from "../../../protocol/api-access.js";
import { call, path } from "../api.js";
import { Alert, PageHeading, SelectField, Status, TextField, Time, useConfirm } from "../components.js";
import { capitalize } from "../format.js";
import { useAction, useResource, useTitle } from "../hooks.js";

type Item = GroupInfo | PoolInfo;

/** The words and routes that make the shared page a Groups page or a Pools page. */
export interface CollectionKind<T extends Item> {
  title: string;
  noun: string;
  memberNoun: string;
  listRoute: string;
  itemRoute: string;
  changeRoute: string;
  /** Where the names that can be added come from. */
  candidatesRoute: string;
  members: (item: T) => string[];
}

function ItemSection<T extends Item>({
  kind,
  item,
  candidates,
  onChanged,
  confirm,
}: {
  kind: CollectionKind<T>;
  item: T;
  candidates: string[];
  onChanged: (msg: string) => void;
  confirm: (text: string) => Promise<boolean>;
}) {
  const members = kind.members(item);
  const addable = candidates.filter((c) => !members.includes(c));
  const [pick, setPick] = useState("");
  const action = useAction();
  const headingId = `${kind.noun}-${item.name}`;
  const change = (body: MembershipChange, msg: string): Promise<boolean> =>
    action.run(async () => {
      await call<T>(path(kind.changeRoute, { name: item.name }), { method: "POST", body });
      onChanged(msg);
    });
  const add = (e: Event): void => {
    e.preventDefault();
    const name = pick || addable[0];
    if (name) void change({ add: [name], remove: [] }, `${name} added to ${item.name}.`).then((ok) => ok && setPick(""));
  };
  const remove = async (): Promise<void> => {
    if (!(await confirm(`Delete ${kind.noun} ${item.name}? Its access rules go with it, and live connections that relied on them end.`))) return;
    await action.run(async () => {
      const reply = await call<RemovedReply>(path(kind.itemRoute, { name: item.name }), { method: "DELETE" });
      onChanged(`${capitalize(kind.noun)} ${item.name} deleted with ${reply.rulesRemoved} access rule(s).`);
    });
  };

  return (
    <section class="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{item.name}</h2>
      <p class="muted">
        Created <Time iso={item.createdAt} />
      </p>
      {members.length === 0 ? (
        <p>No {kind.memberNoun}s yet.</p>
      ) : (
        <ul class="members" aria-label={`${capitalize(kind.memberNoun)}s of ${item.name}`}>
          {members.map((m) => (
            <li key={m}>
              <span>{m}</span>
              <button
                type="button"
                onClick={() => void change({ add: [], remove: [m] }, `${m} removed from ${item.name}.`)}
                disabled={action.busy}
                aria-label={`Remove ${m} from ${item.name}`}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {addable.length > 0 && (
        <form class="inline" onSubmit={add}>
          <SelectField label={`${capitalize(kind.memberNoun)} to add to ${item.name}`} value={pick || addable[0] || ""} onValue={setPick} options={addable} />
          <button type="submit" disabled={action.busy}>
            Add {kind.memberNoun}
          </button>
        </form>
      )}
      <Alert message={action.error} />
      <button type="button" class="danger" onClick={() => void remove()} disabled={action.busy}>
        Delete {kind.noun}
      </button>
    </section>
  );
}

/** Groups (of users) and pools (of devices) share one page shape: create, delete, change members. */
export function CollectionPage<T extends Item>({ kind }: { kind: CollectionKind<T> }) {
  useTitle(kind.title);
  const items = useResource((signal) => call<T[]>(kind.listRoute, { signal }), [kind.listRoute]);
  const candidates = useResource(
    async (signal) => (await call<{ name: string }[]>(kind.candidatesRoute, { signal })).map((c) => c.name),
    [kind.candidatesRoute],
  );
  const [name, setName] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const [confirm, dialog] = useConfirm();
  const action = useAction();
  const label = `${capitalize(kind.noun)} name`;

  const create = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      const body: NamedAddRequest = { name: name.trim() };
      const added = await call<T>(kind.listRoute, { method: "POST", body });
      setName("");
      setDone(`${capitalize(kind.noun)} ${added.name} created.`);
      items.reload();
    });
  };
  const changed = (msg: string): void => {
    setDone(msg);
    items.reload();
  };

  return (
    <>
      <PageHeading>{kind.title}</PageHeading>
      <Alert message={items.error ?? candidates.error} />
      <Status>{done}</Status>
      <form onSubmit={create} class="card inline" aria-labelledby={`create-${kind.noun}`}>
        <h2 id={`create-${kind.noun}`} class="visually-hidden">
          Create a {kind.noun}
        </h2>
        <TextField label={label} value={name} onValue={setName} required autoComplete="off" autoCapitalize="none" spellcheck={false} />
        <button type="submit" class="primary" disabled={action.busy}>
          Create {kind.noun}
        </button>
        <Alert message={action.error} />
      </form>
      {items.data && items.data.length === 0 && <p>No {kind.noun}s yet.</p>}
      {items.data?.map((item) => (
        <ItemSection key={item.name} kind={kind} item={item} candidates={candidates.data ?? []} onChanged={changed} confirm={confirm} />
      ))}
      {dialog}
    </>
  );
}
