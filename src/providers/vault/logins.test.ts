// The Vault auth methods and connection settings ESO users have (userPass, ldap, cert, appRole.roleRef,
// kubernetes.secretRef, jwt token audiences and lifetime, a login namespace, mutual TLS, extra headers,
// readYourWrites and forwardInconsistent), through node-vault against the Vault protocol test server,
// over loopback HTTP and TLS. Every failed login must name the store and the mount, never the credential.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPki, type ClusterPki } from "../../../test/cluster/pki.ts";
import { testContext } from "../../../test/servers/vault/context.ts";
import { signJwt, startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import { AccessDeniedError, BackendUnavailableError, InvalidSpecError } from "../../errors.ts";
import type { ProviderClient, ProviderContext } from "../types.ts";
import { vaultProvider } from "./index.ts";

const PASSWORD = "pw-never-in-a-message-81f2";
const READER = [{ path: "secret/data/app/*", capabilities: ["read" as const] }];

let dir: string;
let pki: ClusterPki;
let ca: string;
let other: { cert: string; key: string };
let client: { cert: string; key: string };
let http: VaultTestServer;
let https: VaultTestServer;
let mutual: VaultTestServer;
let counter = 0;

async function pem(path: string): Promise<string> {
  return readFile(path, "utf8");
}

function setUp(vault: VaultTestServer): void {
  vault.root.mountKv("secret", 2);
  vault.root.putSecret("secret", "app/db", { password: "from-vault" });
  vault.root.writePolicy("reader", READER);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "refsync-vault-logins-"));
  pki = await createPki(dir);
  const otherPki = await createPki(await mkdtemp(join(dir, "other-")));
  ca = await pem(pki.caCertPath);
  client = { cert: await pem(pki.clientCertPath), key: await pem(pki.clientKeyPath) };
  other = { cert: await pem(otherPki.clientCertPath), key: await pem(otherPki.clientKeyPath) };
  const serving = { cert: await pem(pki.servingCertPath), key: await pem(pki.servingKeyPath) };
  http = await startVaultServer({ replicationStates: true });
  https = await startVaultServer({ tls: serving });
  mutual = await startVaultServer({ tls: { ...serving, clientCa: ca } });
  for (const vault of [http, https, mutual]) setUp(vault);
});

after(async () => {
  await Promise.all([http.stop(), https.stop(), mutual.stop()]);
  await rm(dir, { recursive: true, force: true });
});

function store(
  spec: Record<string, unknown>,
  credentials: Record<string, string>,
  extra: Partial<ProviderContext> = {},
): ProviderClient {
  const context = testContext(`SecretStore/app/vault-${++counter}`, "app", credentials, extra);
  return vaultProvider.create({ path: "secret", ...spec }, context);
}

async function readsPassword(provider: ProviderClient): Promise<void> {
  assert.deepEqual((await provider.read({ key: "app/db" })).data, { password: "from-vault" });
}

