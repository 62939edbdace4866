// ESO Vault stores (shaped as ESO's documentation writes them) converted by src/api/eso.ts are valid
// refsync Vault specs with ESO's meaning: the auth methods, TLS and headers that used to be refused.
import assert from "node:assert/strict";
import { it } from "node:test";
import { parse as parseYaml } from "yaml";
import { convertEsoObject } from "../../api/eso.ts";
import { parseVaultSpec, type VaultSpec } from "./spec.ts";

function converted(vault: Record<string, unknown>): VaultSpec {
  const result = convertEsoObject({
    apiVersion: "external-secrets.io/v1",
    kind: "SecretStore",
    metadata: { name: "vault", namespace: "app" },
    spec: { provider: { vault: { server: "https://vault.example:8200", path: "secret", ...vault } } },
  });
  assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
  const spec = result.object.spec as { provider: { vault: unknown } };
  return parseVaultSpec(spec.provider.vault, "SecretStore/app/vault");
}

const secretRef = { name: "vault-login", key: "password" };

void it("userPass, ldap and cert logins convert with ESO's default mount paths", () => {
  assert.deepEqual(converted({ auth: { userPass: { username: "alice", secretRef } } }).auth?.userPass, {
    path: "userpass",
    username: "alice",
    secretRef,
  });
  assert.deepEqual(converted({ auth: { ldap: { path: "corp", username: "bob", secretRef } } }).auth?.ldap, {
    path: "corp",
    username: "bob",
    secretRef,
  });
  const cert = converted({
    auth: {
      cert: {
        clientCert: { name: "vault-client", key: "tls.crt" },
        secretRef: { name: "vault-client", key: "tls.key" },
      },
    },
  }).auth?.cert;
  assert.equal(cert?.path, "cert");
  assert.equal(cert?.vaultRole, undefined);
});

void it('kubernetes.secretRef without a key reads `token`; a login namespace, "" included, is kept', () => {
  const spec = converted({
    namespace: "team-a",
    auth: {
      namespace: "",
      kubernetes: { mountPath: "kubernetes", role: "app", secretRef: { name: "sa-token" } },
    },
  });
  assert.deepEqual(spec.auth?.kubernetes?.secretRef, { name: "sa-token", key: "token" });
  assert.equal(spec.auth?.namespace, "");
});

void it("jwt.kubernetesServiceAccountToken gets ESO's default audience `vault`, unless it names its own", () => {
  const token = (extra: Record<string, unknown>) =>
    converted({
      auth: {
        jwt: {
          path: "jwt",
          role: "app",
          kubernetesServiceAccountToken: { serviceAccountRef: { name: "app" }, ...extra },
        },
      },
    }).auth?.jwt?.kubernetesServiceAccountToken;
  assert.deepEqual(token({})?.audiences, ["vault"]);
  assert.deepEqual(token({ audiences: ["sts"], expirationSeconds: 900 }), {
    serviceAccountRef: { name: "app" },
    audiences: ["sts"],
    expirationSeconds: 900,
  });
});

void it("tls keys default to tls.crt and tls.key; headers and the consistency flags carry over", () => {
  const spec = converted({
    tls: { certSecretRef: { name: "mtls" }, keySecretRef: { name: "mtls" } },
    headers: { "X-Proxy-Tenant": "team-a" },
    readYourWrites: true,
    forwardInconsistent: true,
    auth: { tokenSecretRef: { name: "t", key: "token" } },
  });
  assert.deepEqual(spec.tls, {
    certSecretRef: { name: "mtls", key: "tls.crt" },
    keySecretRef: { name: "mtls", key: "tls.key" },
  });
  assert.deepEqual(spec.headers, { "X-Proxy-Tenant": "team-a" });
  assert.equal(spec.readYourWrites, true);
  assert.equal(spec.forwardInconsistent, true);
});

void it("what ESO would not do either is refused naming the field", () => {
  assert.throws(
    () => converted({ tls: { certSecretRef: { name: "only-cert" } }, auth: { tokenSecretRef: secretRef } }),
    /spec\.provider\.vault\.tls\.keySecretRef/,
  );
  assert.throws(
    () => converted({ auth: { namespace: "x" } }),
    /set exactly one of tokenSecretRef, appRole, kubernetes, jwt, userPass, ldap, cert, iam/,
  );
});

