/**
 * `refsync migrate [repo] --store NAME --path-prefix P`: move the literal
 * values of the repository's Secrets into a store defined in refsync.yaml
 * (the plugin's store definitions) and commit references on a new branch.
 * Output names files, objects, keys and backend paths, never a value.
 */
import { resolve } from "node:path";
import { parseCommandLine, processIO, runCommand, type CommandIO } from "./command-line.ts";
import { MigrateError, UsageError } from "../errors.ts";
import { migrate, type MigrateResult } from "../git/migrate.ts";
import { kubernetesSecretReader, loadKubeConfig } from "../providers/kubernetes/client.ts";
import { providerForSpec } from "../providers/registry.ts";
import { loadConfig } from "../render/config.ts";
import { storeClient } from "../render/provider-client.ts";
import { workTreeRoot } from "../git/history.ts";
import { auditFlagOptions, auditUsage, commandAuditor } from "./flags/audit.ts";
import { VERSION } from "./version.ts";

export const migrateUsage = `usage: refsync migrate [repo] --store NAME --path-prefix PREFIX [options]
  --store NAME          store (from refsync.yaml) to write the values to
  --path-prefix PREFIX  backend keys are PREFIX/<namespace>/<secret name>
  --config FILE         store definitions (default: REFSYNC_CONFIG, else refsync.yaml at the top of the work tree)
  --branch NAME         branch to commit to (default refsync/migrate)
  --dry-run             show what would move; write and commit nothing
  --no-checkout         leave the current branch checked out
  --format text|json    output format (default text)
${auditUsage}`;

function describe(result: MigrateResult, dryRun: boolean): string {
  if (!result.plan.length) return "nothing to migrate: no Secret holds a literal value\n";
  const lines = result.plan.map((p) => `${p.file}: ${p.object}: ${p.fields.join(", ")} -> ${p.key}`);
  lines.push(...result.writes.map((w) => `${w.outcome}: ${w.key}`));
  lines.push(...result.skipped.map((f) => `skipped (not valid YAML): ${f}`));
  lines.push(
    dryRun
      ? "dry run: nothing written"
      : `committed ${result.commit?.slice(0, 12) ?? ""} on branch ${result.branch ?? ""}`,
  );
  return lines.join("\n") + "\n";
}

export function migrateCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  return runCommand(
    "migrate",
    migrateUsage,
    io,
    async () => {
      const { values, positionals } = parseCommandLine(argv, {
        store: { type: "string" },
        "path-prefix": { type: "string" },
        config: { type: "string" },
        branch: { type: "string", default: "refsync/migrate" },
        "dry-run": { type: "boolean", default: false },
        checkout: { type: "boolean", default: true },
        format: { type: "string", default: "text" },
        ...auditFlagOptions,
      });
      if (positionals.length > 1) throw new UsageError("at most one repository path");
      if (!values.store || values["path-prefix"] === undefined) {
        throw new UsageError("--store and --path-prefix are required");
      }
      if (values.format !== "text" && values.format !== "json")
        throw new UsageError("--format must be text or json");
      const dir = await workTreeRoot(resolve(positionals[0] ?? "."));
      const config = await loadConfig(
        values.config ?? (process.env.REFSYNC_CONFIG || resolve(dir, "refsync.yaml")),
      );
      let auditor;
      try {
        auditor = commandAuditor(values, process.env, io.stderr, { component: "cli", version: VERSION });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      // Credentials in Kubernetes Secrets are read through the kubeconfig.
      const client = storeClient(
        config,
        values.store,
        () => Promise.resolve(kubernetesSecretReader(loadKubeConfig())),
        auditor && { auditor, subjects: [{ kind: "Repository", name: dir, branch: values.branch }] },
      );
      try {
        const provider = providerForSpec(config.stores[values.store]?.provider).factory.name;
        const result = await migrate({
          dir,
          store: values.store,
          provider,
          client,
          pathPrefix: values["path-prefix"],
          defaultStore: config.defaultStores[provider] === values.store,
          branch: values.branch,
          dryRun: values["dry-run"],
          checkout: values.checkout,
        });
        const text =
          values.format === "json"
            ? JSON.stringify(result, null, 2) + "\n"
            : describe(result, values["dry-run"]);
        io.stdout.write(text);
        return 0;
      } catch (err) {
        if (!(err instanceof MigrateError) || !err.writes.length) throw err;
        const writes = err.writes.map((w) => `  ${w.outcome}: ${w.key}`).join("\n");
        throw new Error(`${err.message}\nbackend writes made before the failure:\n${writes}`, { cause: err });
      } finally {
        await client.close();
        auditor?.close();
      }
    },
    argv,
  );
}
