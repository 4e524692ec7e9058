/** The storage layer: open a database, then call the repository functions with `store.db`. */

export * from "./accounts.js";
export * from "./activation-keys.js";
export * from "./audit.js";
export * from "./certificates.js";
export * from "./devices.js";
export type { OpenDatabaseOptions } from "./dialects.js";
export { openDatabase } from "./dialects.js";
export type * from "./schema.js";
export * from "./sessions.js";
export type { Store, StoreDialect } from "./store.js";
export { DatabaseUnavailableError } from "./store.js";
export type { Instant } from "./time.js";
export { inTransaction } from "./transaction.js";
export * from "./users.js";
