import { dictionary } from "@zxcvbn-ts/language-common";

/**
 * The 49 233 most common passwords of Mark Burnett's ten-million-password corpus (xato.net),
 * lower-cased, as the zxcvbn-ts project ships them in @zxcvbn-ts/language-common
 * (dictionary "passwords-common"). Built on first use: most processes never set a password.
 */
let common: ReadonlySet<string> | undefined;

/** True when `password` is on the common-password list, compared case-insensitively. */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(dictionary["passwords-common"].map((p) => p.toLowerCase()));
  return common.has(password.toLowerCase());
}