/** Runs `work`, expecting it to throw `type` with a message matching `pattern` and free of `secrets`. */
async function rejects(
  work: Promise<unknown>,
  type: new (...args: never[]) => Error,
  pattern: RegExp,
  secrets: string[],
): Promise<void> {
  await assert.rejects(work, (error: Error) => {
    assert.ok(error instanceof type, `${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
    for (const secret of secrets) assert.ok(!error.message.includes(secret), error.message);
    return true;
  });
}

void describe("userPass and ldap", () => {
  void it("log in at auth/<path>/login/<username> with the password from a Secret", async () => {
    http.root.enableUserpass();
    http.root.addUserpassUser("alice", { password: PASSWORD, policies: ["reader"], ttl: 60 });
    http.root.enableLdap("corp-ldap");
    http.root.addLdapUser("bob", { password: PASSWORD, policies: ["reader"], ttl: 60 }, "corp-ldap");
    const credentials = { "app/login#password": PASSWORD };
    const userPass = store(
      {
        server: http.url,
        auth: { userPass: { username: " alice ", secretRef: { name: "login", key: "password" } } },
      },
      credentials,
    );
    const ldap = store(
      {
        server: http.url,
        auth: { ldap: { path: "corp-ldap", username: "bob", secretRef: { name: "login", key: "password" } } },
      },
      credentials,
    );
    await readsPassword(userPass);
    await readsPassword(ldap);
    assert.equal(http.count({ method: "POST", path: "auth/userpass/login/alice", status: 200 }), 1);
    assert.equal(http.count({ path: "secret/data/app/db", identity: "userpass-alice", status: 200 }), 1);
    assert.equal(http.count({ method: "POST", path: "auth/corp-ldap/login/bob", status: 200 }), 1);
    assert.equal(http.count({ path: "secret/data/app/db", identity: "corp-ldap-bob", status: 200 }), 1);
    await userPass.close();
    await ldap.close();
  });

  void it("a wrong password is AccessDenied naming the mount, never the password", async () => {
    const wrong = "wrong-password-7d1c";
    const userPass = store(
      {
        server: http.url,
        auth: { userPass: { username: "alice", secretRef: { name: "login", key: "password" } } },
      },
      { "app/login#password": wrong },
    );
    await rejects(
      userPass.read({ key: "app/db" }),
      AccessDeniedError,
      /userPass login at auth\/userpass\/login/,
      [wrong],
    );
    const ldap = store(
      {
        server: http.url,
        auth: { ldap: { path: "corp-ldap", username: "bob", secretRef: { name: "login", key: "password" } } },
      },
      { "app/login#password": wrong },
    );
    await rejects(ldap.read({ key: "app/db" }), AccessDeniedError, /ldap login at auth\/corp-ldap\/login/, [
      wrong,
    ]);
    await userPass.close();
    await ldap.close();
  });
});

void describe("cert", () => {
  const certAuth = (role?: string) => ({
    cert: {
      ...(role !== undefined ? { vaultRole: role } : {}),
      clientCert: { name: "vault-client", key: "tls.crt" },
      secretRef: { name: "vault-client", key: "tls.key" },
    },
  });
  const caBundle = () => Buffer.from(ca).toString("base64");

  void it("logs in with the client certificate of the TLS handshake, for the role named or any that trusts it", async () => {
    https.root.enableCertAuth();
    https.root.addCertRole("app", {
      certificate: ca,
      allowedCommonNames: ["carol"],
      policies: ["reader"],
      ttl: 60,
    });
    https.root.addCertRole("nobody", { certificate: other.cert, policies: [], ttl: 60 });
    const credentials = { "app/vault-client#tls.crt": client.cert, "app/vault-client#tls.key": client.key };
    const named = store({ server: https.url, caBundle: caBundle(), auth: certAuth("app") }, credentials);
    const any = store({ server: https.url, caBundle: caBundle(), auth: certAuth() }, credentials);
    await readsPassword(named);
    await readsPassword(any);
    assert.equal(https.count({ method: "POST", path: "auth/cert/login", status: 200 }), 2);
    assert.equal(https.count({ path: "secret/data/app/db", identity: "cert-app", status: 200 }), 2);
    await named.close();
    await any.close();
  });

  void it("a certificate no role trusts is AccessDenied; a key that does not match is InvalidSpec; neither is quoted", async () => {
    const untrusted = store(
      { server: https.url, caBundle: caBundle(), auth: certAuth("app") },
      { "app/vault-client#tls.crt": other.cert, "app/vault-client#tls.key": other.key },
    );
    await rejects(untrusted.read({ key: "app/db" }), AccessDeniedError, /cert login at auth\/cert\/login/, [
      other.key.split("\n")[1]!,
    ]);
    const mismatched = store(
      { server: https.url, caBundle: caBundle(), auth: certAuth("app") },
      { "app/vault-client#tls.crt": client.cert, "app/vault-client#tls.key": other.key },
    );
    await rejects(
      mismatched.read({ key: "app/db" }),
      InvalidSpecError,
      /not a matching PEM certificate and key/,
      [other.key.split("\n")[1]!, client.cert.split("\n")[1]!],
    );
    await untrusted.close();
    await mismatched.close();
  });
});

void describe("kubernetes.secretRef and jwt.kubernetesServiceAccountToken", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwks = [{ ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "ES256", use: "sig" }];
  const saToken = signJwt(
    { sub: "system:serviceaccount:app:legacy", exp: Math.floor(Date.now() / 1000) + 3600 },
    privateKey,
    "k1",
  );

  void it("kubernetes auth with a long-lived token kept in a Secret (key default: token)", async () => {
    http.root.enableKubernetesAuth((jwt) =>
      Promise.resolve(
        jwt === saToken
          ? { authenticated: true, username: "system:serviceaccount:app:legacy" }
          : { authenticated: false, error: "invalid token" },
      ),
    );
    http.root.addKubernetesRole("app", {
      boundServiceAccountNames: ["legacy"],
      boundServiceAccountNamespaces: ["app"],
      policies: ["reader"],
      ttl: 60,
    });
    const provider = store(
      { server: http.url, auth: { kubernetes: { role: "app", secretRef: { name: "legacy-sa-token" } } } },
      { "app/legacy-sa-token#token": `${saToken}\n` },
    );
    await readsPassword(provider);
    assert.equal(
      http.count({ path: "secret/data/app/db", identity: "kubernetes-app-legacy", status: 200 }),
      1,
    );
    await provider.close();
  });

  void it("jwt: audiences are requested after serviceAccountRef's, with expirationSeconds", async () => {
    http.root.enableJwtAuth(() => jwks);
    http.root.addJwtRole("app", { boundAudiences: ["vault"], policies: ["reader"], ttl: 60 });
    const requested: unknown[] = [];
    const requestServiceAccountToken: ProviderContext["requestServiceAccountToken"] = (ref) => {
      requested.push(ref);
      return Promise.resolve(
        signJwt(
          {
            sub: `system:serviceaccount:app:${ref.name}`,
            aud: ref.audiences ?? [],
            exp: Date.now() / 1000 + 600,
          },
          privateKey,
          "k1",
        ),
      );
    };
    const jwt = (token: Record<string, unknown>) => ({
      jwt: {
        role: "app",
        kubernetesServiceAccountToken: { serviceAccountRef: { name: "app", audiences: ["extra"] }, ...token },
      },
    });
    const withVault = store(
      { server: http.url, auth: jwt({ audiences: ["vault"], expirationSeconds: 900 }) },
      {},
      {
        requestServiceAccountToken,
      },
    );
    await readsPassword(withVault);
    assert.deepEqual(requested, [
      { name: "app", namespace: "app", audiences: ["extra", "vault"], expirationSeconds: 900 },
    ]);
    // Without the audience Vault's role is bound to, Vault refuses the token.
    const without = store({ server: http.url, auth: jwt({}) }, {}, { requestServiceAccountToken });
    await rejects(without.read({ key: "app/db" }), AccessDeniedError, /invalid audience/, []);
    await withVault.close();
    await without.close();
  });
});

void describe("auth.namespace", () => {
  void it("logs in to the login namespace and reads in the store's namespace with that token", async () => {
    const team = http.namespace("team-a");
    team.mountKv("secret", 2);
    team.putSecret("secret", "app/db", { password: "in-team-a" });
    http.root.writePolicy("team-a-reader", [{ path: "team-a/secret/data/app/*", capabilities: ["read"] }]);
    http.root.enableUserpass("ns-userpass");
    http.root.addUserpassUser(
      "carol",
      { password: PASSWORD, policies: ["team-a-reader"], ttl: 60 },
      "ns-userpass",
    );
    const userPass = {
      path: "ns-userpass",
      username: "carol",
      secretRef: { name: "login", key: "password" },
    };
    const provider = store(
      { server: http.url, namespace: "team-a", auth: { namespace: "", userPass } },
      { "app/login#password": PASSWORD },
    );
    assert.deepEqual((await provider.read({ key: "app/db" })).data, { password: "in-team-a" });
    assert.equal(http.count({ path: "auth/ns-userpass/login/carol", namespace: "", status: 200 }), 1);
    assert.equal(
      http.count({ path: "secret/data/app/db", namespace: "team-a", identity: "ns-userpass-carol" }),
      1,
    );
    // Without auth.namespace the login goes to the store's namespace, which has no such mount.
    const unscoped = store(
      { server: http.url, namespace: "team-a", auth: { userPass } },
      { "app/login#password": PASSWORD },
    );
    await rejects(unscoped.read({ key: "app/db" }), AccessDeniedError, /auth\/ns-userpass\/login/, [
      PASSWORD,
    ]);
    await provider.close();
    await unscoped.close();
  });
});

void describe("tls, headers, readYourWrites and forwardInconsistent", () => {
  const token = () => ({ tokenSecretRef: { name: "vault-token", key: "token" } });

  void it("tls presents the client certificate a listener requires (keys default: tls.crt, tls.key)", async () => {
    const caBundle = Buffer.from(ca).toString("base64");
    const credentials = {
      "app/vault-token#token": mutual.rootToken,
      "app/vault-mtls#tls.crt": client.cert,
      "app/vault-mtls#tls.key": client.key,
    };
    const withCert = store(
      {
        server: mutual.url,
        caBundle,
        tls: { certSecretRef: { name: "vault-mtls" }, keySecretRef: { name: "vault-mtls" } },
        auth: token(),
      },
      credentials,
    );
    await readsPassword(withCert);
    const withoutCert = store({ server: mutual.url, caBundle, auth: token() }, credentials);
    await rejects(
      withoutCert.read({ key: "app/db" }),
      BackendUnavailableError,
      /refused the TLS client certificate/,
      [mutual.rootToken],
    );
    await withCert.close();
    await withoutCert.close();
  });

  void it("follows a standby's redirect to the active node with the same method, token and body", async () => {
    // A standby that redirects every request (Vault without request forwarding answers 307).
    const standby = createServer((request, response) => {
      response.writeHead(307, { Location: `${http.url}${request.url ?? "/"}` }).end();
    });
    standby.listen(0, "127.0.0.1");
    await once(standby, "listening");
    const { port } = standby.address() as AddressInfo;
    http.root.enableUserpass("redirected");
    http.root.addUserpassUser("eve", { password: PASSWORD, policies: ["reader"], ttl: 60 }, "redirected");
    const provider = store(
      {
        server: `http://127.0.0.1:${port}`,
        auth: {
          userPass: { path: "redirected", username: "eve", secretRef: { name: "login", key: "password" } },
        },
      },
      { "app/login#password": PASSWORD },
    );
    try {
      await readsPassword(provider);
      assert.equal(http.count({ method: "POST", path: "auth/redirected/login/eve", status: 200 }), 1);
      assert.equal(http.count({ path: "secret/data/app/db", identity: "redirected-eve", status: 200 }), 1);
    } finally {
      await provider.close();
      standby.close();
    }
  });

  void it("headers go with every request, logins included; X-Vault-* headers are refused", async () => {
    http.root.enableUserpass("hdr");
    http.root.addUserpassUser("dan", { password: PASSWORD, policies: ["reader"], ttl: 60 }, "hdr");
    http.clearLog();
    const provider = store(
      {
        server: http.url,
        headers: { "X-Proxy-Tenant": "team-a" },
        auth: { userPass: { path: "hdr", username: "dan", secretRef: { name: "login", key: "password" } } },
      },
      { "app/login#password": PASSWORD },
    );
    await readsPassword(provider);
    assert.ok(http.requests.length >= 2);
    for (const entry of http.requests) assert.equal(entry.headers["x-proxy-tenant"], "team-a", entry.path);
    assert.throws(
      () => store({ server: http.url, headers: { "X-Vault-Token": "x" }, auth: token() }, {}),
      (error: Error) =>
        error instanceof InvalidSpecError && /spec\.provider\.vault\.headers/.test(error.message),
    );
    await provider.close();
  });

  void it("readYourWrites sends back the X-Vault-Index of earlier answers; with forwardInconsistent a lagging standby forwards", async () => {
    const credentials = { "app/vault-token#token": http.rootToken };
    const plain = store({ server: http.url, readYourWrites: true, auth: token() }, credentials);
    const forwarding = store(
      { server: http.url, readYourWrites: true, forwardInconsistent: true, auth: token() },
      credentials,
    );
    const onlyForward = store({ server: http.url, forwardInconsistent: true, auth: token() }, credentials);
    try {
      for (const [i, provider] of [plain, forwarding, onlyForward].entries()) {
        http.clearLog();
        await provider.write!(`app/written-${i}`, { v: String(i) });
        // Before the write's answer there is no state to require.
        const beforeWrite = http.requests.filter((entry) => entry.method !== "POST");
        assert.ok(beforeWrite.length > 0 && beforeWrite.every((entry) => !entry.headers["x-vault-index"]));
        http.clearLog();
        await provider.read({ key: `app/written-${i}` });
        const read = http.requests.find((entry) => entry.path === `secret/data/app/written-${i}`);
        assert.ok(read?.headers["x-vault-index"], "the read requires the write's state");
      }
      // A store without readYourWrites sends none.
      const unset = store({ server: http.url, auth: token() }, credentials);
      await unset.write!("app/written-3", { v: "3" });
      http.clearLog();
      await unset.read({ key: "app/written-3" });
      assert.equal(http.requests.at(-1)?.headers["x-vault-index"], undefined);
      await unset.close();
      // A standby that has not applied the writes: 412 (retried later), unless it may forward.
      http.faults.standbyAppliedIndex = 0;
      await rejects(
        plain.read({ key: "app/written-0" }),
        BackendUnavailableError,
        /standby has not caught up yet \(412\)/,
        [],
      );
      assert.deepEqual((await forwarding.read({ key: "app/written-1" })).data, { v: "1" });
      assert.equal(http.requests.at(-1)?.headers["x-vault-inconsistent"], "forward-active-node");
      // forwardInconsistent alone tracks the index as ESO's client does, but asks for no forwarding.
      await rejects(onlyForward.read({ key: "app/written-2" }), BackendUnavailableError, /412/, []);
      assert.equal(http.requests.at(-1)?.headers["x-vault-inconsistent"], undefined);
    } finally {
      http.faults.standbyAppliedIndex = undefined;
      await Promise.all([plain.close(), forwarding.close(), onlyForward.close()]);
    }
  });
});

