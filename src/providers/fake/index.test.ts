import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import { fakeProvider } from "./index.ts";

const context = {
  storeName: "SecretStore/demo/fake",
  readCredential: () => Promise.reject(new Error("unused")),
};

void test("reads the last version by default and a pinned version on request", async () => {
  const client = fakeProvider.create(
    {
      data: [
        { key: "team-a/db", valueMap: { password: "one" } },
        { key: "team-a/db", valueMap: { password: "two" } },
        { key: "token", value: "abc", version: "v7" },
      ],
    },
    context,
  );
  assert.deepEqual(await client.read({ key: "team-a/db" }), { data: { password: "two" }, version: "2" });
  assert.deepEqual(await client.read({ key: "team-a/db", version: "1" }), {
    data: { password: "one" },
    version: "1",
  });
  assert.deepEqual(await client.read({ key: "token" }), { data: "abc", version: "v7" });
  assert.equal(await client.currentVersion?.({ key: "team-a/db" }), "2");
  assert.deepEqual(await client.validate(), { status: "Ready" });
});

void test("missing keys and versions are SecretNotFoundError naming store, key and version", async () => {
  const client = fakeProvider.create({ data: [{ key: "a", value: "x" }] }, context);
  await assert.rejects(client.read({ key: "b" }), (e: Error) => {
    assert.ok(e instanceof SecretNotFoundError);
    assert.equal(e.message, 'SecretStore/demo/fake: key "b" not found');
    return true;
  });
  await assert.rejects(client.read({ key: "a", version: "9" }), /key "a" version "9" not found/);
});

void test("a read returns a copy", async () => {
  const client = fakeProvider.create({ data: [{ key: "a", valueMap: { p: "x" } }] }, context);
  const first = await client.read({ key: "a" });
  (first.data as Record<string, unknown>).p = "changed";
  assert.deepEqual((await client.read({ key: "a" })).data, { p: "x" });
});

void test("loads entries from a YAML file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "refsync-fake-"));
  const file = join(dir, "data.yaml");
  await writeFile(file, "data:\n  - key: from-file\n    valueMap: { k: v }\n");
  const client = fakeProvider.create({ file }, context);
  assert.deepEqual((await client.read({ key: "from-file" })).data, { k: "v" });
  assert.throws(
    () => fakeProvider.create({ file: join(dir, "nope.yaml") }, context),
    /spec.provider.fake.file: cannot read/,
  );
});

void test("invalid specs name the field", () => {
  assert.throws(
    () => fakeProvider.create({ data: [{ key: "a" }] }, context),
    (e: Error) =>
      e instanceof InvalidSpecError &&
      /^spec\.provider\.fake\.data\[0\]: set exactly one of value and valueMap/.test(e.message),
  );
  assert.throws(
    () => fakeProvider.create({ data: [{ key: "", value: "x" }] }, context),
    /spec\.provider\.fake\.data\[0\]\.key/,
  );
});

void test("list filters by path, name and tags; write adds versions", async () => {
  const client = fakeProvider.create(
    {
      data: [
        { key: "team-a/db", value: "1", tags: { env: "prod" } },
        { key: "team-a/api", value: "2" },
        { key: "team-b/db", value: "3", tags: { env: "prod" } },
      ],
    },
    context,
  );
  assert.deepEqual(await client.list({ path: "team-a/" }), ["team-a/api", "team-a/db"]);
  assert.deepEqual(await client.list({ name: { regexp: "db$" } }), ["team-a/db", "team-b/db"]);
  assert.deepEqual(await client.list({ tags: { env: "prod" }, path: "team-b" }), ["team-b/db"]);
  assert.deepEqual(await client.write?.("new", { a: "1" }), { outcome: "created", version: "1" });
  assert.deepEqual(await client.write?.("new", { a: "1" }), { outcome: "unchanged", version: "1" });
  assert.deepEqual(await client.write?.("new", { a: "2" }), { outcome: "updated", version: "2" });
  assert.deepEqual((await client.read({ key: "new", version: "1" })).data, { a: "1" });
});
