import { type DatabaseIntrospector, type DatabaseMetadata, type Kysely, type SchemaMetadata, sql, type TableMetadata } from "kysely";

/**
 * What Kysely's migrator asks about the database (does the schema exist, does the migration
 * table), answered for Fernlink's own schema only. Kysely's own PostgreSQL introspector lists
 * the tables of every schema with functions that fail with "schema … does not exist" when
 * another schema is dropped meanwhile: on a shared server that failed our migrations.
 * Tables are listed by name; their columns are not needed and not read.
 */
export class SchemaIntrospector implements DatabaseIntrospector {
  constructor(
    private readonly db: Kysely<unknown>,
    private readonly schema: string,
  ) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace`.execute(this.db);
    return rows;
  }

  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; kind: string }>`
      select c.relname as name, c.relkind as kind
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${this.schema} and c.relkind in ('r', 'p', 'v', 'm')
    `.execute(this.db);
    return rows.map((r) => ({ name: r.name, schema: this.schema, isView: r.kind === "v" || r.kind === "m", columns: [] }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}
