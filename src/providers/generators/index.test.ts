import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generatorSpecOf } from "../../api/generator-spec.ts";
import { InvalidSpecError } from "../../errors.ts";
import { generate } from "./index.ts";

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

void describe("generators", () => {
  void test("UUID: a new version 4 UUID under the key uuid", async () => {
    const a = await generate(generatorSpecOf("UUID", {}));
    const b = await generate(generatorSpecOf("UUID", {}));
    assert.deepEqual(Object.keys(a), ["uuid"]);
    assert.match(text(a.uuid), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(text(a.uuid), text(b.uuid));
  });

  void test("Fake: its data as it is", async () => {
    const out = await generate(generatorSpecOf("Fake", { data: { foo: "bar", baz: "bang" } }));
    assert.deepEqual(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, text(v)])), {
      foo: "bar",
      baz: "bang",
    });
    assert.deepEqual(await generate(generatorSpecOf("Fake", {})), {});
  });

  void test("ClusterGenerator: unwrapped into the kind it names", async () => {
    const spec = { kind: "Password", generator: { passwordSpec: { length: 42, digits: 5, symbols: 5 } } };
    assert.deepEqual(generatorSpecOf("ClusterGenerator", spec), {
      kind: "Password",
      spec: spec.generator.passwordSpec,
    });
    assert.equal(text((await generate(generatorSpecOf("ClusterGenerator", spec))).password).length, 42);
  });

  void test("ClusterGenerator: the spec must match the kind", () => {
    assert.throws(
      () => generatorSpecOf("ClusterGenerator", { kind: "Password", generator: { uuidSpec: {} } }),
      /spec\.generator\.passwordSpec: kind Password needs passwordSpec/,
    );
    assert.throws(
      () => generatorSpecOf("ClusterGenerator", { kind: "VaultDynamicSecret", generator: {} }),
      InvalidSpecError,
    );
  });

  void test("a typo is an error naming the field", () => {
    assert.throws(() => generatorSpecOf("Password", { lenght: 3 }), /spec\.lenght: unknown field/);
    assert.throws(() => generatorSpecOf("SSHKey", {}), /kind: refsync has no SSHKey generator/);
  });
});
