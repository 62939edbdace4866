/**
 * ESO's generic targets (spec.target.manifest) on a real API server: a
 * ConfigMap rendered from a template (the shape of ESO's
 * manifest-templated-configmap example, with our own data) and a custom
 * resource of a CRD defined here, each created, updated and deleted; the
 * controller without ESO's opt-in flag refuses them; and running under the
 * shipped RBAC (manifests/base/rbac.yaml) it may not write them until the
 * generic-targets component's rules (manifests/generic-targets/rbac.yaml)
 * are granted too.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import type { ExternalSecret, ExternalSecretSpec } from "../../src/api/v1alpha1.ts";
import { KubeClient, type KubeObject } from "../../src/kube/client.ts";
import { resourceTypes, type ResourceType } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { docBlock } from "../docs/markdown.ts";
import {
  applyObject,
  crds,
  deleteObject,
  externalSecret,
  fakeStore,
  startTestController,
  useControllerSuite,
  waitFor,
  waitForCondition,
  type TestController,
} from "./harness.ts";

interface Target {
  metadata: {
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; kind: string; controller?: boolean }[];
  };
  data?: Record<string, string>;
  spec?: { data?: Record<string, string> };
}

const rbac = (plural: string, kind: string, namespaced = false): ResourceType => ({
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural,
  kind,
  namespaced,
});
const put = <T extends KubeObject>(kube: KubeClient, type: ResourceType, obj: T) =>
  kube.apply(type, obj, { fieldManager: "test", force: true });

/** The values ESO's example reads, from a fake store of our own. */
const store = (ns: string, host: string) =>
  fakeStore(ns, "backend", [
    { key: "database/hostname", value: host },
    { key: "database/name", value: "orders" },
    { key: "database/password", value: "n0t-a-real-pa55" },
  ]);

/** ESO's manifest-templated-configmap example, with our names. */
const templatedConfigMap = (
  extra: Partial<NonNullable<ExternalSecretSpec["target"]>> = {},
): ExternalSecretSpec => ({
  refreshInterval: "1h",
  secretStoreRef: { name: "backend", kind: "SecretStore" },
  target: {
    name: "orders-config",
    manifest: { apiVersion: "v1", kind: "ConfigMap" },
    template: {
      engineVersion: "v2",
      data: {
        "database.yaml":
          'host: {{ .dbHost }}\nport: 5432\ndatabase: {{ .dbName }}\nconnection_string: "postgresql://user:{{ .dbPassword }}@{{ .dbHost }}:5432/{{ .dbName }}"\n',
      },
    },
    ...extra,
  },
  data: [
    { secretKey: "dbHost", remoteRef: { key: "database/hostname" } },
    { secretKey: "dbName", remoteRef: { key: "database/name" } },
    { secretKey: "dbPassword", remoteRef: { key: "database/password" } },
  ],
});

const databaseYaml = (host: string) =>
  `host: ${host}\nport: 5432\ndatabase: orders\nconnection_string: "postgresql://user:n0t-a-real-pa55@${host}:5432/orders"\n`;

const forceSync = (kube: KubeClient, ns: string, name: string, spec: ExternalSecretSpec) =>
  applyObject(kube, externalSecret(ns, name, spec, { "refsync.dev/force-sync": String(Date.now()) }));

