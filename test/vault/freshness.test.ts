// Inline-mode freshness with Vault: the digest the controller recomputes from the Vault provider's
// currentVersion (KV v2 metadata, no value read) equals the one the plugin wrote at render time, changes
// when a new version is written, and never changes for a pinned version.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { ANNOTATION_REFS } from "../../src/api/v1alpha1.ts";
import { storeVersions, type VersionSource } from "../../src/controller/freshness/reference-versions.ts";
import type { ControllerContext } from "../../src/controller/hooks.ts";
import { CONTROLLER_TOKEN_FILE_ENV } from "../../src/providers/vault/index.ts";
import { parseRefsAnnotation, versionsDigest } from "../../src/render/annotation.ts";
import type { PluginConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import type { TestController } from "../controller/harness.ts";
import { controllerFor, pluginIdentity, startVaultSuite, type VaultSuite } from "./setup.ts";

const MANIFEST = `apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  password: ref+vault://team-a/db#password
  previous: ref+vault://team-a/db?version=1#password
`;

void describe("inline-mode freshness with Vault", () => {
  let suite: VaultSuite;
  let dir: string;
  let ns: string;
  let config: PluginConfig;
  let ctl: TestController;
  let versions: VersionSource;

  before(async () => {
    suite = await startVaultSuite();
    dir = await mkdtemp(join(tmpdir(), "refsync-vault-fresh-"));
    ns = await suite.cluster.createNamespace("vault-fresh");
    config = await pluginIdentity(suite, ns, dir);
    suite.vault.root.putSecret("secret", "team-a/db", { password: "fresh-v1" });
    suite.vault.root.putSecret("secret", "team-a/db", { password: "fresh-v2" });
    let resolveContext: (ctx: ControllerContext) => void = () => undefined;
    const context = new Promise<ControllerContext>((resolve) => (resolveContext = resolve));
    ctl = await controllerFor(suite, ns, { leaderLoops: [(ctx) => Promise.resolve(resolveContext(ctx))] });
    versions = storeVersions(await context, config, ns);
  });
  after(async () => {
    delete process.env[CONTROLLER_TOKEN_FILE_ENV];
    await ctl?.stop();
    await rm(dir, { recursive: true, force: true });
    await suite?.stop();
  });

  /** The digest the controller's freshness check computes for these references now. */
  async function currentDigest(refs: ReturnType<typeof parseRefsAnnotation>["refs"]): Promise<string> {
    const reads = [];
    for (const ref of refs) {
      reads.push({
        store: ref.store ?? "",
        key: ref.path,
        pinned: ref.version,
        read: await versions.currentVersion(ref, ns),
      });
    }
    return versionsDigest(reads);
  }

  void it("matches the render's digest, moves with a new version, and ignores it for a pinned one", async () => {
    await writeFile(join(dir, "app.yaml"), MANIFEST);
    const result = await render({
      input: join(dir, "app.yaml"),
      mode: "inline",
      config,
      requester: { project: "team-a", namespace: "team-a" },
    });
    assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
    const [configMap] = parseAllDocuments(result.output).map(
      (doc) =>
        doc.toJS() as { data: Record<string, string>; metadata: { annotations: Record<string, string> } },
    );
    assert.deepEqual(configMap!.data, { password: "fresh-v2", previous: "fresh-v1" });
    const annotation = configMap!.metadata.annotations[ANNOTATION_REFS]!;
    assert.ok(!annotation.includes("fresh-v"), "the annotation carries no value");
    const { refs, digest } = parseRefsAnnotation(annotation);

    suite.vault.clearLog();
    assert.equal(await currentDigest(refs), digest, "nothing changed: same digest");
    assert.equal(suite.vault.count({ path: /^secret\/data\// }), 0, "version checks read no value");
    assert.equal(
      suite.vault.count({ method: "GET", path: "secret/metadata/team-a/db" }),
      1,
      "pinned needs no call",
    );

    suite.vault.root.putSecret("secret", "team-a/db", { password: "fresh-v3" });
    assert.notEqual(await currentDigest(refs), digest, "a new version changes the digest");
    const pinned = refs.filter((ref) => ref.version === "1");
    assert.equal(pinned.length, 1);
    const pinnedDigest = await currentDigest(pinned);
    suite.vault.root.putSecret("secret", "team-a/db", { password: "fresh-v4" });
    assert.equal(await currentDigest(pinned), pinnedDigest, "a pinned version never goes stale");
  });
});
