import { type Kysely, sql } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * Device names are unique within an account regardless of case: `Press-7` and `press-7`
 * would be one machine to the people typing them. Names are ASCII (NameSchema), where
 * SQLite's and PostgreSQL's lower() agree.
 */
export async function up(db: AnyDb): Promise<void> {
  const clash = await sql<{ name: string }>`
    select min(name) as name from devices group by account_id, lower(name) having count(*) > 1`.execute(db);
  const first = clash.rows[0];
  if (first) throw new Error(`device names that differ only in case exist (e.g. "${first.name}"); remove one of each pair with an older version, then upgrade`);
  await sql`create unique index devices_account_id_lower_name_key on devices (account_id, lower(name))`.execute(db);
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex("devices_account_id_lower_name_key").execute();
}
