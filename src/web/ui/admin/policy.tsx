import { useEffect, useState } from "preact/hooks";
import type { AccountPolicy, AccountPolicyUpdate, POLICY_LIMITS } from "../../../protocol/api-users.js";
import { call } from "../api.js";
import { Alert, CheckField, PageHeading, Status, TextField } from "../components.js";
import { useAction, useResource, useTitle } from "../hooks.js";
import { API } from "../routes.js";

type Limits = typeof POLICY_LIMITS;

/** The policy bounds, repeated because api-users.ts also holds zod schemas; tsc keeps them equal. */
const LIMITS = {
  minLength: { min: 8, max: 128 },
  maxAgeDays: { min: 1, max: 3650 },
  history: { min: 0, max: 24 },
  lockoutAfter: { min: 1, max: 100 },
} as const satisfies Limits;

interface Draft {
  minLength: string;
  maxAgeDays: string;
  history: string;
  lockoutAfter: string;
  requireOtp: boolean;
  requireReason: boolean;
}

function draftOf(p: AccountPolicy): Draft {
  return {
    minLength: String(p.minLength),
    maxAgeDays: p.maxAgeDays === null ? "" : String(p.maxAgeDays),
    history: String(p.history),
    lockoutAfter: String(p.lockoutAfter),
    requireOtp: p.requireOtp,
    requireReason: p.requireReason,
  };
}

function whole(label: string, text: string, key: keyof Limits): number {
  const n = Number(text);
  const { min, max } = LIMITS[key];
  if (text.trim() === "" || !Number.isInteger(n) || n < min || n > max)
    throw new Error(`${label} must be a whole number from ${min} to ${max}; "${text}" is not.`);
  return n;
}

/** The account policy: password rules, lockout and the one-time code requirement. */
export function PolicyPage() {
  useTitle("Account policy");
  const policy = useResource((signal) => call<AccountPolicy>(API.policy, { signal }), []);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();
  useEffect(() => {
    if (policy.data) setDraft(draftOf(policy.data));
  }, [policy.data]);

  const set =
    <K extends keyof Draft>(key: K) =>
    (value: Draft[K]): void =>
      setDraft((d) => (d ? { ...d, [key]: value } : d));
  const submit = (e: Event): void => {
    e.preventDefault();
    if (!draft) return;
    setDone(null);
    void action.run(async () => {
      const body: AccountPolicyUpdate = {
        minLength: whole("Minimum password length", draft.minLength, "minLength"),
        maxAgeDays: draft.maxAgeDays.trim() === "" ? null : whole("Password expiry", draft.maxAgeDays, "maxAgeDays"),
        history: whole("Passwords remembered", draft.history, "history"),
        lockoutAfter: whole("Lock after failed sign-ins", draft.lockoutAfter, "lockoutAfter"),
        requireOtp: draft.requireOtp,
        requireReason: draft.requireReason,
      };
      const saved = await call<AccountPolicy>(API.policy, { method: "POST", body });
      setDraft(draftOf(saved));
      setDone("Policy saved.");
    });
  };

  return (
    <>
      <PageHeading>Account policy</PageHeading>
      <Alert message={policy.error} />
      {draft && (
        <form onSubmit={submit} class="card">
          <TextField
            label="Minimum password length"
            type="number"
            inputMode="numeric"
            min={LIMITS.minLength.min}
            max={LIMITS.minLength.max}
            value={draft.minLength}
            onValue={set("minLength")}
            required
          />
          <TextField
            label="Password expiry in days"
            type="number"
            inputMode="numeric"
            min={LIMITS.maxAgeDays.min}
            max={LIMITS.maxAgeDays.max}
            value={draft.maxAgeDays}
            onValue={set("maxAgeDays")}
            hint="Leave empty: passwords never expire."
          />
          <TextField
            label="Passwords remembered"
            type="number"
            inputMode="numeric"
            min={LIMITS.history.min}
            max={LIMITS.history.max}
            value={draft.history}
            onValue={set("history")}
            required
            hint="A new password may not be one of this many earlier ones."
          />
          <TextField
            label="Lock after failed sign-ins"
            type="number"
            inputMode="numeric"
            min={LIMITS.lockoutAfter.min}
            max={LIMITS.lockoutAfter.max}
            value={draft.lockoutAfter}
            onValue={set("lockoutAfter")}
            required
          />
          <CheckField label="Require one-time codes" checked={draft.requireOtp} onChecked={set("requireOtp")} />
          <CheckField label="Require a reason for every connection" checked={draft.requireReason} onChecked={set("requireReason")} />
          <Alert message={action.error} />
          <Status>{done}</Status>
          <button type="submit" class="primary" disabled={action.busy}>
            Save policy
          </button>
        </form>
      )}
    </>
  );
}
