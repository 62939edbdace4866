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

  void test("an unknown field is refused, naming it", () => {
    const out = convertEsoObject(eso("Password", { lenght: 4 }));
    assert.ok(!out.ok);
    assert.deepEqual(out.problems, ["spec.lenght: refsync does not implement this ESO field"]);
    assert.equal(esoRule("Password", "spec.length")?.kind, "map");
  });
});
