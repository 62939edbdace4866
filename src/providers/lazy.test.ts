import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeProvider } from "./fake/index.ts";
import { lazyClient } from "./lazy.ts";

const context = { storeName: "SecretStore/ns/s", readCredential: () => Promise.reject(new Error("unused")) };

function counted() {
  const loads = { count: 0 };
  const client = lazyClient({ provider: "fake", methods: ["write"] }, () => {
    loads.count++;
    return Promise.resolve(fakeProvider.create({ data: [{ key: "a", value: "b" }] }, context));
  });
  return { client, loads };
}

void test("loads the implementation once, on first use", async () => {
  const { client, loads } = counted();
  assert.equal(loads.count, 0);
  const [a, b] = await Promise.all([client.read({ key: "a" }), client.read({ key: "a" })]);
  assert.equal(a.data, "b");
  assert.equal(b.data, "b");
  await client.write!("c", { v: "d" });
  assert.deepEqual((await client.read({ key: "c" })).data, { v: "d" });
  assert.equal(loads.count, 1);
});

void test("has exactly the optional members its shape declares", () => {
  const { client } = counted();
  assert.equal(client.provider, "fake");
  assert.equal(typeof client.write, "function");
  assert.equal(client.readMany, undefined);
  assert.equal(client.renewLease, undefined);
  assert.equal(client.metersOwnRequests, undefined);
  const metered = lazyClient({ provider: "awssecrets", methods: ["readMany"], metersOwnRequests: true }, () =>
    Promise.reject(new Error("not loaded")),
  );
  assert.equal(metered.metersOwnRequests, true);
  assert.equal(typeof metered.readMany, "function");
});

void test("closing a client never used loads nothing", async () => {
  const { client, loads } = counted();
  await client.close();
  assert.equal(loads.count, 0);
});

void test("a failed load fails the call", async () => {
  const client = lazyClient({ provider: "vault", methods: [] }, () => Promise.reject(new Error("no module")));
  await assert.rejects(client.read({ key: "a" }), /no module/);
  await client.close();
});
