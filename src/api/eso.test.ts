/**
 * ESO conversion: no field of ESO's v1 ExternalSecret and store specs (for
 * the providers refsync has) is ignored silently. The field list,
 * ./eso-v1-fields.json, was written by reading ESO's Go types; for each
 * field a document setting it is converted, and the field must either come
 * out in the refsync object or be refused with an error naming it.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { ANNOTATION_CONVERTED_FROM, convertEsoObject, esoRule, type Rule } from "./eso.ts";
import {
  clusterExternalSecretSpecProblems,
  externalSecretSpecProblems,
  validateExternalSecretSpec,
  validateStoreSpec,
} from "./validate.ts";

const LISTED = JSON.parse(readFileSync(join(import.meta.dirname, "eso-v1-fields.json"), "utf8")) as Record<
  "ExternalSecret" | "SecretStore" | "ClusterExternalSecret",
  string[]
>;
/** A ClusterExternalSecret's own fields, and every ExternalSecret field under its spec.externalSecretSpec. */
const FIELDS = {
  ...LISTED,
  ClusterExternalSecret: [
    ...LISTED.ClusterExternalSecret,
    ...LISTED.ExternalSecret.map((f) => f.replace(/^spec\./, "spec.externalSecretSpec.")),
  ],
};
const SENTINEL = "refsync-test-sentinel";

/** `{ spec: { data: [ { remoteRef: { key: SENTINEL } } ] } }` for `spec.data[].remoteRef.key`. */
function documentSetting(kind: string, path: string): Record<string, unknown> {
  const root: Record<string, unknown> = {
    apiVersion: "external-secrets.io/v1",
    kind,
    metadata: { name: "x" },
  };
  let node: Record<string, unknown> = root;
  const parts = path.split(".");
  parts.forEach((part, i) => {
    const isArray = part.endsWith("[]");
    const key = isArray ? part.slice(0, -2) : part;
    const last = i === parts.length - 1;
    if (last) node[key] = isArray ? [SENTINEL] : SENTINEL;
    else if (isArray) {
      const item: Record<string, unknown> = {};
      node[key] = [item];
      node = item;
    } else node = (node[key] ??= {}) as Record<string, unknown>;
  });
  // ESO's server without url is the local cluster, refsync's default (the converter drops it): give one.
  if (path.startsWith("spec.provider.kubernetes.server.") && path !== "spec.provider.kubernetes.server.url") {
    const spec = root.spec as { provider: { kubernetes: { server: Record<string, unknown> } } };
    spec.provider.kubernetes.server.url = "https://other:6443";
  }
  // ESO accepts a customCloudConfig only with its new SDK.
  if (path.startsWith("spec.provider.azurekv.customCloudConfig.")) {
    (root.spec as { provider: { azurekv: Record<string, unknown> } }).provider.azurekv.useAzureSDK = true;
  }
  return root;
}

/** The rule that decides a field: its own, or a `subtree` rule of an ancestor. */
function effectiveRule(kind: string, path: string): { rule: Rule | undefined; at: string } {
  const parts = path.split(".");
  for (let i = 1; i <= parts.length; i++) {
    const at = parts.slice(0, i).join(".");
    const candidates = at.endsWith("[]") ? [at.slice(0, -2), at] : [at];
    for (const [j, candidate] of candidates.entries()) {
      const rule = esoRule(kind, candidate);
      const leaf = i === parts.length && j === candidates.length - 1;
      if (!rule || rule.kind !== "map" || leaf) return { rule, at: candidate };
    }
  }
  return { rule: undefined, at: path };
}

const concrete = (pattern: string): string => pattern.replaceAll("[]", "[0]");

