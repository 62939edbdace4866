/**
 * Inline-mode freshness on the real API server, inside the real controller:
 * objects carrying refsync.dev/refs, a ClusterSecretStore whose data gets a new
 * version, and the Argo CD Application / Flux Kustomization that own them
 * (minimal CRDs). When a referenced version changes, the owner is asked to
 * render again (argocd.argoproj.io/refresh: hard, reconcile.fluxcd.io/requestedAt),
 * once per change; nothing happens while versions are unchanged.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { ANNOTATION_REFS, type SecretStore } from "../../src/api/v1alpha1.ts";
import { freshnessLoop } from "../../src/controller/freshness/index.ts";
import { FreshnessChecker } from "../../src/controller/freshness/checker.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { storeVersions } from "../../src/controller/freshness/reference-versions.ts";
import type { ControllerContext } from "../../src/controller/hooks.ts";
import { formatRefsAnnotation, versionsDigest } from "../../src/render/annotation.ts";
import { parseConfig } from "../../src/render/config.ts";
import { parseReference } from "../../src/refs/reference.ts";
import { installCrds, startCluster, type Cluster } from "../cluster/index.ts";
import { CmpHarness, gitRepo } from "./cmp.ts";
import { applyObject, startTestController, waitFor, type TestController } from "../controller/harness.ts";

const SECRET_VALUE = "s3cret-value-never-logged";

interface Annotated extends KubernetesObject {
  metadata: {
    name: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
}

void describe("inline-mode freshness (controller leader loop)", () => {
  let cluster: Cluster;
  let objects: KubernetesObjectApi;
  let namespace: string;
  let storeName: string;
  let ctl: TestController;
  let ctx: ControllerContext;

  const fakeStore = (versions: string[]) => ({
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ClusterSecretStore",
    metadata: { name: storeName },
    spec: {
      provider: {
        fake: {
          data: versions.map((v) => ({
            key: "team-a/db",
            version: v,
            valueMap: { password: `${SECRET_VALUE}-${v}` },
          })),
        },
      },
    },
  });
  const apply = (object: object) =>
    objects.patch(
      object as KubernetesObject,
      undefined,
      undefined,
      "freshness-test",
      true,
      PatchStrategy.ServerSideApply,
    );
  const putStore = (versions: string[]) => applyObject(ctl.kube, fakeStore(versions) as SecretStore);
  const read = async (apiVersion: string, kind: string, name: string) =>
    (await objects.read({ apiVersion, kind, metadata: { name, namespace } })) as Annotated;
  /** An object as the plugin renders it inline: the annotation says which versions it was rendered from. */
  const rendered = (
    kind: string,
    name: string,
    labels: Record<string, string>,
    annotations: Record<string, string> = {},
  ) => {
    const ref = parseReference(`ref+fake://team-a/db?store=ClusterSecretStore/${storeName}#password`);
    const digest = versionsDigest([{ store: ref.store ?? "", key: ref.path, read: "1" }]);
    return {
      apiVersion: "v1",
      kind,
      metadata: {
        name,
        namespace,
        labels,
        annotations: { ...annotations, [ANNOTATION_REFS]: formatRefsAnnotation([ref], digest) },
      },
      ...(kind === "Secret"
        ? { stringData: { password: `${SECRET_VALUE}-1` } }
        : { data: { url: "postgres://db" } }),
    };
  };
  const waitForStoreVersion = async (version: string) => {
    for (let i = 0; i < 100; i++) {
      const store = ctl.controller.clusterSecretStores.get(storeName);
      if (JSON.stringify(store?.spec ?? {}).includes(`"version":"${version}"`)) return;
      await sleep(50);
    }
    assert.fail(`the controller never saw version ${version} of the store`);
  };

  before(async () => {
    cluster = await startCluster({ crds: true });
    await installCrds(cluster.kc, path.join(import.meta.dirname, "crds"));
    await installCrds(cluster.kc, path.join(import.meta.dirname, "..", "flux", "crds"));
    objects = KubernetesObjectApi.makeApiClient(cluster.kc);
    namespace = await cluster.createNamespace("freshness");
    // Established CRDs reach API discovery a moment later.
    for (const [apiVersion, kind] of [
      ["argoproj.io/v1alpha1", "Application"],
      ["kustomize.toolkit.fluxcd.io/v1", "Kustomization"],
    ]) {
      for (let i = 0; ; i++) {
        const served = await objects.list(apiVersion as string, kind as string, namespace).then(
          () => true,
          () => false,
        );
        if (served) break;
        if (i === 100) assert.fail(`${kind} is not served`);
        await sleep(100);
      }
    }
    storeName = `fake-${namespace}`;
    let captured: ((c: ControllerContext) => void) | undefined;
    const gotContext = new Promise<ControllerContext>((resolve) => (captured = resolve));
    ctl = await startTestController(cluster, {
      namespace,
      leaderLoops: [
        async (c) => captured?.(c),
        freshnessLoop({
          controllerNamespace: namespace,
          namespace,
          argocdNamespace: namespace,
          intervalMs: 200,
        }),
      ],
    });
    await putStore(["1"]);
    ctx = await gotContext;
    await waitForStoreVersion("1");
  });

  after(async () => {
    await ctl?.stop();
    await ctl?.kube.delete(resourceTypes.clusterSecretStore, undefined, storeName).catch(() => undefined);
    await cluster?.stop();
  });

  void it("asks the owning Application and Kustomization to render again when a referenced version changes, once", async () => {
    await apply({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Application",
      metadata: { name: "app", namespace },
      spec: {},
    });
    await apply({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "apps", namespace },
      spec: {},
    });
    await apply(rendered("Secret", "db", { "app.kubernetes.io/instance": "app" }));
    await apply(
      rendered("ConfigMap", "db-url", {
        "kustomize.toolkit.fluxcd.io/name": "apps",
        "kustomize.toolkit.fluxcd.io/namespace": namespace,
      }),
    );
    await apply(
      rendered(
        "Secret",
        "tracked",
        {},
        { "argocd.argoproj.io/tracking-id": `${namespace}_app:/Secret:${namespace}/tracked` },
      ),
    );

    const checker = new FreshnessChecker(
      { kube: ctx.kube, log: ctx.log, versions: storeVersions(ctx, undefined, namespace) },
      { namespace, argocdNamespace: namespace },
    );
    const unchanged = await checker.checkOnce();
    assert.equal(unchanged.objects, 3);
    assert.equal(unchanged.reads, 1, "three objects, one secret: one version read");
    assert.deepEqual(unchanged.stale, []);
    assert.equal(
      (await read("argoproj.io/v1alpha1", "Application", "app")).metadata.annotations?.[
        "argocd.argoproj.io/refresh"
      ],
      undefined,
    );

    await putStore(["1", "2"]);
    await waitForStoreVersion("2");
    const changed = await checker.checkOnce();
    assert.equal(changed.stale.length, 3);
    assert.deepEqual(changed.refreshed.sort(), [
      `Application/${namespace}/app`,
      `Kustomization/${namespace}/apps`,
    ]);
    const app = await read("argoproj.io/v1alpha1", "Application", "app");
    assert.equal(app.metadata.annotations?.["argocd.argoproj.io/refresh"], "hard");
    const ks = await read("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "apps");
    const requestedAt = ks.metadata.annotations?.["reconcile.fluxcd.io/requestedAt"] ?? "";
    assert.ok(Math.abs(Date.parse(requestedAt) - Date.now()) < 60_000, `requestedAt ${requestedAt} is now`);

    const again = await checker.checkOnce();
    assert.equal(again.stale.length, 3, "still stale until the owners render again");
    assert.deepEqual(again.refreshed, [], "but each change is requested once");

    // The owner re-rendered: the annotation now carries the new digest, and the object is fresh.
    const ref = parseReference(`ref+fake://team-a/db?store=ClusterSecretStore/${storeName}#password`);
    const fresh = formatRefsAnnotation(
      [ref],
      versionsDigest([{ store: ref.store ?? "", key: ref.path, read: "2" }]),
    );
    await apply({
      ...rendered("Secret", "db", { "app.kubernetes.io/instance": "app" }),
      metadata: {
        name: "db",
        namespace,
        labels: { "app.kubernetes.io/instance": "app" },
        annotations: { [ANNOTATION_REFS]: fresh },
      },
    });
    const after = await checker.checkOnce();
    assert.ok(!after.stale.includes(`Secret ${namespace}/db`));
  });

  void it("the leader loop does the same on its own, and logs no secret value", async () => {
    // The loop (every 200 ms) has been running all along: it must have refreshed the Application too.
    const logFrom = ctl.logText().length;
    await objects.patch(
      {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: { name: "app", namespace, annotations: { "argocd.argoproj.io/refresh": null } },
      } as unknown as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    await putStore(["1", "2", "3"]);
    let refresh: string | undefined;
    for (let i = 0; i < 100 && refresh !== "hard"; i++) {
      await sleep(100);
      refresh = (await read("argoproj.io/v1alpha1", "Application", "app")).metadata.annotations?.[
        "argocd.argoproj.io/refresh"
      ];
    }
    assert.equal(refresh, "hard", "the controller's freshness loop requested a hard refresh");
    // The loop logs its request once the PATCH has answered: the annotation can be visible first.
    const logged = await waitFor(() => {
      const text = ctl.logText().slice(logFrom);
      return /requested a new render/.test(text) ? text : undefined;
    }, "the loop's request logged");
    assert.match(logged, /requested a new render/);
    assert.doesNotMatch(ctl.logText(), new RegExp(SECRET_VALUE));
  });

  void it("reads the digest the plugin wrote in inline mode: fresh while versions stand, stale when the store has a new one", async () => {
    const pluginConfig = (versions: string[]) => ({
      stores: {
        vault: {
          provider: {
            fake: {
              data: versions.map((version) => ({
                key: "team-a/api",
                version,
                valueMap: { token: `${SECRET_VALUE}-${version}` },
              })),
            },
          },
        },
      },
      defaultStores: { fake: "vault" },
      modes: ["deferred", "inline"],
      policy: [{ projects: ["team-a"], stores: ["vault"], paths: ["team-a/"] }],
    });
    const dir = await mkdtemp(path.join(tmpdir(), "refsync-freshness-config-"));
    const cmp = await CmpHarness.start();
    try {
      const configFile = path.join(dir, "config.yaml");
      await writeFile(configFile, stringify(pluginConfig(["7"])));
      const repo = await gitRepo({
        "app/secret.yaml":
          "apiVersion: v1\nkind: Secret\nmetadata: { name: api }\nstringData:\n  token: ref+fake://team-a/api#token\n",
      });
      const result = await cmp.generate({
        repo,
        path: "app",
        project: "team-a",
        parameters: [{ name: "mode", string: "inline" }],
        sidecarEnv: { REFSYNC_CONFIG: configFile },
      });
      assert.equal(result.exitCode, 0, result.error);
      const secret = result.manifests[0] as unknown as Annotated;
      await apply({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: { name: "inline-app", namespace },
        spec: {},
      });
      await apply({
        ...secret,
        metadata: { ...secret.metadata, namespace, labels: { "app.kubernetes.io/instance": "inline-app" } },
      });

      const check = (versions: string[]) =>
        new FreshnessChecker(
          {
            kube: ctx.kube,
            log: ctx.log,
            versions: storeVersions(
              ctx,
              parseConfig(stringify(pluginConfig(versions)), configFile),
              namespace,
            ),
          },
          { namespace, argocdNamespace: namespace },
        ).checkOnce();
      const same = await check(["7"]);
      assert.ok(
        !same.stale.includes(`Secret ${namespace}/api`),
        "the controller computes the plugin's digest",
      );
      const moved = await check(["7", "8"]);
      assert.ok(moved.stale.includes(`Secret ${namespace}/api`));
      assert.ok(moved.refreshed.includes(`Application/${namespace}/inline-app`));
    } finally {
      await cmp.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