void describe("appRole.roleRef", () => {
  const SECRET_ID = "approle-secret-id-never-quoted-3c9e";
  const ROLE_ID = "role-id-from-a-secret-5d1b";
  const secretRef = { name: "approle", key: "secret-id" };
  const roleRef = { name: "approle", key: "role-id" };

  before(() => {
    http.root.enableAppRole("roleref");
    http.root.addAppRole(
      "app",
      { roleId: ROLE_ID, secretIds: [SECRET_ID], policies: ["reader"], ttl: 60 },
      "roleref",
    );
  });

  void it("reads the role ID from the Secret key when roleId is unset or empty", async () => {
    for (const roleId of [undefined, ""]) {
      const provider = store(
        { server: http.url, auth: { appRole: { path: "roleref", roleId, roleRef, secretRef } } },
        { "app/approle#role-id": ROLE_ID, "app/approle#secret-id": SECRET_ID },
      );
      await readsPassword(provider);
      await provider.close();
    }
    assert.equal(http.count({ path: "auth/roleref/login", status: 200 }), 2);
  });

  void it("roleId and roleRef both set: roleId is sent trimmed and roleRef is not read, as ESO", async () => {
    // The roleRef Secret does not exist: reading it would fail the login.
    const provider = store(
      {
        server: http.url,
        auth: { appRole: { path: "roleref", roleId: ` ${ROLE_ID}\n`, roleRef, secretRef } },
      },
      { "app/approle#secret-id": SECRET_ID },
    );
    await readsPassword(provider);
    await provider.close();
  });

  void it("a role ID from the Secret that Vault does not know is AccessDenied, quoting neither ID", async () => {
    const provider = store(
      { server: http.url, auth: { appRole: { path: "roleref", roleRef, secretRef } } },
      { "app/approle#role-id": `${ROLE_ID}-old`, "app/approle#secret-id": SECRET_ID },
    );
    await rejects(provider.read({ key: "app/db" }), AccessDeniedError, /auth\/roleref\/login/, [
      ROLE_ID,
      SECRET_ID,
    ]);
    await provider.close();
  });

  void it("neither roleId nor roleRef is InvalidSpec naming the field", () => {
    assert.throws(
      () => store({ server: http.url, auth: { appRole: { roleId: "", secretRef } } }, {}),
      (error: Error) =>
        error instanceof InvalidSpecError &&
        /spec\.provider\.vault\.auth\.appRole/.test(error.message) &&
        /neither roleId nor roleRef was supplied/.test(error.message),
    );
  });

  void it("a ClusterSecretStore reads roleRef in the acting namespace, so validate does not log in", async () => {
    const context = testContext("ClusterSecretStore/approle", undefined, {});
    const provider = vaultProvider.create(
      {
        server: http.url,
        path: "secret",
        auth: { appRole: { path: "roleref", roleRef, secretRef: { ...secretRef, namespace: "vault" } } },
      },
      context,
    );
    const logins = http.count({ path: "auth/roleref/login" });
    assert.deepEqual(await provider.validate(), { status: "Ready" });
    assert.equal(http.count({ path: "auth/roleref/login" }), logins);
    await provider.close();
  });
});