void describe("ESO v1 field coverage", () => {
  const counts = { mapped: 0, defaultOnly: 0, dropped: 0, refused: 0 };
  for (const [kind, fields] of Object.entries(FIELDS) as [string, string[]][]) {
    if (kind.startsWith("_")) continue;
    for (const field of fields) {
      void test(`${kind} ${field}`, () => {
        const { rule, at } = effectiveRule(kind, field);
        const result = convertEsoObject(documentSetting(kind, field));
        if (rule?.kind === "map" || rule?.kind === "subtree") {
          counts.mapped++;
          assert.ok(result.ok, `${field}: ${result.ok ? "" : result.problems.join("; ")}`);
          assert.ok(JSON.stringify(result.object).includes(SENTINEL), `${field} was dropped`);
        } else if (rule?.kind === "drop") {
          counts.dropped++;
          assert.ok(result.ok, `${field}: ${result.ok ? "" : result.problems.join("; ")}`);
          assert.ok(!JSON.stringify(result.object).includes(SENTINEL), `${field} was kept`);
          assert.deepEqual(result.dropped, [{ path: concrete(at), why: rule.why }]);
        } else {
          if (rule?.kind === "only") counts.defaultOnly++;
          else counts.refused++;
          assert.equal(result.ok, false, `${field} was accepted`);
          const named = result.problems.some(
            (p) => p.startsWith(`${concrete(at)}:`) && concrete(field).startsWith(concrete(at)),
          );
          assert.ok(named, `${field}: no problem names it: ${result.problems.join("; ")}`);
          if (!/refsync has no \w+ provider/.test(result.problems.join())) {
            assert.match(result.problems.join(), /refsync (does not implement|implements only)/);
          }
        }
      });
    }
  }
  void test("counts", () => {
    // mapped + accepted-only-at-ESO's-default + dropped-without-effect + refused = every field listed.
    const total =
      FIELDS.ExternalSecret.length + FIELDS.SecretStore.length + FIELDS.ClusterExternalSecret.length;
    assert.equal(counts.mapped + counts.defaultOnly + counts.dropped + counts.refused, total);
    console.log(
      `ESO v1 fields: ${total}: mapped ${counts.mapped}, default only ${counts.defaultOnly}, dropped ${counts.dropped}, refused ${counts.refused}`,
    );
  });
});

