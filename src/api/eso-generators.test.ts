/**
 * ESO's generator objects (generators.external-secrets.io/v1alpha1) become
 * refsync's of the same kind (generators.refsync.dev/v1alpha1); the kinds
 * refsync has no generator for are refused by name, never dropped.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ANNOTATION_CONVERTED_FROM, convertEsoObject, esoRule } from "./eso.ts";
import { generatorSpecOf } from "./generator-spec.ts";
import { GENERATORS_API_VERSION } from "./generators.ts";

const eso = (kind: string, spec: unknown) => ({
  apiVersion: "generators.external-secrets.io/v1alpha1",
  kind,
  metadata: { name: "gen", namespace: "shop" },
  spec,
});

void describe("ESO generators", () => {
  void test("Password keeps every field, with the refsync group and the converted-from annotation", () => {
    // ESO's generator-password.yaml and generator-password-multiple-keys.yaml settings.
    const spec = {
      length: 42,
      digits: 5,
      symbols: 5,
      symbolCharacters: "-_$@",
      noUpper: false,
      allowRepeat: true,
      secretKeys: ["password", "admin-password"],
      encoding: "base64",
    };
    const out = convertEsoObject(eso("Password", spec));
    assert.ok(out.ok);
    assert.equal(out.object.apiVersion, GENERATORS_API_VERSION);
    assert.equal(out.object.kind, "Password");
    assert.deepEqual(out.object.spec, spec);
    assert.deepEqual((out.object.metadata as { annotations: object }).annotations, {
      [ANNOTATION_CONVERTED_FROM]: "generators.external-secrets.io/v1alpha1",
    });
    assert.doesNotThrow(() => generatorSpecOf("Password", out.object.spec));
  });

  void test("Fake keeps data and its controller class (ESO's shouldSkipGenerator reads it), with no note", () => {
    const out = convertEsoObject(eso("Fake", { controller: "dev", data: { foo: "bar", baz: "bang" } }));
    assert.ok(out.ok);
    assert.deepEqual(out.object.spec, { controller: "dev", data: { foo: "bar", baz: "bang" } });
    assert.deepEqual(out.dropped, []);
    assert.deepEqual(generatorSpecOf("Fake", out.object.spec).spec, out.object.spec);
  });

  void test("a ClusterGenerator's wrapped spec keeps its controller class", () => {
    const spec = {
      kind: "VaultDynamicSecret",
      generator: {
        vaultDynamicSecretSpec: {
          controller: "dev",
          path: "pki/issue/web",
          provider: { server: "https://vault:8200", auth: { tokenSecretRef: { name: "t", key: "token" } } },
        },
      },
    };
    const out = convertEsoObject(eso("ClusterGenerator", spec));
    assert.ok(out.ok);
    assert.deepEqual(out.object.spec, spec);
    assert.deepEqual(out.dropped, []);
    assert.deepEqual(
      generatorSpecOf("ClusterGenerator", out.object.spec).spec,
      spec.generator.vaultDynamicSecretSpec,
    );
  });

  void test("UUID: an empty spec, also when ESO's is left out", () => {
    const out = convertEsoObject(eso("UUID", undefined));
    assert.ok(out.ok);
    assert.deepEqual(out.object.spec, {});
  });

  void test("ClusterGenerator: its kind and that kind's spec", () => {
    const spec = { kind: "Password", generator: { passwordSpec: { length: 42, allowRepeat: true } } };
    const out = convertEsoObject(eso("ClusterGenerator", spec));
    assert.ok(out.ok);
    assert.deepEqual(out.object.spec, spec);
    assert.deepEqual(generatorSpecOf("ClusterGenerator", out.object.spec), {
      kind: "Password",
      spec: spec.generator.passwordSpec,
    });
  });

  void test("kinds refsync has no generator for are refused by name", () => {
    for (const kind of ["GCRAccessToken", "ECRAuthorizationToken", "STSSessionToken", "SSHKey", "Webhook"]) {
      const out = convertEsoObject(eso(kind, {}));
      assert.ok(!out.ok);
      assert.match(out.problems.join("\n"), new RegExp(`^kind: refsync has no ${kind} generator yet`));
    }
    const cluster = convertEsoObject(
      eso("ClusterGenerator", {
        kind: "SSHKey",
        generator: { sshKeySpec: { keyType: "rsa" } },
      }),
    );
    assert.ok(!cluster.ok);
    assert.deepEqual(
      cluster.problems.map((p) => p.split(":")[0]),
      ["spec.kind", "spec.generator.sshKeySpec"],
    );
  });

  void test("VaultDynamicSecret: ESO's PKI snippet keeps its fields; kubernetes auth as ESO reads it", () => {
    // ESO's docs/snippets/generator-vault.yaml, with both of kubernetes' token sources set.
    const spec = {
      path: "/pki/issue/example-dot-com",
      method: "POST",
      parameters: { common_name: "localhost", ip_sans: "127.0.0.1,127.0.0.11" },
      resultType: "Data",
      provider: {
        server: "http://vault.default.svc.cluster.local:8200",
        path: "secret",
        version: "v2",
        auth: {
          kubernetes: {
            mountPath: "kubernetes",
            role: "external-secrets-operator",
            serviceAccountRef: { name: "default" },
            secretRef: { name: "sa-token" },
          },
        },
      },
    };
    const out = convertEsoObject(eso("VaultDynamicSecret", spec));
    assert.ok(out.ok, out.ok ? "" : out.problems.join("; "));
    assert.equal(out.object.apiVersion, GENERATORS_API_VERSION);
    assert.deepEqual(out.object.spec, {
      ...spec,
      provider: {
        server: spec.provider.server,
        auth: {
          kubernetes: {
            mountPath: "kubernetes",
            role: "external-secrets-operator",
            serviceAccountRef: { name: "default" },
          },
        },
      },
    });
    assert.deepEqual(
      out.dropped.map((d) => d.path),
      ["spec.provider.path", "spec.provider.version", "spec.provider.auth.kubernetes.secretRef"],
    );
    assert.deepEqual(generatorSpecOf("VaultDynamicSecret", out.object.spec).kind, "VaultDynamicSecret");
    const cluster = convertEsoObject(
      eso("ClusterGenerator", { kind: "VaultDynamicSecret", generator: { vaultDynamicSecretSpec: spec } }),
    );
    assert.ok(cluster.ok);
    const inner = (cluster.object.spec as { generator: { vaultDynamicSecretSpec: object } }).generator;
    assert.deepEqual(inner.vaultDynamicSecretSpec, out.object.spec);
    assert.deepEqual(
      cluster.dropped.map((d) => d.path),
      [
        "spec.generator.vaultDynamicSecretSpec.provider.path",
        "spec.generator.vaultDynamicSecretSpec.provider.version",
        "spec.generator.vaultDynamicSecretSpec.provider.auth.kubernetes.secretRef",
      ],
    );
  });

  void test("ESO's GeneratorState is refused, saying why", () => {
    const out = convertEsoObject(eso("GeneratorState", { resource: {}, state: {} }));
    assert.ok(!out.ok);
    assert.match(
      out.problems.join(),
      /^kind: GeneratorState is ESO's controller's record .* keep none: leave it out$/,
    );
  });

  void test("an unknown field is refused, naming it", () => {
    const out = convertEsoObject(eso("Password", { lenght: 4 }));
    assert.ok(!out.ok);
    assert.deepEqual(out.problems, ["spec.lenght: refsync does not implement this ESO field"]);
    assert.equal(esoRule("Password", "spec.length")?.kind, "map");
  });

  /**
   * Every field of ESO's generator types for the kinds refsync has (apis/generators/v1alpha1:
   * types_password.go, types_uuid.go, types_fake.go, types_vault.go, types_cluster.go; for
   * VaultDynamicSecret's provider, its own fields; the Vault provider's are the stores'), with a value ESO
   * accepts: each comes out in the refsync object, is dropped with a note, or is refused by name.
   */
  const FIELDS: [kind: string, path: string, value: unknown, outcome: "kept" | "dropped" | "refused"][] = [
    ["Password", "length", 12, "kept"],
    ["Password", "digits", 2, "kept"],
    ["Password", "symbols", 2, "kept"],
    ["Password", "symbolCharacters", "-_", "kept"],
    ["Password", "noUpper", true, "kept"],
    ["Password", "allowRepeat", true, "kept"],
    ["Password", "secretKeys", ["a", "b"], "kept"],
    ["Password", "encoding", "hex", "kept"],
    ["Fake", "data", { k: "v" }, "kept"],
    ["Fake", "controller", "dev", "kept"],
    ["ClusterGenerator", "generator.passwordSpec", { length: 12 }, "kept"],
    ["ClusterGenerator", "generator.fakeSpec", { data: { k: "v" } }, "kept"],
    ["ClusterGenerator", "generator.uuidSpec", {}, "kept"],
    ["ClusterGenerator", "generator.vaultDynamicSecretSpec", { path: "pki/issue/x" }, "kept"],
    ["VaultDynamicSecret", "path", "pki/issue/web", "kept"],
    ["VaultDynamicSecret", "method", "POST", "kept"],
    ["VaultDynamicSecret", "parameters", { common_name: "a", ttl: 60, alt: ["b"] }, "kept"],
    ["VaultDynamicSecret", "getParameters", { version: ["1", "2"] }, "kept"],
    ["VaultDynamicSecret", "resultType", "Auth", "kept"],
    ["VaultDynamicSecret", "allowEmptyResponse", true, "kept"],
    ["VaultDynamicSecret", "retrySettings", { maxRetries: 2, retryInterval: "5s" }, "kept"],
    ["VaultDynamicSecret", "controller", "dev", "kept"],
    ["VaultDynamicSecret", "provider.server", "https://vault:8200", "kept"],
    ["VaultDynamicSecret", "provider.namespace", "team-a", "kept"],
    ["VaultDynamicSecret", "provider.headers", { "X-Proxy": "1" }, "kept"],
    ["VaultDynamicSecret", "provider.auth.tokenSecretRef", { name: "t", key: "token" }, "kept"],
    ["VaultDynamicSecret", "provider.auth.gcp", { role: "r" }, "refused"],
    ["VaultDynamicSecret", "provider.path", "secret", "dropped"],
    ["VaultDynamicSecret", "provider.version", "v1", "dropped"],
    ["VaultDynamicSecret", "provider.checkAndSet", { required: true }, "dropped"],
    ...[
      "acrAccessTokenSpec",
      "beyondtrustWorkloadCredentialsDynamicSecretSpec",
      "cloudsmithAccessTokenSpec",
      "ecrAuthorizationTokenSpec",
      "gcrAccessTokenSpec",
      "githubAccessTokenSpec",
      "gitlabDeployTokenSpec",
      "quayAccessTokenSpec",
      "sshKeySpec",
      "stsSessionTokenSpec",
      "webhookSpec",
      "grafanaSpec",
      "mfaSpec",
    ].map((key): [string, string, unknown, "refused"] => [
      "ClusterGenerator",
      `generator.${key}`,
      { x: 1 },
      "refused",
    ]),
  ];
  for (const [kind, path, value, outcome] of FIELDS) {
    void test(`${kind} spec.${path}: ${outcome}`, () => {
      const spec: Record<string, unknown> = {};
      let at = spec;
      const parts = path.split(".");
      parts.slice(0, -1).forEach((p) => (at = (at[p] = {}) as Record<string, unknown>));
      at[parts.at(-1) as string] = value;
      if (kind === "ClusterGenerator") spec.kind = "Password";
      const out = convertEsoObject(eso(kind, spec));
      if (outcome === "refused") {
        assert.ok(!out.ok);
        assert.ok(
          out.problems.some(
            (p) =>
              p.startsWith(`spec.${path}: `) &&
              /generator yet|refsync does not implement this ESO field/.test(p),
          ),
          out.problems.join("; "),
        );
        return;
      }
      assert.ok(out.ok, out.ok ? "" : out.problems.join("; "));
      let got: unknown = out.object.spec;
      for (const p of parts) got = (got as Record<string, unknown> | undefined)?.[p];
      if (outcome === "kept") assert.deepEqual(got, value);
      else {
        assert.equal(got, undefined);
        assert.deepEqual(
          out.dropped.map((d) => d.path),
          [`spec.${path}`],
        );
      }
    });
  }
});
