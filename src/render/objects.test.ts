import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { allProviders } from "../providers/registry.ts";
import { checkObjects, isRefsyncObject, refsyncObjectProblems } from "./objects.ts";

const externalSecret = (spec: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: "refsync.dev/v1alpha1",
  kind: "ExternalSecret",
  metadata: { name: "db", namespace: "shop" },
  spec,
  ...extra,
});
const store = (kind: string, spec: unknown) => ({
  apiVersion: "refsync.dev/v1alpha1",
  kind,
  metadata: { name: "demo" },
  spec,
});
const validEs = {
  secretStoreRef: { name: "demo", kind: "SecretStore" },
  refreshInterval: "1h",
  target: { name: "db" },
  data: [{ secretKey: "password", remoteRef: { key: "shop/db", property: "password" } }],
};
const fake = { provider: { fake: { data: [{ key: "shop/db", value: "s3cr3t-value" }] } } };

void describe("refsyncObjectProblems", () => {
  void test("a VaultDynamicSecret's provider is checked as a Vault store's, less path and version", () => {
    const generator = (kind: string, spec: unknown) => ({
      apiVersion: "generators.refsync.dev/v1alpha1",
      kind,
      metadata: { name: "pki" },
      spec,
    });
    const vds = (provider: unknown) => ({ path: "pki/issue/web", method: "POST", provider });
    const server = "https://vault:8200";
    const auth = { kubernetes: { role: "pki", serviceAccountRef: { name: "app" } } };
    assert.deepEqual(refsyncObjectProblems(generator("VaultDynamicSecret", vds({ server, auth }))), []);
    assert.deepEqual(
      refsyncObjectProblems(generator("VaultDynamicSecret", vds({ server: "vault", path: "secret", auth }))),
      [
        "spec.provider.path: no effect in a VaultDynamicSecret, which calls spec.path: leave it out",
        "spec.provider.server: Invalid URL",
      ],
    );
    assert.deepEqual(
      refsyncObjectProblems(
        generator("ClusterGenerator", {
          kind: "VaultDynamicSecret",
          generator: { vaultDynamicSecretSpec: vds({ server, auth: { kubernetes: {} } }) },
        }),
      ).map((p) => p.split(":")[0]),
      ["spec.generator.vaultDynamicSecretSpec.provider.auth.kubernetes.role"],
    );
  });

  void test("valid objects of every kind have none", () => {
    assert.deepEqual(refsyncObjectProblems(externalSecret(validEs)), []);
    assert.deepEqual(refsyncObjectProblems(store("SecretStore", fake)), []);
    assert.deepEqual(
      refsyncObjectProblems(
        store("ClusterSecretStore", {
          provider: {
            vault: {
              server: "https://vault:8200",
              path: "secret",
              auth: { kubernetes: { role: "refsync", serviceAccountRef: { name: "refsync" } } },
            },
          },
          conditions: [{ namespaces: ["shop"] }],
        }),
      ),
      [],
    );
    // Status as the controller wrote it (an exported object) is not a typo.
    assert.deepEqual(
      refsyncObjectProblems(externalSecret(validEs, { status: { refreshTime: "2026-01-01T00:00:00Z" } })),
      [],
    );
  });

  void test("an unknown field at any level is named by its path", () => {
    const es = structuredClone(validEs) as Record<string, unknown> & typeof validEs;
    (es.data[0]?.remoteRef as Record<string, unknown>).proprety = "password";
    assert.deepEqual(refsyncObjectProblems(externalSecret(es)), [
      "spec.data[0].remoteRef.proprety: unknown field",
    ]);
    assert.deepEqual(refsyncObjectProblems(store("SecretStore", { ...fake, rateLimt: { qps: 5 } })), [
      "spec.rateLimt: unknown field",
    ]);
    assert.deepEqual(refsyncObjectProblems(store("SecretStore", { provider: { fake: { dat: [] } } })), [
      "spec.provider.fake.dat: unknown field",
    ]);
    assert.deepEqual(refsyncObjectProblems({ ...externalSecret(validEs), spce: {} }), [
      "spce: unknown field",
    ]);
  });

  void test("every registered provider's section is parsed by its own schema", () => {
    for (const provider of allProviders()) {
      const problems = refsyncObjectProblems(
        store("SecretStore", { provider: { [provider.specKey]: { refsyncTypo: true } } }),
      );
      assert.ok(
        problems.includes(`spec.provider.${provider.specKey}.refsyncTypo: unknown field`),
        `${provider.specKey}: ${problems.join("; ")}`,
      );
    }
    assert.deepEqual(
      refsyncObjectProblems(
        store("SecretStore", {
          provider: {
            vault: {
              server: "https://vault:8200",
              path: "secret",
              auth: { kubernetes: { role: "r", serviceAccountRef: { name: "sa", namespaec: "x" } } },
            },
          },
        }),
      ),
      ["spec.provider.vault.auth.kubernetes.serviceAccountRef.namespaec: unknown field"],
    );
  });

  void test("every problem is listed, not only the first few, and none quotes a value", () => {
    const spec = {
      secretStoreRef: { name: "demo", knd: "SecretStore" },
      refreshIntervl: "1h",
      target: { nme: "db" },
      data: [{ secretKey: "password", remoteRef: { key: "shop/db", proprety: "password" } }],
      rolout: {},
    };
    const problems = refsyncObjectProblems(externalSecret(spec));
    assert.deepEqual(problems.toSorted(), [
      "spec.data[0].remoteRef.proprety: unknown field",
      "spec.refreshIntervl: unknown field",
      "spec.rolout: unknown field",
      "spec.secretStoreRef.knd: unknown field",
      "spec.target.nme: unknown field",
    ]);
    const bad = refsyncObjectProblems(
      store("SecretStore", {
        provider: { fake: { data: [{ key: "k", value: "s3cr3t-value", vlaue: "s3cr3t-2" }] } },
      }),
    );
    assert.deepEqual(bad, ["spec.provider.fake.data[0].vlaue: unknown field"]);
    assert.ok(!bad.join("\n").includes("s3cr3t"));
  });

  void test("the rules the controller applies beyond unknown fields", () => {
    assert.deepEqual(refsyncObjectProblems(externalSecret({ secretStoreRef: { name: "demo" } })), [
      "spec: set data, dataFrom, target.template.data or target.template.templateFrom",
    ]);
    assert.match(
      refsyncObjectProblems(store("SecretStore", { provider: { fake: {}, vault: { server: "x" } } }))[0] ??
        "",
      /^spec\.provider: set exactly one of .* \(found fake, vault\)$/,
    );
    // An unknown provider is an unknown field, not also a second "exactly one" problem about it.
    assert.deepEqual(refsyncObjectProblems(store("SecretStore", { provider: { faek: {}, fake: {} } })), [
      "spec.provider.faek: unknown field",
    ]);
    assert.deepEqual(refsyncObjectProblems(store("SecretStore", { ...fake, rateLimit: { qps: 0 } })), [
      "spec.rateLimit.qps: must be greater than 0 (omit rateLimit for the default of 50 reads/s, burst 100)",
    ]);
    assert.deepEqual(refsyncObjectProblems(store("SecretStore", undefined)), [
      "spec: Invalid input: expected object, received undefined",
    ]);
  });

  void test("kinds and versions the API group does not serve", () => {
    assert.deepEqual(
      refsyncObjectProblems({ ...externalSecret(validEs), apiVersion: "refsync.dev/v1beta1" }),
      ["apiVersion: refsync.dev serves only refsync.dev/v1alpha1"],
    );
    assert.deepEqual(refsyncObjectProblems({ ...externalSecret(validEs), kind: "ExternalSecrets" }), [
      "kind: not a refsync.dev kind (ExternalSecret, SecretStore, ClusterSecretStore, ClusterExternalSecret)",
    ]);
  });

  void test("a ClusterExternalSecret: its own fields and its embedded ExternalSecret spec, by path", () => {
    const ces = (spec: Record<string, unknown>) => ({
      apiVersion: "refsync.dev/v1alpha1",
      kind: "ClusterExternalSecret",
      metadata: { name: "db" },
      spec,
    });
    assert.deepEqual(
      refsyncObjectProblems(
        ces({ externalSecretSpec: validEs, namespaceSelectors: [{ matchLabels: { a: "b" } }] }),
      ),
      [],
    );
    assert.deepEqual(
      refsyncObjectProblems(ces({ externalSecretSpec: validEs, namespaces: ["Not_A_Namespace"] })),
      ["spec.namespaces[0]: must be a namespace name (lower case alphanumerics or '-')"],
    );
    const empty = refsyncObjectProblems(ces({ externalSecretSpec: { secretStoreRef: { name: "s" } } }));
    assert.equal(empty.length, 1);
    assert.match(empty[0] ?? "", /^spec\.externalSecretSpec: set data, dataFrom/);
  });

  void test("objects of other API groups are not refsync's to check", () => {
    assert.equal(isRefsyncObject({ apiVersion: "v1", kind: "Secret" }), false);
    assert.equal(isRefsyncObject({ apiVersion: "refsync.dev.example.com/v1", kind: "X" }), false);
    assert.deepEqual(refsyncObjectProblems({ apiVersion: "v1", kind: "Secret", stringDta: {} }), []);
  });
});

void test("checkObjects counts refsync objects and locates each problem", () => {
  const result = checkObjects([
    { file: "a.yaml", index: 0, value: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } } },
    { file: "a.yaml", index: 1, value: externalSecret(validEs) },
    { file: "b.yaml", index: 2, value: store("SecretStore", { ...fake, rateLimt: {} }) },
  ]);
  assert.deepEqual(result, {
    checked: 2,
    errors: ["b.yaml: document 2: SecretStore/demo: spec.rateLimt: unknown field"],
  });
});
