/**
 * ESO's target fields on a real API server: templateFrom (ConfigMap, Secret
 * and literal, into data, labels and annotations), mergePolicy Merge,
 * template finalizers, target.immutable and creationPolicy CreateOrMerge,
 * each as ESO's controller behaves.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ExternalSecretSpec } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import {
  applyObject,
  deleteObject,
  externalSecret,
  fakeStore,
  getExternalSecret,
  getSecret,
  putSecret,
  useControllerSuite,
  waitFor,
  waitForCondition,
} from "./harness.ts";

interface RawSecret {
  metadata: { finalizers?: string[]; ownerReferences?: unknown[]; labels?: Record<string, string> };
  immutable?: boolean;
  type?: string;
}

void describe("controller: ESO target fields", () => {
  const suite = useControllerSuite("target", {}, ({ ctl }) => applyObject(ctl.kube, store("v1")));
  const store = (value: string) =>
    fakeStore(suite.ns, "demo", [
      { key: "db", valueMap: { username: "app", password: "pa55-w0rd" } },
      { key: "rotating", value },
    ]);
  const raw = (name: string) => suite.ctl.kube.get<RawSecret>(resourceTypes.secret, suite.ns, name);
  const forceSync = async (name: string, spec: ExternalSecretSpec) =>
    applyObject(
      suite.ctl.kube,
      externalSecret(suite.ns, name, spec, { "refsync.dev/force-sync": String(Date.now()) }),
    );
  /** Waits until the Secret's data (decoded) satisfies `ok`. */
  const dataOf = (name: string, ok: (data: Record<string, string>) => boolean, what: string) =>
    waitFor(async () => {
      const s = await getSecret(suite.ctl.kube, suite.ns, name);
      return s && ok(s.data) ? s : undefined;
    }, what);

  void test("templateFrom, mergePolicy Merge and finalizers: the Secret ESO would write", async () => {
    const { ctl, ns } = suite;
    const spec: ExternalSecretSpec = {
      secretStoreRef: { name: "demo" },
      data: [
        { secretKey: "username", remoteRef: { key: "db", property: "username" } },
        { secretKey: "password", remoteRef: { key: "db", property: "password" } },
      ],
      target: {
        template: {
          engineVersion: "v2",
          mergePolicy: "Merge",
          metadata: { finalizers: ["example.com/hold"], annotations: { owner: "{{ .username }}" } },
          templateFrom: [
            {
              configMap: {
                name: "app-templates",
                items: [{ key: "app.conf" }, { key: "more", templateAs: "KeysAndValues" }],
              },
            },
            { secret: { name: "secret-templates", items: [{ key: "url" }] } },
            { literal: "team: '{{ .username }}-team'", target: "Labels" },
          ],
          data: { password: "{{ .password | upper }}" },
        },
      },
    };
    await applyObject(ctl.kube, externalSecret(ns, "templated", spec));
    // The ConfigMap does not exist yet: NotFound naming it, and no Secret.
    const waiting = await waitForCondition(ctl.kube, ns, "templated", "Ready", "False", "NotFound");
    assert.match(
      waiting.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "",
      /templateFrom\[0\]\.configMap: ConfigMap "app-templates" not found/,
    );
    assert.equal(await getSecret(ctl.kube, ns, "templated"), undefined);
    await ctl.kube.apply(
      resourceTypes.configMap,
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "app-templates", namespace: ns },
        data: { "app.conf": "user={{ .username }}\n", more: "extra: 'x-{{ .password }}'" },
      },
      { fieldManager: "test", force: true },
    );
    await putSecret(ctl.kube, ns, "secret-templates", { url: "postgres://{{ .username }}@db/app" });
    await waitForCondition(ctl.kube, ns, "templated", "Ready", "True", "SecretSynced", 60_000);
    const secret = await dataOf("templated", (d) => "url" in d, "Secret templated");
    assert.deepEqual(secret.data, {
      username: "app",
      password: "PA55-W0RD",
      "app.conf": "user=app\n",
      extra: "x-pa55-w0rd",
      url: "postgres://app@db/app",
    });
    assert.equal(secret.metadata.labels?.team, "app-team");
    assert.equal(secret.metadata.annotations?.owner, "app");
    assert.deepEqual((await raw("templated"))?.metadata.finalizers, ["example.com/hold"]);

    // Replace (the default): only the templated keys.
    const replace = structuredClone(spec);
    delete replace.target!.template!.mergePolicy;
    await applyObject(ctl.kube, externalSecret(ns, "templated", replace));
    const replaced = await dataOf(
      "templated",
      (d) => !("username" in d),
      "Secret templated without username",
    );
    assert.deepEqual(Object.keys(replaced.data).sort(), ["app.conf", "extra", "password", "url"]);
  });

  void test("target.immutable: created immutable; later values are not written; recreated when deleted", async () => {
    const { ctl, ns } = suite;
    const spec: ExternalSecretSpec = {
      secretStoreRef: { name: "demo" },
      data: [{ secretKey: "value", remoteRef: { key: "rotating" } }],
      target: { immutable: true },
    };
    await applyObject(ctl.kube, externalSecret(ns, "frozen", spec));
    await dataOf("frozen", (d) => d.value === "v1", "Secret frozen with v1");
    assert.equal((await raw("frozen"))?.immutable, true);

    await applyObject(ctl.kube, store("v2"));
    const before = (await getExternalSecret(ctl.kube, ns, "frozen"))?.status?.refreshTime;
    await forceSync("frozen", spec);
    await waitFor(async () => {
      const es = await getExternalSecret(ctl.kube, ns, "frozen");
      const ready = es?.status?.conditions?.find((c) => c.type === "Ready");
      return es?.status?.syncedResourceVersion?.endsWith("/") === false && ready?.status === "True"
        ? es
        : undefined;
    }, "frozen synced after force-sync");
    assert.equal(
      (await getSecret(ctl.kube, ns, "frozen"))?.data.value,
      "v1",
      "an immutable Secret keeps its data",
    );
    assert.ok(before);

    // Deleted: created again, with the current value.
    await ctl.kube.delete(resourceTypes.secret, ns, "frozen");
    await dataOf("frozen", (d) => d.value === "v2", "Secret frozen recreated with v2");
    assert.equal((await raw("frozen"))?.immutable, true);

    // No longer immutable in the spec while the Secret is: one actionable line, the Secret untouched.
    await applyObject(ctl.kube, store("v3"));
    await applyObject(ctl.kube, externalSecret(ns, "frozen", { ...spec, target: { immutable: false } }));
    const blocked = await waitForCondition(ctl.kube, ns, "frozen", "Ready", "False", "SecretSyncError");
    assert.equal(
      blocked.status?.conditions?.find((c) => c.type === "Ready")?.message,
      'target Secret "frozen" is immutable and its data would change: delete it to have it created again with the current values, or set spec.target.immutable to keep it as it is',
    );
    assert.equal((await getSecret(ctl.kube, ns, "frozen"))?.data.value, "v2");
    await applyObject(ctl.kube, store("v1"));
  });

  void test("CreateOrMerge: creates without owner, keeps others' keys, recreates when deleted, retains on delete", async () => {
    const { ctl, ns } = suite;
    const spec: ExternalSecretSpec = {
      secretStoreRef: { name: "demo" },
      data: [{ secretKey: "username", remoteRef: { key: "db", property: "username" } }],
      target: { creationPolicy: "CreateOrMerge" },
    };
    // A missing Secret is created, without an owner.
    await applyObject(ctl.kube, externalSecret(ns, "com-new", spec));
    await dataOf("com-new", (d) => d.username === "app", "Secret com-new");
    const created = await raw("com-new");
    assert.equal(created?.metadata.ownerReferences, undefined);
    assert.equal(created?.type, "Opaque");

    // An existing Secret is merged into: its other keys and its type stay.
    await ctl.kube.apply(
      resourceTypes.secret,
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "com-existing", namespace: ns },
        type: "example.com/custom",
        stringData: { theirs: "kept" },
      },
      { fieldManager: "someone-else", force: true },
    );
    await applyObject(ctl.kube, externalSecret(ns, "com-existing", spec));
    const merged = await dataOf("com-existing", (d) => d.username === "app", "Secret com-existing merged");
    assert.deepEqual(merged.data, { theirs: "kept", username: "app" });
    assert.equal(merged.type, "example.com/custom");
    assert.equal((await raw("com-existing"))?.metadata.ownerReferences, undefined);

    // Deleted: created again at once.
    await ctl.kube.delete(resourceTypes.secret, ns, "com-new");
    await dataOf("com-new", (d) => d.username === "app", "Secret com-new recreated");

    // The ExternalSecret deleted: the Secret stays (no owner to collect it).
    await deleteObject(ctl.kube, externalSecret(ns, "com-new", spec));
    await waitFor(
      async () => ((await getExternalSecret(ctl.kube, ns, "com-new")) ? undefined : true),
      "ExternalSecret com-new gone",
    );
    assert.equal((await getSecret(ctl.kube, ns, "com-new"))?.data.username, "app");

    // deletionPolicy Delete needs ownership: refused, as ESO's webhook does.
    await applyObject(
      ctl.kube,
      externalSecret(ns, "com-delete", {
        ...spec,
        target: { creationPolicy: "CreateOrMerge", deletionPolicy: "Delete" },
      }),
    );
    const refused = await waitForCondition(ctl.kube, ns, "com-delete", "Ready", "False", "InvalidSpec");
    assert.match(
      refused.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "",
      /spec\.target\.deletionPolicy: deletionPolicy Delete needs a Secret refsync owns/,
    );
  });
});
