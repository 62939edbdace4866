/**
 * ESO copies an ExternalSecret's own labels and annotations to its Secret when
 * it has no target.template; a template, even one without metadata, copies
 * nothing. refsync does the same on a real API server, except Argo CD's
 * tracking label and argocd.argoproj.io/ annotations, which stay on the
 * ExternalSecret (a Secret carrying them is pruned by Argo CD as its own).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ExternalSecret, ExternalSecretSpec } from "../../src/api/v1alpha1.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "./harness.ts";

const LABELS = {
  team: "payments",
  "app.kubernetes.io/instance": "shop",
  "app.kubernetes.io/managed-by": "Helm",
};
const ANNOTATIONS = {
  "example.com/note": "rotated by ops",
  "argocd.argoproj.io/tracking-id": "shop:refsync.dev/ExternalSecret:ns/es",
  "argocd.argoproj.io/sync-wave": "1",
};

void describe("controller: ExternalSecret labels and annotations on the Secret", () => {
  let cluster: Cluster;
  let ns: string;
  let ctl: TestController;
  const spec = (extra: Partial<ExternalSecretSpec> = {}): ExternalSecretSpec => ({
    secretStoreRef: { name: "demo" },
    data: [{ secretKey: "password", remoteRef: { key: "db" } }],
    ...extra,
  });
  const withMetadata = (
    name: string,
    s: ExternalSecretSpec,
    labels: Record<string, string>,
    annotations: Record<string, string>,
  ): ExternalSecret => {
    const es = externalSecret(ns, name, s, annotations);
    es.metadata.labels = labels;
    return es;
  };
  const synced = async (name: string) => {
    await waitForCondition(ctl.kube, ns, name, "Ready", "True", "SecretSynced", 60_000);
    const secret = await getSecret(ctl.kube, ns, name);
    assert.ok(secret, `Secret ${name}`);
    return secret;
  };

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("es-metadata");
    ctl = await startTestController(cluster, {
      namespace: ns,
      // No resync within a test: a change must reach the Secret through its own watch event.
      resyncMs: 600_000,
      // Runs between the Secret's creation and the status write: an edit lands in between, and its
      // watch event only after the status write (the informer is stopped until then), as on a loaded machine.
      hooks: [
        async ({ externalSecret: es, previousHash }) => {
          if (es.metadata.name !== "raced" || previousHash !== undefined) return;
          await ctl.controller.externalSecrets.stop();
          const { team: _team, ...rest } = LABELS;
          await applyObject(
            ctl.kube,
            withMetadata("raced", spec(), rest, { ...ANNOTATIONS, "refsync.dev/force-sync": "1" }),
          );
        },
      ],
    });
    await applyObject(ctl.kube, fakeStore(ns, "demo", [{ key: "db", value: "pa55-w0rd" }]));
  });
  after(async () => {
    await ctl?.stop();
    await cluster?.stop();
  });

  void test("without a template: copied, except Argo CD's tracking label and annotations", async () => {
    await applyObject(ctl.kube, withMetadata("plain", spec(), LABELS, ANNOTATIONS));
    const secret = await synced("plain");
    assert.equal(secret.data.password, "pa55-w0rd");
    assert.equal(secret.metadata.labels?.team, "payments");
    assert.equal(secret.metadata.labels?.["app.kubernetes.io/instance"], undefined);
    assert.equal(secret.metadata.annotations?.["example.com/note"], "rotated by ops");
    for (const key of Object.keys(secret.metadata.annotations ?? {}))
      assert.ok(!key.startsWith("argocd.argoproj.io/"), key);
    // refsync's own metadata wins over a copied key of the same name.
    assert.equal(secret.metadata.labels?.["app.kubernetes.io/managed-by"], "refsync");

    // A changed label reaches the Secret with its next sync.
    await applyObject(
      ctl.kube,
      withMetadata(
        "plain",
        spec(),
        { ...LABELS, team: "billing" },
        {
          ...ANNOTATIONS,
          "refsync.dev/force-sync": "1",
        },
      ),
    );
    await waitFor(async () => {
      const s = await getSecret(ctl.kube, ns, "plain");
      return s?.metadata.labels?.team === "billing" ? s : undefined;
    }, "Secret plain labelled team=billing");

    // A removed label leaves the Secret with its next write; force-sync, copied too, makes one.
    const { team: _team, ...rest } = LABELS;
    await applyObject(
      ctl.kube,
      withMetadata("plain", spec(), rest, { ...ANNOTATIONS, "refsync.dev/force-sync": "2" }),
    );
    await waitFor(async () => {
      const s = await getSecret(ctl.kube, ns, "plain");
      return s && !("team" in (s.metadata.labels ?? {})) ? s : undefined;
    }, "Secret plain without the team label");
  });

  void test("an edit made while the Secret is written is synced after it, not at the resync", async () => {
    // The hook removes the team label (and forces a sync) before the first status write.
    await applyObject(ctl.kube, withMetadata("raced", spec(), LABELS, ANNOTATIONS));
    await waitForCondition(ctl.kube, ns, "raced", "Ready", "True", "SecretSynced", 30_000);
    // The edit's event arrives now, after the status write (here: from the re-list).
    ctl.controller.externalSecrets.start();
    await waitFor(async () => {
      const s = await getSecret(ctl.kube, ns, "raced");
      return s && !("team" in (s.metadata.labels ?? {})) ? s : undefined;
    }, "Secret raced without the team label");
  });

  void test("with a template, even one without metadata: nothing copied", async () => {
    await applyObject(
      ctl.kube,
      withMetadata("templated", spec({ target: { template: { type: "Opaque" } } }), LABELS, ANNOTATIONS),
    );
    const secret = await synced("templated");
    assert.equal(secret.data.password, "pa55-w0rd");
    assert.equal(secret.metadata.labels?.team, undefined);
    assert.equal(secret.metadata.annotations?.["example.com/note"], undefined);
  });
});