void describe("convertEsoObject", () => {
  void test("ESO defaults are written out", () => {
    const result = convertEsoObject({
      apiVersion: "external-secrets.io/v1",
      kind: "ExternalSecret",
      metadata: { name: "db", namespace: "team-a" },
      spec: {
        secretStoreRef: { name: "vault" },
        target: { template: { data: { url: "postgres://{{ .user }}@db" } } },
        data: [
          { secretKey: "user", remoteRef: { key: "db", property: "user", conversionStrategy: "Default" } },
        ],
      },
      status: { refreshTime: "2026-01-01T00:00:00Z" },
    });
    assert.ok(result.ok);
    assert.deepEqual(result.object, {
      apiVersion: "refsync.dev/v1alpha1",
      kind: "ExternalSecret",
      metadata: {
        name: "db",
        namespace: "team-a",
        annotations: { [ANNOTATION_CONVERTED_FROM]: "external-secrets.io/v1" },
      },
      spec: {
        secretStoreRef: { name: "vault", kind: "SecretStore" },
        refreshInterval: "1h",
        target: {
          creationPolicy: "Owner",
          deletionPolicy: "Retain",
          template: { data: { url: "postgres://{{ .user }}@db" }, engineVersion: "v2" },
        },
        data: [{ secretKey: "user", remoteRef: { key: "db", property: "user" } }],
      },
    });
  });

  void test("store defaults: Vault KV v2, Azure ServicePrincipal", () => {
    const vault = convertEsoObject({
      apiVersion: "external-secrets.io/v1beta1",
      kind: "SecretStore",
      metadata: { name: "v" },
      spec: {
        provider: {
          vault: { server: "https://vault:8200", auth: { tokenSecretRef: { name: "t", key: "k" } } },
        },
      },
    });
    assert.ok(vault.ok);
    assert.deepEqual(
      (vault.object.spec as { provider: { vault: { version: string } } }).provider.vault.version,
      "v2",
    );
    const azure = convertEsoObject({
      apiVersion: "external-secrets.io/v1",
      kind: "ClusterSecretStore",
      metadata: { name: "a" },
      spec: { provider: { azurekv: { vaultUrl: "https://kv.vault.azure.net" } } },
    });
    assert.ok(azure.ok);
    assert.equal(
      (azure.object.spec as { provider: { azurekv: { authType: string } } }).provider.azurekv.authType,
      "ServicePrincipal",
    );
  });

  void test("a store's controller class is kept and validates", () => {
    const result = convertEsoObject({
      apiVersion: "external-secrets.io/v1",
      kind: "SecretStore",
      metadata: { name: "f" },
      spec: { controller: "blue", provider: { fake: { data: [] } } },
    });
    assert.ok(result.ok);
    const spec = validateStoreSpec(result.object.spec);
    assert.equal(spec.controller, "blue");
  });

  void test("a store's refreshInterval: ESO's seconds or duration; 0 is the default, as unset", () => {
    const interval = (refreshInterval: unknown) => {
      const result = convertEsoObject({
        apiVersion: "external-secrets.io/v1",
        kind: "ClusterSecretStore",
        metadata: { name: "f" },
        spec: { refreshInterval, provider: { fake: { data: [] } } },
      });
      if (!result.ok) return result.problems;
      return validateStoreSpec(result.object.spec).refreshInterval;
    };
    assert.equal(interval(90), "90s");
    assert.equal(interval("1h30m"), "1h30m");
    assert.equal(interval(0), undefined);
    assert.equal(interval("0"), undefined);
    assert.equal(interval("0s"), undefined);
    assert.deepEqual(interval(-5), [
      "spec.refreshInterval: ESO refuses this store: seconds must be a whole number, not negative",
    ]);
    assert.throws(() => interval("-5m"), /spec\.refreshInterval: must be a duration/);
  });

  void test("a Vault KV v2 path with ESO's optional /data suffix becomes the mount", () => {
    const result = convertEsoObject({
      apiVersion: "external-secrets.io/v1",
      kind: "SecretStore",
      metadata: { name: "v" },
      spec: {
        provider: {
          vault: {
            server: "https://v:8200",
            path: "secret/data",
            auth: { tokenSecretRef: { name: "t", key: "k" } },
          },
        },
      },
    });
    assert.ok(result.ok);
    assert.equal(
      (result.object.spec as { provider: { vault: { path: string } } }).provider.vault.path,
      "secret",
    );
  });

  void test("PushSecret and other kinds are refused by name", () => {
    const result = convertEsoObject({
      apiVersion: "external-secrets.io/v1alpha1",
      kind: "PushSecret",
      spec: {},
    });
    assert.equal(result.ok, false);
    assert.match(result.problems[0] ?? "", /external-secrets\.io\/v1alpha1/);
    const push = convertEsoObject({ apiVersion: "external-secrets.io/v1", kind: "PushSecret", spec: {} });
    assert.equal(push.ok, false);
    assert.match(push.problems[0] ?? "", /refsync has no PushSecret kind/);
    const old = convertEsoObject({
      apiVersion: "external-secrets.io/v1alpha1",
      kind: "ExternalSecret",
      spec: {},
    });
    assert.equal(old.ok, false);
    assert.match(old.problems[0] ?? "", /external-secrets\.io\/v1alpha1/);
  });

  void test("templateFrom, mergePolicy, finalizers, immutable, CreateOrMerge and syncWindows convert and validate", () => {
    const result = convertEsoObject({
      apiVersion: "external-secrets.io/v1",
      kind: "ExternalSecret",
      metadata: { name: "app", namespace: "team-a" },
      spec: {
        secretStoreRef: { name: "vault" },
        syncWindows: { kind: "deny", windows: [{ schedule: "0 2 * * 6", duration: "2h0m0s" }] },
        target: {
          creationPolicy: "CreateOrMerge",
          immutable: true,
          template: {
            mergePolicy: "Merge",
            metadata: { finalizers: ["example.com/keep"] },
            templateFrom: [
              { configMap: { name: "tpl", items: [{ key: "config.yaml", templateAs: "Values" }] } },
              { secret: { name: "tpls", items: [{ key: "more", templateAs: "KeysAndValues" }] }, target: "" },
              { literal: "note: '{{ .user }}'", target: "annotations" },
            ],
          },
        },
        dataFrom: [{ extract: { key: "app" } }],
      },
    });
    assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
    const spec = validateExternalSecretSpec(result.object.spec);
    assert.equal(spec.target?.creationPolicy, "CreateOrMerge");
    assert.equal(spec.target?.immutable, true);
    assert.equal(spec.target?.template?.mergePolicy, "Merge");
    assert.deepEqual(spec.target?.template?.metadata?.finalizers, ["example.com/keep"]);
    assert.deepEqual(
      spec.target?.template?.templateFrom?.map((t) => t.target),
      [undefined, undefined, "Annotations"],
      "ESO's empty and lower-case targets are its Data and Annotations",
    );
    assert.deepEqual(spec.syncWindows, {
      kind: "deny",
      windows: [{ schedule: "0 2 * * 6", duration: "2h0m0s" }],
    });
  });

  void test("ParameterStore and engine v1 are refused naming the field", () => {
    const aws = convertEsoObject({
      apiVersion: "external-secrets.io/v1",
      kind: "SecretStore",
      metadata: { name: "a" },
      spec: { provider: { aws: { service: "ParameterStore", region: "eu-west-1" } } },
    });
    assert.equal(aws.ok, false);
    assert.match(
      aws.problems.join(),
      /^spec\.provider\.aws\.service: refsync implements only "SecretsManager"/,
    );
    const v1 = convertEsoObject({
      apiVersion: "external-secrets.io/v1beta1",
      kind: "ExternalSecret",
      metadata: { name: "e" },
      spec: { secretStoreRef: { name: "s" }, target: { template: { engineVersion: "v1" } } },
    });
    assert.equal(v1.ok, false);
    assert.match(v1.problems.join(), /^spec\.target\.template\.engineVersion: /);
  });
});

