import { join, resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../protocol/errors.js";
import { VERSION } from "../../shared/version.js";

interface BackupFlags {
  data: string;
  db?: string;
  clusterKey?: string;
  force?: boolean;
  pgDump?: boolean;
}

/** `postgres://user@host:port/db` and the schema of a --db URL, for the pg_dump/pg_restore hint; never the password. */
function pgTarget(text: string): { url: string; schema: string } {
  try {
    const url = new URL(text);
    const user = url.username === "" ? "" : `${url.username}@`;
    return { url: `${url.protocol}//${user}${url.host}${url.pathname}`, schema: url.searchParams.get("schema") ?? "public" };
  } catch {
    return { url: "postgres://USER@HOST:PORT/DB", schema: "public" };
  }
}

/** `fernlink server backup` and `fernlink server restore`, below the `server` command. */
export function registerBackupCommands(server: Command): void {
  // The server's own --data and --db would otherwise take the subcommands' flags.
  server.enablePositionalOptions();
  server
    .command("backup")
    .description("write the server's database (SQLite, online) and every key of its data directory into one file (mode 0600: it holds private keys)")
    .argument("<file>", "the backup file to write (.tar.gz); an existing one is kept unless --force")
    .requiredOption("--data <dir>", "the server's data directory")
    .option("--db <url>", "postgres://…?schema=NAME of the server: the file then holds the keys only; back the database up with pg_dump")
    .option("--cluster-key <file>", "with --db: the cluster key file, when not DIR/cluster-key (or the file FERNLINK_CLUSTER_KEY names)")
    .option("--pg-dump", "with --db: include a pg_dump of the schema (needs pg_dump on PATH; the password goes to it in PGPASSWORD)")
    .option("--force", "replace FILE if it exists")
    .action(async (file: string, flags: BackupFlags) => {
      const { createBackup } = await import("../../access/backup/create-backup.js");
      const db = flags.db ?? process.env["FERNLINK_DB"];
      const clusterKeyFile = flags.clusterKey ?? (process.env["FERNLINK_CLUSTER_KEY"] || undefined);
      if (flags.pgDump && !db) throw new UsageError("--pg-dump goes with --db postgres://… (or FERNLINK_DB): SQLite's database is always in the backup");
      const { manifest, skipped } = await createBackup({
        dataDir: flags.data,
        file,
        force: flags.force === true,
        postgres: db === undefined || db === "" ? undefined : { url: db, clusterKeyFile, dump: flags.pgDump === true },
        version: VERSION,
        now: new Date(),
      });
      if (skipped.length > 0) process.stderr.write(`fernlink: left out of the backup (not plain files): ${skipped.join(", ")}\n`);
      const names = manifest.files.map((f) => f.name).join(", ");
      process.stdout.write(`backup written: ${resolve(file)} (${manifest.store.kind}, migration ${manifest.store.migration ?? "-"}; ${names})\n`);
      if (manifest.store.kind === "postgres" && db && !flags.pgDump) {
        const target = pgTarget(db);
        process.stderr.write(
          `fernlink: ${file} holds the keys only; back up the database too: pg_dump --format=custom --schema=${target.schema} ` +
            `--file=fernlink-${target.schema}.pgdump ${target.url} (password in PGPASSWORD)\n`,
        );
      }
    });
  server
    .command("restore")
    .description("restore a backup file into a new or empty data directory (checked in full before anything is written)")
    .argument("<file>", "the backup file written by fernlink server backup")
    .requiredOption("--data <dir>", "the new data directory: missing or empty")
    .option("--db <url>", "postgres://…?schema=NAME to pg_restore the backup's pg_dump into (the schema must not exist yet)")
    .action(async (file: string, flags: { data: string; db?: string }) => {
      const { restoreBackup } = await import("../../access/backup/restore-backup.js");
      const { PG_DUMP_ENTRY } = await import("../../access/backup/manifest.js");
      const db = flags.db ?? (process.env["FERNLINK_DB"] || undefined);
      const manifest = await restoreBackup({ dataDir: flags.data, file, postgresUrl: db });
      const { store } = manifest;
      const dump = manifest.files.some((f) => f.name === PG_DUMP_ENTRY);
      process.stdout.write(
        `restored ${resolve(file)} (written ${manifest.createdAt} by Fernlink ${manifest.fernlink}) into ${resolve(flags.data)}${
          dump && db ? `, and its database into schema "${store.kind === "postgres" ? store.schema : ""}"` : ""
        }; start it with: fernlink server --data ${flags.data}${store.kind === "postgres" ? " --db URL" : ""}\n`,
      );
      if (store.kind === "postgres" && !(dump && db)) {
        const where = dump ? join(flags.data, PG_DUMP_ENTRY) : `fernlink-${store.schema}.pgdump`;
        process.stderr.write(
          `fernlink: the database is not restored: pg_restore --single-transaction --dbname=postgres://USER@HOST:PORT/DB ${where} (schema ` +
            `"${store.schema}", migration ${store.migration ?? "-"})${dump ? ", then remove that file; or restore with --db URL" : ""}\n`,
        );
      }
    });
}
