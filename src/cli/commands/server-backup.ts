import { resolve } from "node:path";
import type { Command } from "commander";
import { VERSION } from "../../shared/version.js";

interface BackupFlags {
  data: string;
  db?: string;
  clusterKey?: string;
  force?: boolean;
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
    .option("--force", "replace FILE if it exists")
    .action(async (file: string, flags: BackupFlags) => {
      const { createBackup } = await import("../../access/backup/create-backup.js");
      const db = flags.db ?? process.env["FERNLINK_DB"];
      const clusterKeyFile = flags.clusterKey ?? (process.env["FERNLINK_CLUSTER_KEY"] || undefined);
      const { manifest, skipped } = await createBackup({
        dataDir: flags.data,
        file,
        force: flags.force === true,
        postgres: db === undefined || db === "" ? undefined : { url: db, clusterKeyFile },
        version: VERSION,
        now: new Date(),
      });
      if (skipped.length > 0) process.stderr.write(`fernlink: left out of the backup (not plain files): ${skipped.join(", ")}\n`);
      const names = manifest.files.map((f) => f.name).join(", ");
      process.stdout.write(`backup written: ${resolve(file)} (${manifest.store.kind}, migration ${manifest.store.migration ?? "-"}; ${names})\n`);
      if (manifest.store.kind === "postgres" && db) {
        const target = pgTarget(db);
        process.stderr.write(
          `fernlink: ${file} holds the keys only; back up the database too: pg_dump --format=custom --schema=${target.schema} --file=fernlink-${target.schema}.pgdump ${target.url} (password in PGPASSWORD)\n`,
        );
      }
    });
  server
    .command("restore")
    .description("restore a backup file into a new or empty data directory (checked in full before anything is written)")
    .argument("<file>", "the backup file written by fernlink server backup")
    .requiredOption("--data <dir>", "the new data directory: missing or empty")
    .action(async (file: string, flags: { data: string }) => {
      const { restoreBackup } = await import("../../access/backup/restore-backup.js");
      const manifest = await restoreBackup({ dataDir: flags.data, file });
      const { store } = manifest;
      process.stdout.write(
        `restored ${resolve(file)} (written ${manifest.createdAt} by Fernlink ${manifest.fernlink}) into ${resolve(flags.data)}; start it with: fernlink server --data ${flags.data}${store.kind === "postgres" ? " --db URL" : ""}\n`,
      );
      if (store.kind === "postgres") {
        process.stderr.write(
          `fernlink: the database is not in ${file}: restore its pg_dump first, e.g. pg_restore --dbname=postgres://USER@HOST:PORT/DB fernlink-${store.schema}.pgdump (schema "${store.schema}", migration ${store.migration ?? "-"})\n`,
        );
      }
    });
}
