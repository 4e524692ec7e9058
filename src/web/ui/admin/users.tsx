import { useState } from "preact/hooks";
import type { UserAddRequest, UserInfo } from "../../../protocol/api-users.js";
import { call, path } from "../api.js";
import { Alert, PageHeading, SelectField, Status, Table, TextField, Time, useConfirm } from "../components.js";
import { useAction, useResource, useTitle } from "../hooks.js";
import { API } from "../routes.js";

const ROLES = [
  { value: "member", label: "member" },
  { value: "admin", label: "admin" },
] as const;

function AddUserForm({ onAdded }: { onAdded: (name: string) => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<UserAddRequest["role"]>("member");
  const [password, setPassword] = useState("");
  const action = useAction();
  const submit = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      const body: UserAddRequest = { name: name.trim(), role, password };
      const added = await call<UserInfo>(API.users, { method: "POST", body });
      setName("");
      setPassword("");
      setRole("member");
      onAdded(added.name);
    });
  };
  return (
    <form onSubmit={submit} class="card" aria-labelledby="add-user">
      <h2 id="add-user">Add a user</h2>
      <TextField label="Name" value={name} onValue={setName} required autoComplete="off" autoCapitalize="none" spellcheck={false} />
      <SelectField label="Role" value={role} onValue={(v) => setRole(v === "admin" ? "admin" : "member")} options={ROLES} />
      <TextField
        label="Initial password"
        type="password"
        value={password}
        onValue={setPassword}
        required
        autoComplete="new-password"
        hint="The account policy sets the minimum length; the user should change it after signing in."
      />
      <Alert message={action.error} />
      <button type="submit" class="primary" disabled={action.busy}>
        Create user
      </button>
    </form>
  );
}

/** Users of the account: list, add with an initial password, unlock, delete. */
export function UsersPage() {
  useTitle("Users");
  const users = useResource((signal) => call<UserInfo[]>(API.users, { signal }), []);
  const [confirm, dialog] = useConfirm();
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();

  const unlock = (name: string): void =>
    void action.run(async () => {
      await call<UserInfo>(path(API.userUnlock, { name }), { method: "POST" });
      setDone(`User ${name} unlocked.`);
      users.reload();
    });
  const remove = async (name: string): Promise<void> => {
    if (!(await confirm(`Delete user ${name}? Their sessions end, API tokens they made are revoked and their live connections are cut.`))) return;
    await action.run(async () => {
      await call(path(API.user, { name }), { method: "DELETE" });
      setDone(`User ${name} deleted.`);
      users.reload();
    });
  };

  return (
    <>
      <PageHeading>Users</PageHeading>
      <Alert message={users.error ?? action.error} />
      <Status>{done}</Status>
      {users.data && (
        <Table
          caption="Users of the account"
          head={["Name", "Role", "Locked", "One-time codes", "Created", "Password changed", "Actions"]}
          empty={users.data.length === 0 && "No users."}
        >
          {users.data.map((u) => (
            <tr key={u.name}>
              <th scope="row">{u.name}</th>
              <td>{u.role}</td>
              <td>
                {u.locked ? (
                  <>
                    until <Time iso={u.lockedUntil} />
                  </>
                ) : (
                  "no"
                )}
              </td>
              <td>{u.otpEnabled ? "on" : "off"}</td>
              <td>
                <Time iso={u.createdAt} />
              </td>
              <td>
                <Time iso={u.passwordChangedAt} never="never" />
              </td>
              <td class="actions">
                {u.locked && (
                  <button type="button" onClick={() => unlock(u.name)} disabled={action.busy} aria-label={`Unlock ${u.name}`}>
                    Unlock
                  </button>
                )}
                <button type="button" class="danger" onClick={() => void remove(u.name)} disabled={action.busy} aria-label={`Delete ${u.name}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <AddUserForm
        onAdded={(name) => {
          setDone(`User ${name} created.`);
          users.reload();
        }}
      />
      <p class="hint">A role is chosen when the user is added; it cannot be changed here.</p>
      {dialog}
    </>
  );
}