void describe("ESO-doc-shaped manifests, one per provider", () => {
  const fixtures = join(import.meta.dirname, "../../test/render/eso");
  const objects = readdirSync(fixtures)
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(fixtures, f), "utf8")).map(
        (d) => d.toJS() as Record<string, unknown>,
      ),
    );
  const converted = (name: string) => {
    const object = objects.find((o) => (o.metadata as { name: string }).name === name);
    assert.ok(object, name);
    const result = convertEsoObject(object);
    assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
    return result.object as { kind: string; spec: Record<string, unknown> };
  };

  void test("vault: KV v2, Kubernetes auth", () => {
    assert.deepEqual(converted("vault-backend").spec, {
      provider: {
        vault: {
          server: "https://vault.example.internal:8200",
          path: "secret",
          version: "v2",
          auth: {
            kubernetes: {
              mountPath: "kubernetes",
              role: "shop-reader",
              serviceAccountRef: { name: "shop-eso" },
            },
          },
        },
      },
    });
    const es = converted("db-credentials").spec;
    assert.deepEqual(es.target, {
      name: "db-credentials",
      template: {
        type: "Opaque",
        data: { dsn: "postgres://{{ .username }}:{{ .password }}@db:5432/shop" },
        engineVersion: "v2",
      },
      creationPolicy: "Owner",
      deletionPolicy: "Retain",
    });
    assert.equal(es.refreshInterval, "15m");
  });

  void test("aws: Secrets Manager, JWT auth, v1beta1, ClusterSecretStore conditions", () => {
    const store = converted("aws-secrets");
    assert.equal(store.kind, "ClusterSecretStore");
    assert.deepEqual(store.spec, {
      provider: {
        aws: {
          region: "eu-central-1",
          role: "arn:aws:iam::123456789012:role/team-reader",
          auth: { jwt: { serviceAccountRef: { name: "eso-irsa", namespace: "platform" } } },
        },
      },
      conditions: [{ namespaces: ["shop"] }],
    });
    assert.deepEqual(converted("api-keys").spec.dataFrom, [
      {
        extract: { key: "shop/api-keys", conversionStrategy: "Default" },
        rewrite: [{ regexp: { source: "^(.*)$", target: "API_$1" } }],
      },
    ]);
  });

  void test("kubernetes, gcpsm, azurekv, fake", () => {
    assert.deepEqual(converted("cluster-secrets").spec, {
      provider: {
        kubernetes: { remoteNamespace: "shared", auth: { serviceAccount: { name: "shop-reader" } } },
      },
    });
    assert.deepEqual(converted("gcp").spec, {
      provider: {
        gcpsm: {
          projectID: "shop-prod-4711",
          auth: {
            workloadIdentity: {
              clusterLocation: "europe-west1",
              clusterName: "prod",
              clusterProjectID: "shop-prod-4711",
              serviceAccountRef: { name: "shop-gsm" },
            },
          },
        },
      },
    });
    const azure = converted("azure").spec as { provider: { azurekv: Record<string, unknown> } };
    assert.equal(azure.provider.azurekv.authType, "ServicePrincipal");
    assert.deepEqual(azure.provider.azurekv.authSecretRef, {
      clientId: { name: "azure-sp", key: "client-id" },
      clientSecret: { name: "azure-sp", key: "client-secret" },
    });
    assert.deepEqual(converted("demo").spec, {
      provider: { fake: { data: [{ key: "/shop/greeting", value: "hello", version: "v1" }] } },
    });
  });
});

