import type { Command, Option } from "commander";
import { commandPath } from "./help-text.js";

/** One option's value taken from a config file, held as commander would hold the flag's. */
export interface ConfigAssignment {
  /** The key as written in the file (the long flag without `--`). */
  key: string;
  /** Commander's attribute name (`metrics-listen` → `metricsListen`, `no-relay` → `relay`). */
  attribute: string;
  value: unknown;
}

/** Where each secret comes from instead of a file, by the key a user would reach for. */
const SECRET_SOURCES: Readonly<Record<string, string>> = {
  password: "FERNLINK_PASSWORD (or the prompt)",
  "new-password": "FERNLINK_NEW_PASSWORD (or the prompt)",
  "proxy-password": "FERNLINK_PROXY_PASSWORD",
  "activation-key": "FERNLINK_ACTIVATION_KEY",
  "relay-key": "FERNLINK_RELAY_KEY",
  otp: "the --otp flag at the moment of use (a code is good for 30 s)",
  "cluster-key-text": "the file --cluster-key names",
};

/** Flags that carry a secret themselves: accepted on the command line only, as their help says. */
const SECRET_FLAGS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "agent register": { key: "FERNLINK_ACTIVATION_KEY" },
  "relay run": { key: "FERNLINK_RELAY_KEY" },
};

/** A key that names a secret although no flag of the command takes it. */
const SECRET_LOOKING = /(^|-)(password|passwd|secret|token|otp|private-key|activation-key|api-key)$/;

/** Where the secret of `key` comes from instead, when the key is one; undefined otherwise. */
function secretSource(command: Command, key: string): string | undefined {
  const flagged = SECRET_FLAGS[commandPath(command)]?.[key];
  if (flagged) return flagged;
  if (command.options.some((o) => o.long === `--${key}`)) return undefined;
  if (SECRET_SOURCES[key]) return SECRET_SOURCES[key];
  return SECRET_LOOKING.test(key) ? "its environment variable or the prompt (see --help)" : undefined;
}

/** Whether a string is a URL with a password in it (postgres://u:p@…, http://u:p@proxy…). */
function hasUrlPassword(text: string): boolean {
  try {
    return new URL(text).password !== "";
  } catch {
    return false;
  }
}

/** TOML's name for a value's type, for messages. */
function typeName(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  return `a ${typeof value}`;
}

/** A repeatable flag: commander collects it into a list that starts empty. */
function isRepeatable(option: Option): boolean {
  return option.parseArg !== undefined && Array.isArray(option.defaultValue);
}

/** A scalar the way it would be typed after the flag: strings as they are, numbers in decimal. */
function flagText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "bigint") return String(value);
  return undefined;
}

/** Runs the flag's own parser, so a file value is checked exactly as a typed one. */
function parsed(option: Option, text: string, previous: unknown): unknown {
  return option.parseArg ? option.parseArg(text, previous) : text;
}

/** The value `raw` gives `option`, or the reason it cannot. */
function optionValue(option: Option, raw: unknown): { value: unknown } | { problem: string } {
  // A switch or its --no- form (commander's isBoolean() is false for the latter).
  if (!option.required && !option.optional) {
    if (typeof raw !== "boolean") return { problem: `must be true or false, not ${typeName(raw)}` };
    return { value: option.negate ? !raw : raw };
  }
  if (isRepeatable(option)) {
    const items = Array.isArray(raw) ? raw.map(flagText) : undefined;
    if (!items || items.some((i) => i === undefined))
      return { problem: `is repeatable: give an array of strings, e.g. ${option.long!.slice(2)} = ["…", "…"], not ${typeName(raw)}` };
    let value: unknown = [...(option.defaultValue as unknown[])];
    for (const item of items) value = parsed(option, item!, value);
    return { value };
  }
  const text = flagText(raw);
  if (text === undefined) return { problem: `must be a string, not ${typeName(raw)}` };
  return { value: parsed(option, text, option.defaultValue) };
}

/**
 * Maps a config file's top-level table onto `command`'s options: every key is a long flag
 * without `--`. Returns the assignments, or every problem found (each naming its key).
 */
export function configAssignments(command: Command, table: Record<string, unknown>): { assignments: ConfigAssignment[]; problems: string[] } {
  const assignments: ConfigAssignment[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const [key, raw] of Object.entries(table)) {
    const secret = secretSource(command, key);
    if (secret) {
      problems.push(`key "${key}" holds a secret, and secrets stay out of config files as out of the command line: give it in ${secret}`);
      continue;
    }
    const values = Array.isArray(raw) ? raw : [raw];
    if (values.some((v) => typeof v === "string" && hasUrlPassword(v))) {
      problems.push(`key "${key}" has a password in its URL: leave it out and give it in the environment (PGPASSWORD, FERNLINK_PROXY_PASSWORD)`);
      continue;
    }
    const option = key === "config" ? undefined : command.options.find((o) => o.long === `--${key}`);
    if (!option) {
      problems.push(
        `unknown key "${key}" for fernlink ${commandPath(command)}: the keys are its long flags without "--" (see fernlink ${commandPath(command)} --help)`,
      );
      continue;
    }
    const attribute = option.attributeName();
    const twin = seen.get(attribute);
    if (twin !== undefined) {
      problems.push(`keys "${twin}" and "${key}" set the same thing; keep one`);
      continue;
    }
    seen.set(attribute, key);
    try {
      const result = optionValue(option, raw);
      if ("problem" in result) problems.push(`key "${key}" ${result.problem}`);
      else assignments.push({ key, attribute, value: result.value });
    } catch (err) {
      problems.push(`key "${key}": ${(err as Error).message.replace(/^error: /, "")}`);
    }
  }
  return { assignments, problems };
}
