/** The storage layer: open a database, then call the repository functions with `store.db`. */
export type * from "./schema.js";
export { DatabaseUnavailableError } from "./store.js";
export type { Store, StoreDialect } from "./store.js";
export { openDatabase } from "./dialects.js";
export type { OpenDatabaseOptions } from "./dialects.js";
export { inTransaction } from "./transaction.js";
export type { Instant } from "./time.js";
export * from "./accounts.js";
export * from "./users.js";
export * from "./sessions.js";
export * from "./devices.js";
export * from "./activation-keys.js";
export * from "./certificates.js";
export * from "./audit.js";