void describe("controller: target.manifest with --unsafe-allow-generic-targets", () => {
  const suite = useControllerSuite("manifest", { allowGenericTargets: true }, ({ ctl, ns }) =>
    applyObject(ctl.kube, store(ns, "db-1.orders.svc")),
  );
  const widgets = (): ResourceType => ({
    group: `${suite.ns}.example.com`,
    version: "v1",
    plural: "widgets",
    kind: "Widget",
    namespaced: true,
  });
  const get = (type: ResourceType, name: string) => suite.ctl.kube.get<Target>(type, suite.ns, name);

  before(async () => {
    // A small CRD of our own: spec and data, as ESO writes them.
    const group = widgets().group;
    await put(suite.ctl.kube, crds, {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                  data: { type: "object", additionalProperties: { type: "string" } },
                },
              },
            },
          },
        ],
      },
    });
    await waitFor(async () => {
      const served = await suite.ctl.kube
        .request<{ resources?: { name: string }[] }>("GET", `/apis/${group}/v1`)
        .catch(() => undefined);
      return served?.resources?.some((r) => r.name === "widgets") ? true : undefined;
    }, "the Widget CRD served");
  });
  after(async () => {
    await suite.ctl?.kube.delete(crds, undefined, `widgets.${widgets().group}`).catch(() => undefined);
  });

  void test("a templated ConfigMap: created, updated when the value changes, deleted", async () => {
    const { ctl, ns } = suite;
    const spec = templatedConfigMap({ deletionPolicy: "Delete" });
    await applyObject(ctl.kube, externalSecret(ns, "orders-config", spec));
    const es = await waitForCondition(ctl.kube, ns, "orders-config", "Ready", "True", "ResourceSynced");
    const cm = await get(resourceTypes.configMap, "orders-config");
    assert.deepEqual(cm?.data, { "database.yaml": databaseYaml("db-1.orders.svc") });
    assert.equal(cm?.metadata.labels?.["app.kubernetes.io/managed-by"], "refsync");
    assert.equal(cm?.metadata.annotations?.["refsync.dev/data-hash"], es.status?.dataHash);
    assert.deepEqual(
      cm?.metadata.ownerReferences?.map((o) => [o.kind, o.uid, o.controller]),
      [["ExternalSecret", es.metadata.uid, true]],
    );
    assert.equal(await ctl.kube.get(resourceTypes.secret, ns, "orders-config"), undefined, "no Secret");

    await applyObject(ctl.kube, store(ns, "db-2.orders.svc"));
    await forceSync(ctl.kube, ns, "orders-config", spec);
    await waitFor(async () => {
      const now = await get(resourceTypes.configMap, "orders-config");
      return now?.data?.["database.yaml"] === databaseYaml("db-2.orders.svc") ? now : undefined;
    }, "the ConfigMap updated");

    // Someone edits a key: the next sync (a forced one here) writes it back.
    await put(ctl.kube, resourceTypes.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "orders-config", namespace: ns },
      data: { "database.yaml": "edited" },
    });
    await forceSync(ctl.kube, ns, "orders-config", spec);
    await waitFor(async () => {
      const now = await get(resourceTypes.configMap, "orders-config");
      return now?.data?.["database.yaml"] === databaseYaml("db-2.orders.svc") ? now : undefined;
    }, "the edit undone");

    await deleteObject(ctl.kube, externalSecret(ns, "orders-config", spec));
    await waitFor(
      async () => ((await get(resourceTypes.configMap, "orders-config")) ? undefined : true),
      "the ConfigMap deleted (deletionPolicy Delete)",
    );
    assert.match(ctl.logText(), /orders-config/);
    assert.ok(!ctl.logText().includes("n0t-a-real-pa55"), "no value in the log");
  });

  void test("the docs' example (docs/controller.md) writes the ConfigMap it describes", async () => {
    const { ctl, ns } = suite;
    const doc = parse(
      docBlock("test/controller/manifest-targets.test.ts", "generic-configmap"),
    ) as ExternalSecret;
    await applyObject(ctl.kube, store(ns, "db-1.orders.svc"));
    await applyObject(ctl.kube, {
      ...doc,
      metadata: { ...doc.metadata, name: "docs-example", namespace: ns },
    });
    await waitForCondition(ctl.kube, ns, "docs-example", "Ready", "True", "ResourceSynced");
    const cm = await get(resourceTypes.configMap, "orders-config");
    assert.deepEqual(cm?.data, { "database.yaml": "host: db-1.orders.svc\ndatabase: orders\n" });
  });

  void test("a custom resource without a template: spec.data, updated, kept by Retain", async () => {
    const { ctl, ns } = suite;
    const plain: ExternalSecretSpec = {
      secretStoreRef: { name: "backend" },
      target: {
        name: "orders-widget",
        manifest: { apiVersion: `${widgets().group}/v1`, kind: "Widget" },
        creationPolicy: "Orphan",
      },
      data: [{ secretKey: "host", remoteRef: { key: "database/hostname" } }],
    };
    await applyObject(ctl.kube, store(ns, "db-1.orders.svc"));
    await applyObject(ctl.kube, externalSecret(ns, "widget", plain));
    await waitForCondition(ctl.kube, ns, "widget", "Ready", "True", "ResourceSynced");
    const first = await get(widgets(), "orders-widget");
    assert.deepEqual(first?.spec?.data, { host: "db-1.orders.svc" });
    assert.equal(first?.data, undefined);
    assert.equal(first?.metadata.ownerReferences, undefined, "Orphan: no owner");

    await applyObject(ctl.kube, store(ns, "db-3.orders.svc"));
    await forceSync(ctl.kube, ns, "widget", plain);
    const updated = await waitFor(async () => {
      const w = await get(widgets(), "orders-widget");
      return w?.spec?.data?.host === "db-3.orders.svc" ? w : undefined;
    }, "the Widget updated");
    assert.equal(updated.metadata.uid, first?.metadata.uid, "updated in place");

    await deleteObject(ctl.kube, externalSecret(ns, "widget", plain));
    await waitFor(
      async () => ((await ctl.kube.get(resourceTypes.externalSecret, ns, "widget")) ? undefined : true),
      "the ExternalSecret gone",
    );
    assert.ok(await get(widgets(), "orders-widget"), "deletionPolicy Retain keeps the Widget");
  });

  void test("a templated custom resource: its data and a path, deleted by deletionPolicy Delete", async () => {
    const { ctl, ns } = suite;
    const spec: ExternalSecretSpec = {
      secretStoreRef: { name: "backend" },
      target: {
        name: "orders-endpoint",
        manifest: { apiVersion: `${widgets().group}/v1`, kind: "Widget" },
        deletionPolicy: "Delete",
        template: {
          engineVersion: "v2",
          metadata: { labels: { tier: "db" } },
          data: { url: "https://{{ .host }}" },
          // ESO's path targets: YAML rendered into the object.
          templateFrom: [{ literal: "endpoint: https://{{ .host }}\nretries: 3\n", target: "spec.settings" }],
        },
      },
      data: [{ secretKey: "host", remoteRef: { key: "database/hostname" } }],
    };
    await applyObject(ctl.kube, store(ns, "db-1.orders.svc"));
    await applyObject(ctl.kube, externalSecret(ns, "endpoint", spec));
    const es = await waitForCondition(ctl.kube, ns, "endpoint", "Ready", "True", "ResourceSynced");
    const widget = await get(widgets(), "orders-endpoint");
    assert.deepEqual(widget?.data, { url: "https://db-1.orders.svc" });
    assert.deepEqual(widget?.spec, { settings: { endpoint: "https://db-1.orders.svc", retries: 3 } });
    assert.equal(widget?.metadata.labels?.tier, "db");
    assert.equal(widget?.metadata.ownerReferences?.[0]?.uid, es.metadata.uid);

    await deleteObject(ctl.kube, externalSecret(ns, "endpoint", spec));
    await waitFor(
      async () => ((await get(widgets(), "orders-endpoint")) ? undefined : true),
      "the Widget deleted",
    );
  });

  void test("a kind the API server does not serve is retried with a message naming it", async () => {
    const { ctl, ns } = suite;
    const spec: ExternalSecretSpec = {
      secretStoreRef: { name: "backend" },
      target: { manifest: { apiVersion: "nowhere.example.com/v1", kind: "Gadget" } },
      data: [{ secretKey: "host", remoteRef: { key: "database/hostname" } }],
    };
    await applyObject(ctl.kube, externalSecret(ns, "gadget", spec));
    const es = await waitForCondition(ctl.kube, ns, "gadget", "Ready", "False", "SecretSyncError");
    assert.match(
      es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "",
      /the API server serves no kind Gadget in nowhere\.example\.com\/v1/,
    );
  });
});

