// refsync migrate on the shapes a Secret's value maps take: only stringData,
// both, an empty data map, `data: null`. Each file is rewritten with its
// layout and comments kept; a data field that is not a map stops migrate
// before any write, naming the file, the object and the field.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { migrateCommand } from "../../src/cli/migrate.ts";
import { MigrateError } from "../../src/errors.ts";
import { migrate } from "../../src/git/migrate.ts";
import { createProviderClient } from "../../src/providers/registry.ts";
import type { ProviderClient } from "../../src/providers/types.ts";
import { collector } from "./io.ts";
import { createRepo, type TestRepo } from "./repo.ts";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

/** A Secret whose `data` is written as `data` (empty, null), with one value in stringData. */
function dataAs(name: string, data: string, value: string): { before: string; after: [string, string][] } {
  return {
    before: `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\ndata: ${data}\nstringData:\n  key: ${value}\n`,
    after: [[value, `ref+fake://m/${name}#key`]],
  };
}

/** Each Secret as committed, and as migrate must leave it (or the values it swaps for references). */
const CASES: Record<string, { before: string; after: string | [string, string][] }> = {
  "string-data-only.yaml": {
    before: `# only stringData, no data
apiVersion: v1
kind: Secret
metadata:
  name: only
  namespace: prod
stringData:
  # the password
  password: s3cret-only-9f2c # inline comment
`,
    after: [["s3cret-only-9f2c", "ref+fake://m/prod/only#password"]],
  },
  "both.yaml": {
    before: `apiVersion: v1
kind: Secret
metadata:
  name: both
stringData:
  user: app-user-77a1
data:
  token: ${b64("tok-both-4b8e")}
`,
    after: `apiVersion: v1
kind: Secret
metadata:
  name: both
stringData:
  user: ref+fake://m/both#user
  token: ref+fake://m/both#token
`,
  },
  "empty-data.yaml": dataAs("empty", "{}", "empty-data-value-1c3d"),
  "null-data.yaml": dataAs("nulled", "null", "null-data-value-5e6f"),
  "null-string-data.yaml": {
    before: `apiVersion: v1
kind: Secret
metadata:
  name: nullsd
stringData:
data:
  key: ${b64("null-sd-value-8a9b")}
type: Opaque
`,
    after: `apiVersion: v1
kind: Secret
metadata:
  name: nullsd
stringData:
  key: ref+fake://m/nullsd#key
type: Opaque
`,
  },
};

function fakeClient(): ProviderClient {
  return createProviderClient(
    { fake: {} },
    { storeName: "fake", readCredential: () => Promise.reject(new Error("no credential")) },
  );
}

void describe("refsync migrate: Secret value maps", () => {
  let repo: TestRepo;
  before(() => {
    repo = createRepo("refsync-migrate-maps-");
    for (const [file, c] of Object.entries(CASES)) repo.write(`apps/${file}`, c.before);
    repo.commit("plaintext", "2024-01-01T00:00:00Z");
  });
  after(() => repo?.remove());

  void it("migrates stringData alone, both maps, an empty and a null map, keeping the layout", async () => {
    const client = fakeClient();
    const result = await migrate({
      dir: repo.dir,
      store: "fake",
      provider: "fake",
      client,
      pathPrefix: "m",
      defaultStore: true,
      branch: "refsync/migrate",
      checkout: false,
    });
    assert.deepEqual(result.plan.map((p) => `${p.file} ${p.object} ${p.key} ${p.fields.join(",")}`).sort(), [
      "apps/both.yaml Secret/both m/both token,user",
      "apps/empty-data.yaml Secret/empty m/empty key",
      "apps/null-data.yaml Secret/nulled m/nulled key",
      "apps/null-string-data.yaml Secret/nullsd m/nullsd key",
      "apps/string-data-only.yaml Secret/prod/only m/prod/only password",
    ]);
    for (const [file, c] of Object.entries(CASES)) {
      const expected =
        typeof c.after === "string" ? c.after : c.after.reduce((t, [v, ref]) => t.replace(v, ref), c.before);
      assert.equal(repo.git("show", `refsync/migrate:apps/${file}`) + "\n", expected, file);
    }
    assert.deepEqual((await client.read({ key: "m/prod/only" })).data, { password: "s3cret-only-9f2c" });
    assert.deepEqual((await client.read({ key: "m/both" })).data, {
      token: "tok-both-4b8e",
      user: "app-user-77a1",
    });
    await client.close();
  });

  for (const [shape, yaml, message] of [
    [
      "a string",
      "data: not-a-map",
      /apps\/bad\.yaml: Secret\/prod\/bad: data: expected a map of key: value, found a string/,
    ],
    [
      "a list",
      "stringData:\n  - x",
      /apps\/bad\.yaml: Secret\/prod\/bad: stringData: expected a map of key: value, found a list/,
    ],
    [
      "a map value",
      "data:\n  nested:\n    a: b",
      /apps\/bad\.yaml: Secret\/prod\/bad: data\.nested: expected a string, found a map/,
    ],
  ] as const) {
    void it(`refuses ${shape} where a value map belongs, before any write`, async () => {
      const bad = createRepo("refsync-migrate-bad-");
      try {
        bad.write(
          "apps/bad.yaml",
          // A valid Secret first: its values must not be written either.
          `apiVersion: v1\nkind: Secret\nmetadata:\n  name: good\n  namespace: prod\nstringData:\n  ok: fine-value-2d4e\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\n  namespace: prod\n${yaml}\n`,
        );
        bad.write("refsync.yaml", `stores:\n  demo:\n    provider: { fake: {} }\n`);
        bad.commit("bad", "2024-01-01T00:00:00Z");
        const client = fakeClient();
        const error = await migrate({
          dir: bad.dir,
          store: "fake",
          provider: "fake",
          client,
          pathPrefix: "m",
          branch: "refsync/migrate",
        }).catch((e: unknown) => e);
        assert.ok(error instanceof MigrateError, String(error));
        assert.match(error.message, message);
        assert.deepEqual(await client.list({}), [], "nothing written");
        await client.close();
        // Through the CLI: the message, no stack trace.
        const io = collector();
        assert.equal(await migrateCommand([bad.dir, "--store", "demo", "--path-prefix", "m"], io), 2);
        assert.match(io.err(), message);
        assert.doesNotMatch(io.err(), /\n\s+at /);
        assert.throws(() => bad.git("rev-parse", "--verify", "-q", "refsync/migrate"));
        assert.ok(!readFileSync(join(bad.dir, "apps/bad.yaml"), "utf8").includes("ref+"));
      } finally {
        bad.remove();
      }
    });
  }
});
