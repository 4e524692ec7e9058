import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { StoreDialect } from "./store.js";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/** The audit columns, old and new, in table order. */
const KEPT = [
  "id",
  "at",
  "account_id",
  "actor",
  "source",
  "action",
  "object",
  "result",
  "reason",
  "device",
  "target",
  "ended_at",
  "bytes_up",
  "bytes_down",
  "started_at",
  "prev_hash",
  "hash",
] as const;

/**
 * Per-account audit numbering and aggregated refusals. The audit table is rebuilt: `seq` counts
 * 1, 2, 3 … within each chain instead of across the database (whose numbers told every account
 * how busy the others were), `count` holds how many refusals an aggregated record stands for,
 * and `legacy_seq` keeps the database-wide seq of every existing record, which its hash covers:
 * no hash is recomputed, so the migration needs no key and existing chains verify unchanged.
 */
export async function up(db: AnyDb, dialect: StoreDialect): Promise<void> {
  // PostgreSQL runs each migration in a transaction; Kysely does not on SQLite, whose DDL is
  // transactional too: a crash halfway must not leave the audit half rebuilt.
  if (dialect === "sqlite") await db.transaction().execute((trx) => rebuild(trx, dialect));
  else await rebuild(db, dialect);
}

async function rebuild(db: AnyDb, dialect: StoreDialect): Promise<void> {
  const big = dialect === "postgres" ? "bigint" : "integer";
  const kept = sql.join(KEPT.map((c) => sql.ref(c)));

  // A plain copy first: PostgreSQL would not let the new table take the old one's constraint names.
  await sql`create table audit_0005 as select ${kept}, row_number() over (partition by account_id order by seq) as seq, seq as legacy_seq from audit`.execute(
    db,
  );
  await db.schema.dropTable("audit").execute();

  await db.schema
    .createTable("audit")
    .addColumn("seq", big, (c) => c.notNull())
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("account_id", "text")
    .addColumn("actor", "text")
    .addColumn("source", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("object", "text")
    .addColumn("result", "text", (c) => c.notNull().check(sql`result in ('ok', 'denied', 'error')`))
    .addColumn("reason", "text")
    .addColumn("device", "text")
    .addColumn("target", "text")
    .addColumn("ended_at", "text")
    .addColumn("bytes_up", "bigint")
    .addColumn("bytes_down", "bigint")
    .addColumn("started_at", "text")
    .addColumn("prev_hash", "text")
    .addColumn("hash", "text")
    .addColumn("count", big, (c) => c.check(sql`count > 1`))
    .addColumn("legacy_seq", big)
    .execute();
  await sql`insert into audit (seq, ${kept}, legacy_seq) select seq, ${kept}, legacy_seq from audit_0005`.execute(db);
  await db.schema.dropTable("audit_0005").execute();

  // One number per record in each chain; the system chain's records have no account.
  await sql`create unique index audit_chain_seq_key on audit ((coalesce(account_id, '')), seq)`.execute(db);
  await db.schema.createIndex("audit_account_id_seq_idx").on("audit").columns(["account_id", "seq"]).execute();

  // Each head names its newest record by the new number. A head past the last record left
  // (the newest records were deleted) stays past it, so verify still reports them missing.
  const inChain = (alias: string) =>
    sql`((audit_heads.chain = 'system' and ${sql.ref(`${alias}.account_id`)} is null) or ${sql.ref(`${alias}.account_id`)} = audit_heads.chain)`;
  await sql`
    update audit_heads set seq =
      (select count(*) from audit a where ${inChain("a")} and a.legacy_seq <= audit_heads.seq)
      + (case when exists (select 1 from audit b where ${inChain("b")} and b.legacy_seq = audit_heads.seq) then 0 else 1 end)
    where seq > 0`.execute(db);
}

/**
 * Refuses: the database-wide numbering cannot come back without renumbering every account's
 * records, and an earlier version could then neither write nor verify the audit.
 */
export async function down(): Promise<void> {
  throw new Error("migration 0005 (per-account audit numbering) cannot be undone; restore a backup taken before it instead");
}