void describe("metadataPolicy, conversion, nullBytePolicy and rewrite merge/transform", () => {
  const manifest = {
    apiVersion: "external-secrets.io/v1",
    kind: "ExternalSecret",
    metadata: { name: "app", namespace: "shop" },
    spec: {
      secretStoreRef: { name: "aws", kind: "SecretStore" },
      data: [
        {
          secretKey: "owner",
          remoteRef: {
            key: "shop/db",
            property: "owner",
            metadataPolicy: "Fetch",
            conversionStrategy: "Default",
            decodingStrategy: "None",
            nullBytePolicy: "Fail",
          },
        },
      ],
      dataFrom: [
        { extract: { key: "shop/db", metadataPolicy: "Fetch", conversionStrategy: "Unicode" } },
        { find: { name: { regexp: "^shop/" }, decodingStrategy: "Base64", nullBytePolicy: "Ignore" } },
        {
          find: { path: "shop/creds" },
          rewrite: [
            { merge: { strategy: "JSON", into: "all", priority: ["b"], conflictPolicy: "Ignore" } },
            { transform: { template: 'ENV_{{ .value | upper | replace "-" "_" }}' } },
          ],
        },
      ],
    },
  };

  void test("map to refsync's fields of the same meaning, which its schema accepts", () => {
    const result = convertEsoObject(manifest);
    assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
    const spec = result.object.spec as Record<string, unknown>;
    assert.deepEqual(spec.data, [
      {
        secretKey: "owner",
        remoteRef: {
          key: "shop/db",
          property: "owner",
          metadataPolicy: "Fetch",
          decodingStrategy: "None",
          nullBytePolicy: "Fail",
        },
      },
    ]);
    assert.deepEqual(spec.dataFrom, [
      { extract: { key: "shop/db", metadataPolicy: "Fetch", conversionStrategy: "Unicode" } },
      // ESO's default conversion, written out: refsync's unset refuses keys a Secret cannot hold.
      {
        find: {
          name: { regexp: "^shop/" },
          decodingStrategy: "Base64",
          nullBytePolicy: "Ignore",
          conversionStrategy: "Default",
        },
      },
      { ...manifest.spec.dataFrom[2], find: { path: "shop/creds", conversionStrategy: "Default" } },
    ]);
    assert.deepEqual(externalSecretSpecProblems(spec), []);
  });

  void test("ESO's enum values only", () => {
    const bad = structuredClone(manifest);
    (bad.spec.data[0] as { remoteRef: Record<string, unknown> }).remoteRef.metadataPolicy = "Always";
    const result = convertEsoObject(bad);
    assert.ok(result.ok);
    assert.match(externalSecretSpecProblems(result.object.spec).join(), /metadataPolicy/);
  });
});

