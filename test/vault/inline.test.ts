// The plugin's inline mode resolves ref+vault:// through the Vault provider, logging in with the
// sidecar's own projected service-account token (checked by the cluster's TokenReview), and only
// where the operator's policy allows the Argo CD project to read.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import { CONTROLLER_TOKEN_FILE_ENV } from "../../src/providers/vault/index.ts";
import type { PluginConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { verifyAudit, type ChainedRecord } from "../../src/store/audit.ts";
import { pluginIdentity, startVaultSuite, type VaultSuite } from "./setup.ts";
import { runRefsync, type RefsyncRun } from "../cli-process.ts";

const MANIFEST = `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: ref+vault://team-a/db#password
  url: postgres://app:ref+vault://team-a/db#password+@db:5432/app
`;

const REPO = join(import.meta.dirname, "..", "..");

/** `refsync <args>` in a child process, with only PATH and `env` in its environment. */
function refsync(args: string[], env: Record<string, string>): Promise<RefsyncRun> {
  return runRefsync(args, { cwd: REPO, env });
}

void describe("inline mode with the Vault provider", () => {
  let suite: VaultSuite;
  let dir: string;
  let config: PluginConfig;
  const requester = { project: "team-a", namespace: "team-a" };

  before(async () => {
    suite = await startVaultSuite();
    dir = await mkdtemp(join(tmpdir(), "refsync-vault-inline-"));
    config = await pluginIdentity(suite, await suite.cluster.createNamespace("vault-inline"), dir);
    suite.vault.root.putSecret("secret", "team-a/db", { password: "inline-pw-a" });
    suite.vault.root.putSecret("secret", "team-b/db", { password: "inline-pw-b" });
  });
  after(async () => {
    delete process.env[CONTROLLER_TOKEN_FILE_ENV];
    await rm(dir, { recursive: true, force: true });
    await suite?.stop();
  });

  void it("substitutes the values, reading the path once", async () => {
    await writeFile(join(dir, "secret.yaml"), MANIFEST);
    suite.vault.clearLog();
    const result = await render({ input: join(dir, "secret.yaml"), mode: "inline", config, requester });
    assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
    const [secret] = parseAllDocuments(result.output).map(
      (doc) => doc.toJS() as Record<string, Record<string, string>>,
    );
    const values =
      secret!.stringData ??
      Object.fromEntries(
        Object.entries(secret!.data ?? {}).map(([key, value]) => [
          key,
          Buffer.from(value, "base64").toString("utf8"),
        ]),
      );
    assert.equal(values.password, "inline-pw-a");
    assert.equal(values.url, "postgres://app:inline-pw-a@db:5432/app");
    assert.equal(suite.vault.count({ method: "GET", path: "secret/data/team-a/db" }), 1);
    assert.equal(suite.vault.count({ path: "auth/kubernetes/login", status: 200 }), 1);
  });

  void it("works the same through `refsync render --mode inline` in its own process", async () => {
    await writeFile(join(dir, "refsync.yaml"), stringify(config));
    await writeFile(join(dir, "secret.yaml"), MANIFEST);
    await writeFile(join(dir, "other.yaml"), MANIFEST.replaceAll("team-a/db", "team-b/db"));
    const env = {
      [CONTROLLER_TOKEN_FILE_ENV]: join(dir, "token"),
      REFSYNC_CONFIG: join(dir, "refsync.yaml"),
    };
    const args = ["render", "--mode", "inline", "--project", "team-a", "--namespace", "team-a"];
    const ok = await refsync([...args, join(dir, "secret.yaml")], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, "");
    assert.match(ok.stdout, /inline-pw-a|aW5saW5lLXB3LWE=/);

    const denied = await refsync([...args, join(dir, "other.yaml")], env);
    assert.notEqual(denied.code, 0);
    assert.equal(denied.stdout, "", "nothing partial on stdout");
    assert.match(denied.stderr, /team-b\/db/);
    assert.ok(!denied.stderr.includes("inline-pw-b"));
  });

  void it("records each Vault call in REFSYNC_AUDIT_LOG, naming the Argo CD application, never a value", async () => {
    await writeFile(join(dir, "refsync.yaml"), stringify(config));
    await writeFile(join(dir, "secret.yaml"), MANIFEST);
    const audit = join(dir, "audit.jsonl");
    suite.vault.clearLog();
    const run = await refsync(["generate", "--mode", "inline", join(dir, "secret.yaml")], {
      [CONTROLLER_TOKEN_FILE_ENV]: join(dir, "token"),
      REFSYNC_CONFIG: join(dir, "refsync.yaml"),
      REFSYNC_AUDIT_LOG: audit,
      ARGOCD_APP_NAME: "shop",
      ARGOCD_APP_PROJECT_NAME: "team-a",
      ARGOCD_APP_NAMESPACE: "team-a",
      ARGOCD_APP_REVISION: "0123abc",
      ARGOCD_APP_SOURCE_PATH: "apps/shop",
    });
    assert.equal(run.code, 0, run.stderr);
    const text = await readFile(audit, "utf8");
    assert.ok(!text.includes("inline-pw-a"), "a value reached the audit stream");
    assert.equal(verifyAudit([audit]).ok, true);
    const records = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as ChainedRecord);
    const read = records.find((r) => r.operation === "read");
    assert.ok(read, text);
    assert.deepEqual(read.subjects, [
      { kind: "Application", name: "shop", project: "team-a", revision: "0123abc", path: "apps/shop" },
    ]);
    assert.deepEqual(read.keys, [{ key: "team-a/db" }]);
    assert.equal(read.actor.component, "plugin");
    const served = suite.vault.requests.find((r) => r.path === "secret/data/team-a/db");
    assert.ok(served?.requestId && read.requestId?.split(",").includes(served.requestId), read.requestId);
    // The login method and mount, and the token's accessor (never the token).
    assert.deepEqual(read.identity, {
      method: "kubernetes",
      mount: read.identity?.mount,
      accessor: read.identity?.accessor,
    });
    assert.match(read.identity?.accessor ?? "", /^[\w-]{8,}$/);
    assert.ok(
      records.some((r) => r.operation === "login"),
      "the login is recorded",
    );
  });

  void it("refuses a path the project may not read, before asking Vault", async () => {
    await writeFile(join(dir, "other.yaml"), MANIFEST.replaceAll("team-a/db", "team-b/db"));
    suite.vault.clearLog();
    const result = await render({ input: join(dir, "other.yaml"), mode: "inline", config, requester });
    assert.equal(result.ok, false);
    const errors = result.ok ? "" : result.errors.join("\n");
    assert.match(errors, /policy denies project "team-a".*team-b\/db/);
    assert.ok(!errors.includes("inline-pw-b"));
    assert.equal(suite.vault.count({ path: /^secret\// }), 0);
  });
});