void describe("controller: target.manifest without the opt-in, or without RBAC", () => {
  let cluster: Cluster;
  let ns: string;
  const controllers: TestController[] = [];
  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("manifest-rbac");
  });
  after(async () => {
    for (const c of controllers) await c.stop();
    await cluster?.stop();
  });

  void test("without --unsafe-allow-generic-targets: InvalidSpec naming the flag, nothing written", async () => {
    const ctl = await startTestController(cluster, { namespace: ns });
    controllers.push(ctl);
    await applyObject(ctl.kube, store(ns, "db-1.orders.svc"));
    await applyObject(ctl.kube, externalSecret(ns, "off", templatedConfigMap({ name: "off" })));
    const es = await waitForCondition(ctl.kube, ns, "off", "Ready", "False", "InvalidSpec");
    assert.match(
      es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "",
      /generic targets are disabled: start the controller with --unsafe-allow-generic-targets/,
    );
    assert.equal(es.status?.conditions?.find((c) => c.type === "Stalled")?.status, "True");
    assert.equal(await ctl.kube.get(resourceTypes.configMap, ns, "off"), undefined);
    await deleteObject(ctl.kube, externalSecret(ns, "off", templatedConfigMap()));
    await ctl.stop();
  });

  void test("with the shipped RBAC only: AccessDenied until the generic-targets rules are granted", async () => {
    const admin = await KubeClient.fromKubeConfig(cluster.kc);
    const rulesOf = async (file: string, name: string) => {
      const text = await readFile(join(import.meta.dirname, "..", "..", file), "utf8");
      const role = parseAllDocuments(text)
        .map((d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: unknown[] })
        .find((o) => o.kind === "ClusterRole" && o.metadata.name === name);
      assert.ok(role?.rules, `${file}: ClusterRole ${name}`);
      return role.rules;
    };
    const grant = async (role: string, rules: unknown[]) => {
      await put(admin, rbac("clusterroles", "ClusterRole"), {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: `${ns}-${role}` },
        rules,
      });
      await put(admin, rbac("clusterrolebindings", "ClusterRoleBinding"), {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${ns}-${role}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${ns}-${role}` },
        subjects: [{ kind: "ServiceAccount", name: "controller", namespace: ns }],
      });
    };
    await put(admin, resourceTypes.serviceAccount, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "controller", namespace: ns },
    });
    await grant("base", await rulesOf("manifests/base/rbac.yaml", "refsync-controller"));
    const token = await admin.request<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/${ns}/serviceaccounts/controller/token`,
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 3600 },
        },
      },
    );
    const ctl = await startTestController(cluster, {
      namespace: ns,
      allowGenericTargets: true,
      controllerKc: cluster.kubeConfigForToken(token.status.token, "controller"),
    });
    controllers.push(ctl);
    admin.close();

    await applyObject(ctl.kube, externalSecret(ns, "denied", templatedConfigMap({ name: "denied" })));
    const es = await waitForCondition(ctl.kube, ns, "denied", "Ready", "False", "AccessDenied");
    assert.match(
      es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "",
      /the controller may not write configmaps in namespace "[^"]+" \(HTTP 403\): grant it \(Helm: genericTargets\.enabled/,
    );
    assert.equal(await ctl.kube.get(resourceTypes.configMap, ns, "denied"), undefined);

    // The generic-targets component's rules: the retry (with back-off) succeeds.
    await grant("generic", await rulesOf("manifests/generic-targets/rbac.yaml", "refsync-generic-targets"));
    await waitForCondition(ctl.kube, ns, "denied", "Ready", "True", "ResourceSynced", 60_000);
    const cm = await ctl.kube.get<Target>(resourceTypes.configMap, ns, "denied");
    assert.deepEqual(cm?.data, { "database.yaml": databaseYaml("db-1.orders.svc") });
    for (const role of ["base", "generic"]) {
      await ctl.kube.delete(rbac("clusterrolebindings", "ClusterRoleBinding"), undefined, `${ns}-${role}`);
      await ctl.kube.delete(rbac("clusterroles", "ClusterRole"), undefined, `${ns}-${role}`);
    }
  });
});