void describe("ClusterExternalSecret", () => {
  const ces = (apiVersion: string, spec: Record<string, unknown>) => ({
    apiVersion,
    kind: "ClusterExternalSecret",
    metadata: { name: "db" },
    spec: {
      externalSecretSpec: {
        secretStoreRef: { name: "vault", kind: "ClusterSecretStore" },
        data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
      },
      ...spec,
    },
    status: { provisionedNamespaces: ["a"] },
  });

  for (const version of ["v1", "v1beta1"]) {
    void test(`external-secrets.io/${version}: converted with ESO's defaults, the deprecated selector folded in`, () => {
      const result = convertEsoObject(
        ces(`external-secrets.io/${version}`, {
          externalSecretName: "db-credentials",
          externalSecretMetadata: { labels: { app: "db" } },
          namespaceSelector: { matchLabels: { legacy: "yes" } },
          namespaceSelectors: [{ matchExpressions: [{ key: "team", operator: "In", values: ["a"] }] }],
          namespaces: ["ops"],
        }),
      );
      assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
      assert.deepEqual(result.object, {
        apiVersion: "refsync.dev/v1alpha1",
        kind: "ClusterExternalSecret",
        metadata: {
          name: "db",
          annotations: { [ANNOTATION_CONVERTED_FROM]: `external-secrets.io/${version}` },
        },
        spec: {
          externalSecretSpec: {
            secretStoreRef: { name: "vault", kind: "ClusterSecretStore" },
            data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
            refreshInterval: "1h",
            target: { creationPolicy: "Owner", deletionPolicy: "Retain" },
          },
          externalSecretName: "db-credentials",
          externalSecretMetadata: { labels: { app: "db" } },
          namespaceSelectors: [
            { matchLabels: { legacy: "yes" } },
            { matchExpressions: [{ key: "team", operator: "In", values: ["a"] }] },
          ],
          namespaces: ["ops"],
          refreshTime: "1h",
        },
      });
      assert.deepEqual(clusterExternalSecretSpecProblems(result.object.spec), []);
    });
  }

  void test("a field of the embedded ExternalSecret spec refsync lacks is refused by its full path", () => {
    const doc = ces("external-secrets.io/v1", { refreshTime: "30s" });
    (doc.spec.externalSecretSpec as Record<string, unknown>).dataFrom = [
      { sourceRef: { generatorRef: { kind: "SSHKey", name: "g" } } },
    ];
    const result = convertEsoObject(doc);
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.problems, [
      "spec.externalSecretSpec.dataFrom[0].sourceRef.generatorRef.kind: refsync has no SSHKey generator yet; it has Password, UUID, Fake, VaultDynamicSecret, ClusterGenerator",
    ]);
  });

  void test("a field ESO's ClusterExternalSecret does not have is refused", () => {
    const result = convertEsoObject(ces("external-secrets.io/v1", { namespaceRegexes: ["^team-"] }));
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.problems, [
      "spec.namespaceRegexes: refsync does not implement this ESO field",
    ]);
  });
});

/** Modelled on ESO's docs: one key from the default store, one from a store of its own (sourceRef.storeRef). */
const PER_ENTRY_STORES = `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: app
spec:
  secretStoreRef:
    name: aws-store
  target:
    template:
      engineVersion: v2
      data:
        password: '{{ .ciphertext | b64dec }}'
  data:
    - secretKey: privatekey
      remoteRef:
        key: signing-keys
        property: privatekey
      sourceRef:
        storeRef:
          name: kubernetes
    - secretKey: ciphertext
      remoteRef:
        key: /credentials/ciphertext
  dataFrom:
    - extract:
        key: shared/defaults
      sourceRef:
        storeRef:
          name: shared-vault
          kind: ClusterSecretStore
`;

