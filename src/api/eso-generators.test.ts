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

  void test("Fake keeps data and drops controller, which ESO never reads, with a note", () => {
    const out = convertEsoObject(eso("Fake", { controller: "dev", data: { foo: "bar", baz: "bang" } }));
    assert.ok(out.ok);
    assert.deepEqual(out.object.spec, { data: { foo: "bar", baz: "bang" } });
    assert.deepEqual(
      out.dropped.map((d) => d.path),
      ["spec.controller"],
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
    for (const kind of [
      "VaultDynamicSecret",
      "ECRAuthorizationToken",
      "STSSessionToken",
      "SSHKey",
      "Webhook",
    ]) {
      const out = convertEsoObject(eso(kind, {}));
      assert.ok(!out.ok);
      assert.match(out.problems.join("\n"), new RegExp(`^kind: refsync has no ${kind} generator yet`));
    }
    const cluster = convertEsoObject(
      eso("ClusterGenerator", {
        kind: "VaultDynamicSecret",
        generator: { vaultDynamicSecretSpec: { path: "x" } },
      }),
    );
    assert.ok(!cluster.ok);
    assert.deepEqual(
      cluster.problems.map((p) => p.split(":")[0]),
      ["spec.kind", "spec.generator.vaultDynamicSecretSpec"],
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
   * types_password.go, types_uuid.go, types_fake.go, types_cluster.go), with a value ESO
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
    ["Fake", "controller", "dev", "dropped"],
    ["ClusterGenerator", "generator.passwordSpec", { length: 12 }, "kept"],
    ["ClusterGenerator", "generator.fakeSpec", { data: { k: "v" } }, "kept"],
    ["ClusterGenerator", "generator.uuidSpec", {}, "kept"],
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
      "vaultDynamicSecretSpec",
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
        assert.ok(out.problems.some((p) => p.startsWith(`spec.${path}: `) && p.includes("generator yet")));
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
