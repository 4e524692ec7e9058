import { useState } from "preact/hooks";
import type { UserAddRequest, UserInfo } from "../../../protocol/api-users.js";
import { call, path } from "../api.js";
import { Alert, PageHeading, SelectField, Status, Table, TextField, Time, useConfirm } from "../components.js";
import { useAction, useResource, useTitle } from "../hooks.js";
import { API } from "../routes.js";
import { ResetPasswordForm } from "./reset-password.js";
import { SessionsTable } from "./sessions.js";

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

/**
 * Users of the account: list, add with an initial password, lock and unlock, reset a password or
 * the one-time codes, change a role, delete; and the account's live sessions, each to end.
 */
export function UsersPage() {
  useTitle("Users");
  const users = useResource((signal) => call<UserInfo[]>(API.users, { signal }), []);
  const [confirm, dialog] = useConfirm();
  const [done, setDone] = useState<string | null>(null);
  const [resetFor, setResetFor] = useState<string | null>(null);
  // Locking or resetting ends sessions: the sessions table loads again after each change.
  const [changes, setChanges] = useState(0);
  const action = useAction();

  /** POSTs to a user's route, then says what was done and loads both tables again. */
  const post = (route: string, name: string, text: string, body?: unknown): Promise<boolean> =>
    action.run(async () => {
      await call<UserInfo>(path(route, { name }), { method: "POST", ...(body === undefined ? {} : { body }) });
      setDone(text);
      users.reload();
      setChanges((n) => n + 1);
    });
  const unlock = (name: string): void => void post(API.userUnlock, name, `User ${name} unlocked.`);
  const lock = async (name: string): Promise<void> => {
    if (!(await confirm(`Lock user ${name}? Their sessions end, their live connections are cut and they cannot sign in until unlocked.`))) return;
    await post(API.userLock, name, `User ${name} locked.`);
  };
  const resetOtp = async (name: string): Promise<void> => {
    if (!(await confirm(`Remove the one-time codes of ${name}? They set up an authenticator app again.`))) return;
    await post(API.userResetOtp, name, `One-time codes of ${name} removed.`);
  };
  const changeRole = (name: string, role: UserInfo["role"]): void => void post(API.userRole, name, `User ${name} is now ${role}.`, { role });
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
                {u.adminLocked ? (
                  "by an admin"
                ) : u.locked ? (
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
              <td>{u.mustChangePassword ? "reset, must change" : <Time iso={u.passwordChangedAt} never="never" />}</td>
              <td class="actions">
                {u.locked || u.adminLocked ? (
                  <button type="button" onClick={() => unlock(u.name)} disabled={action.busy} aria-label={`Unlock ${u.name}`}>
                    Unlock
                  </button>
                ) : (
                  <button type="button" onClick={() => void lock(u.name)} disabled={action.busy} aria-label={`Lock ${u.name}`}>
                    Lock
                  </button>
                )}
                <button type="button" onClick={() => setResetFor(u.name)} disabled={action.busy} aria-label={`Reset password of ${u.name}`}>
                  Reset password
                </button>
                {u.otpEnabled && (
                  <button type="button" onClick={() => void resetOtp(u.name)} disabled={action.busy} aria-label={`Reset one-time code of ${u.name}`}>
                    Reset one-time code
                  </button>
                )}
                <button
                  type="button"
                  onClick={() => changeRole(u.name, u.role === "admin" ? "member" : "admin")}
                  disabled={action.busy}
                  aria-label={u.role === "admin" ? `Make member: ${u.name}` : `Make admin: ${u.name}`}
                >
                  {u.role === "admin" ? "Make member" : "Make admin"}
                </button>
                <button type="button" class="danger" onClick={() => void remove(u.name)} disabled={action.busy} aria-label={`Delete ${u.name}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      {resetFor !== null && (
        <ResetPasswordForm
          key={resetFor}
          name={resetFor}
          onCancel={() => setResetFor(null)}
          onDone={() => {
            setDone(`Password of ${resetFor} reset; they must change it when they next sign in.`);
            setResetFor(null);
            users.reload();
            setChanges((n) => n + 1);
          }}
        />
      )}
      <AddUserForm
        onAdded={(name) => {
          setDone(`User ${name} created.`);
          users.reload();
        }}
      />
      <SessionsTable reloadKey={changes} onEnded={setDone} />
      {dialog}
    </>
  );
}
