// Attribution at Vault: X-Refsync-Subject on every request, per call (never leaking into a
// concurrent call through node-vault's shared options), and the token accessor as identity.
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { after, before, describe, it } from "node:test";
import { startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import { testContext } from "../../../test/servers/vault/context.ts";
import { REFSYNC_VERSION } from "../attribution.ts";
import type { CallDetail } from "../types.ts";
import { subjectHeader } from "./attribution.ts";
import { vaultProvider } from "./index.ts";

const SECRET_ID = "attribution-secret-id-77c1";
let vault: VaultTestServer;

before(async () => {
  vault = await startVaultServer();
  vault.root.mountKv("secret", 2);
  vault.root.writePolicy("app", [{ path: "secret/data/team-a/*", capabilities: ["read"] }]);
  vault.root.enableAppRole();
  vault.root.addAppRole("app", { roleId: "role-attr", secretIds: [SECRET_ID], policies: ["app"], ttl: 600 });
  for (let i = 0; i < 8; i++) vault.root.putSecret("secret", `team-a/s${i}`, { value: `v${i}` });
});
after(async () => {
  await vault.stop();
});

void describe("Vault attribution", () => {
  void it("the subject header names refsync, the namespace and the subjects, bounded", () => {
    assert.equal(subjectHeader({ namespace: "shop" }), `refsync/${REFSYNC_VERSION} ns/shop`);
    assert.equal(
      subjectHeader({ namespace: "shop", subject: () => ["es/shop/db", "es/shop/we ird"] }),
      `refsync/${REFSYNC_VERSION} ns/shop es/shop/db es/shop/we-ird`,
    );
    const many = subjectHeader({ subject: () => Array.from({ length: 200 }, (_, i) => `es/ns/name-${i}`) });
    assert.ok(many.length <= 1024, String(many.length));
    assert.match(many, / \+\d+ more$/);
  });

  void it("concurrent calls each carry their own subject; the accessor and login request id are recorded", async () => {
    const current = new AsyncLocalStorage<string>();
    const noted: CallDetail[] = [];
    const reported: CallDetail[] = [];
    const context = testContext(
      "SecretStore/team-a/attr",
      "team-a",
      { "team-a/approle#secret-id": SECRET_ID },
      {
        subject: () => {
          const s = current.getStore();
          return s ? [s] : [];
        },
        noteRequest: (d) => noted.push(d),
        onCall: (_call, _result, _s, detail) => {
          if (detail) reported.push(detail);
        },
      },
    );
    const client = vaultProvider.create(
      {
        server: vault.url,
        path: "secret",
        auth: { appRole: { roleId: "role-attr", secretRef: { name: "approle", key: "secret-id" } } },
      },
      context,
    );
    vault.clearLog();
    vault.faults.delayMs = 50; // every request in flight together
    try {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          current.run(`es/team-a/es-${i}`, () => client.read({ key: `team-a/s${i}` })),
        ),
      );
    } finally {
      vault.faults.delayMs = 0;
      await client.close();
    }
    const reads = vault.requests.filter((r) => r.path.startsWith("secret/data/"));
    assert.equal(reads.length, 8);
    for (const r of reads) {
      const n = /s(\d)$/.exec(r.path)?.[1];
      assert.equal(r.headers["x-refsync-subject"], `refsync/${REFSYNC_VERSION} ns/team-a es/team-a/es-${n}`);
    }
    const login = vault.requests.find((r) => r.path === "auth/approle/login");
    assert.match(String(login?.headers["x-refsync-subject"]), /^refsync\/\S+ ns\/team-a es\/team-a\/es-\d$/);
    // The login's record: its request id, and the accessor of the token it issued.
    const loginDetail = reported.at(-1);
    assert.equal(loginDetail?.requestId, login?.requestId);
    const accessor = loginDetail?.identity?.accessor;
    assert.match(accessor ?? "", /^[\w-]{8,}$/);
    assert.deepEqual(loginDetail?.identity, { method: "appRole", mount: "auth/approle/login", accessor });
    // Every read names the same identity and its own request id; never the token.
    assert.equal(noted.length, 8);
    for (const d of noted)
      assert.deepEqual(d.identity, { method: "appRole", mount: "auth/approle/login", accessor });
    assert.deepEqual(noted.map((d) => d.requestId).sort(), reads.map((r) => r.requestId).sort());
  });
});