void it("auth.iam converts with ESO's defaults: mount aws, region us-east-1", () => {
  const iam = converted({
    auth: {
      iam: {
        vaultRole: "app",
        role: "arn:aws:iam::123456789012:role/vault-login",
        externalID: "team-a",
        vaultAwsIamServerID: "vault.example.com",
        secretRef: {
          accessKeyIDSecretRef: { name: "aws", key: "id" },
          secretAccessKeySecretRef: { name: "aws", key: "secret" },
        },
      },
    },
  }).auth?.iam;
  assert.equal(iam?.path, "aws");
  assert.equal(iam?.region, "us-east-1");
  assert.equal(iam?.vaultAwsIamServerID, "vault.example.com");
  assert.deepEqual(iam?.secretRef?.accessKeyIDSecretRef, { name: "aws", key: "id" });
});

void it("both token sources set: the one ESO reads is kept, the other dropped with its reason", () => {
  const jwt = {
    role: "app",
    secretRef,
    kubernetesServiceAccountToken: { serviceAccountRef: { name: "app" } },
  };
  const result = convertEsoObject({
    apiVersion: "external-secrets.io/v1",
    kind: "SecretStore",
    metadata: { name: "vault" },
    spec: { provider: { vault: { server: "https://vault.example:8200", auth: { jwt } } } },
  });
  assert.ok(result.ok);
  assert.deepEqual(result.dropped, [
    {
      path: "spec.provider.vault.auth.jwt.kubernetesServiceAccountToken",
      why: "ESO uses secretRef when both are set and ignores kubernetesServiceAccountToken",
    },
  ]);
  assert.deepEqual(converted({ auth: { jwt } }).auth?.jwt?.secretRef, secretRef);
  assert.equal(converted({ auth: { jwt } }).auth?.jwt?.kubernetesServiceAccountToken, undefined);

  const kubernetes = converted({
    auth: {
      kubernetes: { role: "app", serviceAccountRef: { name: "app" }, secretRef: { name: "sa-token" } },
    },
  }).auth?.kubernetes;
  assert.deepEqual(kubernetes?.serviceAccountRef, { name: "app" });
  assert.equal(kubernetes?.secretRef, undefined);
});

void it("checkAndSet, which only ESO's PushSecret reads, is dropped; ESO's own refusal of it on KV v1 stays", () => {
  assert.equal(
    (
      converted({ checkAndSet: { required: true }, auth: { tokenSecretRef: secretRef } }) as Record<
        string,
        unknown
      >
    ).checkAndSet,
    undefined,
  );
  assert.throws(
    () => converted({ version: "v1", checkAndSet: { required: true } }),
    /spec\.provider\.vault\.checkAndSet\.required: ESO refuses this store: check-and-set needs KV version v2/,
  );
});

void it("auth.appRole.roleRef converts as is, next to roleId when both are set (roleId wins at login)", () => {
  const roleRef = { name: "vault-approle", key: "role-id" };
  assert.deepEqual(converted({ auth: { appRole: { roleRef, secretRef } } }).auth?.appRole, {
    path: "approle",
    roleRef,
    secretRef,
  });
  assert.deepEqual(converted({ auth: { appRole: { roleId: "app", roleRef, secretRef } } }).auth?.appRole, {
    path: "approle",
    roleId: "app",
    roleRef,
    secretRef,
  });
});

void it("auth omitted, or a key holding only a comment (YAML null), is a store without auth, as ESO's nil Auth", () => {
  assert.equal(converted({}).auth, undefined);
  assert.equal(converted({ auth: null }).auth, undefined);
  assert.equal(
    parseVaultSpec({ server: "https://vault.example:8200" }, "SecretStore/app/vault").auth,
    undefined,
  );
});

void it("ESO's documented `auth:` holding only a comment parses as null and converts to a store without auth", () => {
  const manifest = parseYaml(
    [
      "apiVersion: external-secrets.io/v1",
      "kind: SecretStore",
      "metadata: { name: vault, namespace: app }",
      "spec:",
      "  provider:",
      "    vault:",
      "      server: http://127.0.0.1:8100",
      "      path: secret",
      "      auth:",
      "        # the Vault Agent authenticates",
    ].join("\n"),
  ) as Record<string, unknown>;
  const result = convertEsoObject(manifest);
  assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
  const spec = result.object.spec as { provider: { vault: unknown } };
  assert.equal(parseVaultSpec(spec.provider.vault, "SecretStore/app/vault").auth, undefined);
});

void it("auth without a method (ESO's errAuthFormat at run time) is refused at validation, naming the field", () => {
  for (const auth of [{}, { namespace: "team-a" }]) {
    assert.throws(
      () => converted({ auth }),
      (error: Error) =>
        error.message.includes("SecretStore/app/vault") &&
        error.message.includes("spec.provider.vault.auth") &&
        error.message.includes("set exactly one of"),
    );
  }
});
