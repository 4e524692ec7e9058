import { Option } from "commander";
import { NameSchema } from "../../protocol/api.js";
import { UsageError } from "../../protocol/errors.js";

/** Checks a user or token name given on the command line. */
export function checkedName(kind: string, name: string): string {
  const parsed = NameSchema.safeParse(name);
  if (!parsed.success) throw new UsageError(`${kind} name "${name}": ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return name;
}

/** The `--role` option: admin or member. */
export function roleOption(): Option {
  return new Option("--role <role>", "admin or member").choices(["admin", "member"]).default("member");
}

/** Parses a whole number flag within `limits`, or throws a usage error naming the flag. */
export function wholeNumber(flag: string, text: string, limits: { min: number; max: number }): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < limits.min || n > limits.max) {
    throw new UsageError(`${flag} "${text}" must be a whole number from ${limits.min} to ${limits.max}`);
  }
  return n;
}