void describe("per-entry stores (sourceRef.storeRef)", () => {
  const [doc] = parseAllDocuments(PER_ENTRY_STORES).map((d) => d.toJS() as Record<string, unknown>);

  void test("carry over, each storeRef with ESO's default kind written out", () => {
    const result = convertEsoObject(doc as Record<string, unknown>);
    assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
    const spec = result.object.spec as Record<string, unknown>;
    assert.deepEqual(spec.secretStoreRef, { name: "aws-store", kind: "SecretStore" });
    assert.deepEqual(spec.data, [
      {
        secretKey: "privatekey",
        remoteRef: { key: "signing-keys", property: "privatekey" },
        sourceRef: { storeRef: { name: "kubernetes", kind: "SecretStore" } },
      },
      { secretKey: "ciphertext", remoteRef: { key: "/credentials/ciphertext" } },
    ]);
    assert.deepEqual((spec.dataFrom as Record<string, unknown>[])[0]?.sourceRef, {
      storeRef: { name: "shared-vault", kind: "ClusterSecretStore" },
    });
    assert.deepEqual(externalSecretSpecProblems(spec), []);
  });

  void test("spec.secretStoreRef may be left out when every entry names its store, as in ESO", () => {
    const spec = structuredClone((doc as { spec: Record<string, unknown> }).spec);
    delete spec.secretStoreRef;
    const result = convertEsoObject({ ...(doc as Record<string, unknown>), spec });
    assert.ok(result.ok);
    // The second data entry names no store: ESO accepts the object and fails every sync on it.
    assert.deepEqual(externalSecretSpecProblems(result.object.spec), [
      "spec.data[1]: names no store: set spec.secretStoreRef, or sourceRef.storeRef on the entry",
    ]);
    (spec.data as Record<string, unknown>[]).splice(1, 1);
    const complete = convertEsoObject({ ...(doc as Record<string, unknown>), spec });
    assert.ok(complete.ok);
    assert.deepEqual(externalSecretSpecProblems(complete.object.spec), []);
  });

  void test("generatorRef is refused in data[] (ESO implements it only in dataFrom), converted in dataFrom", () => {
    const spec = {
      secretStoreRef: { name: "s" },
      data: [
        {
          secretKey: "k",
          remoteRef: { key: "k" },
          sourceRef: { generatorRef: { kind: "Password", name: "p" } },
        },
      ],
      dataFrom: [{ sourceRef: { generatorRef: { kind: "Password", name: "p" } } }],
    };
    const result = convertEsoObject({
      apiVersion: "external-secrets.io/v1",
      kind: "ExternalSecret",
      metadata: { name: "x" },
      spec,
    });
    assert.deepEqual(result.ok ? [] : result.problems, [
      "spec.data[0].sourceRef.generatorRef: refsync does not implement this ESO field (ESO does not implement generators in data[] either)",
    ]);
    spec.data = [];
    const converted = convertEsoObject({
      apiVersion: "external-secrets.io/v1",
      kind: "ExternalSecret",
      metadata: { name: "x" },
      spec,
    });
    assert.ok(converted.ok);
    assert.deepEqual((converted.object.spec as typeof spec).dataFrom, [
      {
        sourceRef: {
          generatorRef: { apiVersion: "generators.refsync.dev/v1alpha1", kind: "Password", name: "p" },
        },
      },
    ]);
  });

  void test("a storeRef of another kind, or an empty sourceRef, fails refsync's validation naming the field", () => {
    const problems = externalSecretSpecProblems({
      secretStoreRef: { name: "s" },
      data: [
        { secretKey: "a", remoteRef: { key: "a" }, sourceRef: { storeRef: { name: "t", kind: "Vault" } } },
        { secretKey: "b", remoteRef: { key: "b" }, sourceRef: {} },
      ],
    });
    assert.equal(problems.length, 2, problems.join("; "));
    assert.match(problems[0] ?? "", /^spec\.data\[0\]\.sourceRef\.storeRef\.kind: /);
    assert.match(problems[1] ?? "", /^spec\.data\[1\]\.sourceRef\.storeRef: /);
  });
});
