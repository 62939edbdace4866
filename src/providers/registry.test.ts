import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidSpecError } from "../errors.ts";
import { createProviderClient, providerByName, providerBySpecKey, providerForSpec } from "./registry.ts";

const context = { storeName: "SecretStore/ns/s", readCredential: () => Promise.reject(new Error("unused")) };

void test("finds providers by reference name and by spec key", () => {
  assert.equal(providerByName("fake")?.specKey, "fake");
  assert.equal(providerByName("k8s")?.specKey, "kubernetes");
  assert.equal(providerBySpecKey("kubernetes")?.name, "k8s");
  assert.equal(providerByName("nope"), undefined);
});

void test("builds a client from a store's spec.provider", async () => {
  const client = createProviderClient({ fake: { data: [{ key: "a", value: "b" }] } }, context);
  assert.equal(client.provider, "fake");
  assert.equal((await client.read({ key: "a" })).data, "b");
});

void test("spec.provider must set exactly one known provider", () => {
  assert.throws(
    () => providerForSpec({}),
    (e: Error) => e instanceof InvalidSpecError && /found none/.test(e.message),
  );
  assert.throws(() => providerForSpec({ fake: {}, kubernetes: {} }), /found fake, kubernetes/);
  assert.throws(() => providerForSpec({ nope: {} } as never), /spec\.provider\.nope: unknown provider/);
});
