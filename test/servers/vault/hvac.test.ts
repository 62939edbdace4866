// The Vault protocol test server driven by hvac (Debian's python3-hvac), a
// client independent of node-vault: what refsync and its users' tooling read
// (KV, token lookup and renewal, leases, health and seal status) must come
// back in Vault's documented shapes.
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { createPki } from "../../cluster/pki.ts";
import { PYTHON3, requireTool, runTool } from "../system-tools.ts";
import { startAwsServer } from "../aws/index.ts";
import { startVaultServer, type VaultTestServer } from "./index.ts";

const SCRIPT = join(import.meta.dirname, "hvac_client.py");

let vault: VaultTestServer;
let python: string;
let reader: string;

before(async () => {
  python = requireTool(PYTHON3, "python3");
  const check = await runTool(python, ["-c", "import hvac"], {});
  assert.equal(check.code, 0, `python3-hvac is missing (node test/run.ts installs it): ${check.stderr}`);
  vault = await startVaultServer();
  vault.root.mountKv("secret", 2);
  vault.root.mountKv("kv1", 1);
  vault.root.putSecret("secret", "app/db", { password: "p1" });
  vault.root.putSecret("secret", "app/db", { password: "p2" });
  vault.root.putSecret("secret", "other/db", { password: "no" });
  vault.root.putSecret("kv1", "app/config", { mode: "x" });
  vault.root.mountDatabase("database");
  vault.root.addDatabaseRole("app", { ttl: 60, maxTtl: 7200 });
  vault.root.mountPki("pki");
  vault.root.addPkiRole("example-dot-com", { ttl: 3600 });
  vault.root.writePolicy("reader", [
    { path: "secret/data/app/*", capabilities: ["read"] },
    { path: "kv1/app/*", capabilities: ["read"] },
    { path: "database/creds/app", capabilities: ["read"] },
    { path: "pki/issue/example-dot-com", capabilities: ["update"] },
  ]);
  reader = vault.root.createToken({ policies: ["reader"], ttl: 60, maxTtl: 7200 }, "hvac-reader");
});

after(() => vault.stop());

type Result = { ok?: unknown; error?: string; errors?: string[] };

async function hvac(token: string, ...actions: unknown[][]): Promise<Result[]> {
  return hvacAt({ url: vault.url }, token, ...actions);
}

async function hvacAt(
  server: { url: string; verify?: string },
  token: string,
  ...actions: unknown[][]
): Promise<Result[]> {
  const result = await runTool(python, [SCRIPT], {}, JSON.stringify({ ...server, token, actions }));
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Result[];
}

const ok = <T>(result: Result | undefined): T => {
  assert.ok(result && result.error === undefined, `hvac failed: ${JSON.stringify(result)}`);
  return result.ok as T;
};

void it("KV v1 and v2 reads, and Vault's 403 bodies: a policy denial and an unknown token", async () => {
  const [v2, v1, denied, missing] = await hvac(
    reader,
    ["kv2_read", "app/db", "secret"],
    ["kv1_read", "app/config", "kv1"],
    ["kv2_read", "other/db", "secret"],
    ["kv2_read", "app/none", "secret"],
  );
  const secret = ok<{ data: { data: unknown; metadata: { version: number } } }>(v2);
  assert.deepEqual(secret.data.data, { password: "p2" });
  assert.equal(secret.data.metadata.version, 2);
  assert.deepEqual(ok<{ data: unknown }>(v1).data, { mode: "x" });
  assert.deepEqual(denied, { error: "Forbidden", errors: ["1 error occurred:\n\t* permission denied\n\n"] });
  assert.deepEqual(missing, { error: "InvalidPath", errors: [] });
  const [unknown] = await hvac("hvs.not-a-token", ["kv2_read", "app/db", "secret"]);
  assert.deepEqual(unknown, { error: "Forbidden", errors: ["permission denied"] });
});

void it("lookup-self has Vault's fields; renew-self takes seconds or a duration string", async () => {
  const [lookup, hour, seconds, bad] = await hvac(
    reader,
    ["lookup_self"],
    ["renew_self", "1h"],
    ["renew_self", 120],
    ["renew_self", "soon"],
  );
  const data = ok<{ data: Record<string, unknown> }>(lookup).data;
  for (const field of [
    "accessor",
    "creation_time",
    "creation_ttl",
    "display_name",
    "entity_id",
    "expire_time",
    "explicit_max_ttl",
    "id",
    "issue_time",
    "meta",
    "num_uses",
    "orphan",
    "path",
    "policies",
    "renewable",
    "ttl",
    "type",
  ]) {
    assert.ok(Object.hasOwn(data, field), `lookup-self lacks ${field}`);
  }
  assert.deepEqual(data.policies, ["default", "reader"]);
  assert.equal(data.meta, null, "a token without metadata reports meta: null");
  assert.equal(data.creation_ttl, 60);
  assert.match(String(data.expire_time), /^\d{4}-\d\d-\d\dT/);
  const leaseOf = (r: Result | undefined) => ok<{ auth: { lease_duration: number } }>(r).auth.lease_duration;
  assert.ok(Math.abs(leaseOf(hour) - 3600) <= 1, `1h renewed to ${leaseOf(hour)}s`);
  assert.ok(Math.abs(leaseOf(seconds) - 120) <= 1);
  assert.equal(bad?.error, "InvalidRequest");
  const [root] = await hvac(vault.rootToken, ["lookup_self"]);
  assert.deepEqual(ok<{ data: { policies: string[]; ttl: number } }>(root).data.policies, ["root"]);
});

void it("leases: read dynamic credentials, look the lease up, renew it with a duration string", async () => {
  const [creds] = await hvac(reader, ["read", "database/creds/app"]);
  const lease = ok<{ lease_id: string; lease_duration: number; renewable: boolean }>(creds);
  assert.equal(lease.lease_duration, 60);
  const [before, renewed, afterRenewal] = await hvac(
    reader,
    ["read_lease", lease.lease_id],
    ["renew_lease", lease.lease_id, "30m"],
    ["read_lease", lease.lease_id],
  );
  const first = ok<{ data: Record<string, unknown> }>(before).data;
  assert.deepEqual(Object.keys(first).sort(), [
    "expire_time",
    "id",
    "issue_time",
    "last_renewal_time",
    "renewable",
    "ttl",
  ]);
  assert.equal(first.id, lease.lease_id);
  assert.equal(first.last_renewal_time, null);
  assert.ok(Math.abs(ok<{ lease_duration: number }>(renewed).lease_duration - 1800) <= 1);
  const second = ok<{ data: Record<string, unknown> }>(afterRenewal).data;
  assert.match(String(second.last_renewal_time), /^\d{4}-\d\d-\d\dT/);
  assert.ok(Math.abs(Number(second.ttl) - 1800) <= 1);
});

void it("PKI issue: hvac's generate_certificate gets a certificate, its key and the CA", async () => {
  const [issued] = await hvac(reader, [
    "pki_issue",
    "example-dot-com",
    "localhost",
    { ip_sans: "127.0.0.1" },
    "pki",
  ]);
  const answer = ok<{ lease_id: string; data: Record<string, unknown> }>(issued);
  assert.equal(answer.lease_id, "");
  const cert = new X509Certificate(String(answer.data.certificate));
  assert.ok(cert.verify(new X509Certificate(String(answer.data.issuing_ca)).publicKey));
  assert.ok(cert.checkPrivateKey(createPrivateKey(String(answer.data.private_key))));
  assert.equal(cert.subjectAltName, "DNS:localhost, IP Address:127.0.0.1");
});

void it("sys/health honours standbyok, standbycode and sealedcode; seal-status has Vault's fields", async () => {
  const run = () =>
    hvac(
      "",
      ["health", {}],
      ["health", { standby_ok: true }],
      ["health", { standby_code: 299, sealed_code: 200 }],
      ["seal_status"],
    );
  const codes = (results: Result[]) => results.slice(0, 3).map((r) => ok<{ status: number }>(r).status);
  const active = await run();
  assert.deepEqual(codes(active), [200, 200, 200]);
  const status = ok<Record<string, unknown>>(active[3]);
  for (const field of [
    "type",
    "initialized",
    "sealed",
    "t",
    "n",
    "progress",
    "nonce",
    "version",
    "build_date",
  ])
    assert.ok(Object.hasOwn(status, field), `seal-status lacks ${field}`);
  assert.equal(status.sealed, false);
  assert.equal(typeof status.cluster_name, "string", "an unsealed Vault names its cluster");
  const body = ok<{ body: Record<string, unknown> }>(active[0]).body;
  assert.equal(body.standby, false);
  assert.equal(typeof body.server_time_utc, "number");
  try {
    vault.faults.standby = true;
    assert.deepEqual(codes(await run()), [429, 200, 299]);
    vault.faults.standby = false;
    vault.faults.sealed = true;
    const sealed = await run();
    assert.deepEqual(codes(sealed), [503, 503, 200]);
    assert.equal(ok<{ sealed: boolean }>(sealed[3]).sealed, true);
    assert.equal(ok<{ cluster_name?: string }>(sealed[3]).cluster_name, undefined);
  } finally {
    vault.faults.standby = false;
    vault.faults.sealed = false;
  }
});

void it("userpass, LDAP and cert logins answer with Vault's auth block; bad credentials with 400", async () => {
  vault.root.enableUserpass();
  vault.root.addUserpassUser("alice", { password: "pw-a", policies: ["reader"], ttl: 60 });
  vault.root.enableLdap();
  vault.root.addLdapUser("bob", { password: "pw-b", policies: ["reader"], ttl: 60 });
  const [userpass, ldap, wrong] = await hvac(
    "",
    ["userpass_login", "alice", "pw-a", "userpass"],
    ["ldap_login", "bob", "pw-b", "ldap"],
    ["userpass_login", "alice", "nope", "userpass"],
  );
  type Auth = { auth: { client_token: string; policies: string[]; metadata: Record<string, string> } };
  assert.deepEqual(ok<Auth>(userpass).auth.policies, ["default", "reader"]);
  assert.deepEqual(ok<Auth>(userpass).auth.metadata, { username: "alice" });
  assert.match(ok<Auth>(ldap).auth.client_token, /^hvs\./);
  assert.deepEqual(wrong, { error: "InvalidRequest", errors: ["invalid username or password"] });

  const dir = await mkdtemp(join(tmpdir(), "refsync-hvac-cert-"));
  const pki = await createPki(dir);
  const tls = await startVaultServer({
    tls: {
      cert: await readFile(pki.servingCertPath, "utf8"),
      key: await readFile(pki.servingKeyPath, "utf8"),
    },
  });
  try {
    tls.root.writePolicy("reader", [{ path: "secret/data/*", capabilities: ["read"] }]);
    tls.root.enableCertAuth();
    tls.root.addCertRole("app", {
      certificate: await readFile(pki.caCertPath, "utf8"),
      policies: ["reader"],
      ttl: 60,
    });
    const server = { url: tls.url, verify: pki.caCertPath };
    const [cert, unknownRole] = await hvacAt(
      server,
      "",
      ["cert_login", "app", pki.clientCertPath, pki.clientKeyPath, "cert"],
      ["cert_login", "other", pki.clientCertPath, pki.clientKeyPath, "cert"],
    );
    const metadata = ok<Auth>(cert).auth.metadata;
    assert.equal(metadata.cert_name, "app");
    assert.equal(metadata.common_name, "carol");
    assert.match(metadata.serial_number ?? "", /^\d+$/);
    assert.equal(tls.count({ path: "auth/cert/login", status: 200, identity: "cert-app" }), 1);
    assert.deepEqual(unknownRole, {
      error: "InvalidRequest",
      errors: ["invalid certificate or no client certificate supplied"],
    });
  } finally {
    await tls.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

void it("an AWS iam login signed by hvac (botocore) is sent to STS by the server and bound to the role", async () => {
  const aws = await startAwsServer();
  try {
    const keys = aws.addUser({ name: "hvac-login" });
    const other = aws.addUser({ name: "hvac-other" });
    vault.root.enableAwsAuth(aws.endpoint, { serverIdHeader: "vault.example.com" }, "aws-hvac");
    vault.root.addAwsIamRole(
      "app",
      {
        boundIamPrincipalArns: [`arn:aws:iam::${aws.account}:user/hvac-login`],
        policies: ["reader"],
        ttl: 60,
      },
      "aws-hvac",
    );
    const login = (who: typeof keys, header: string | null) => [
      "aws_iam_login",
      who.accessKeyId,
      who.secretAccessKey,
      "app",
      aws.region,
      header,
      "aws-hvac",
    ];
    const [ok1, unbound, noHeader] = await hvac(
      "",
      login(keys, "vault.example.com"),
      login(other, "vault.example.com"),
      login(keys, null),
    );
    type Auth = { auth: { metadata: Record<string, string>; policies: string[] } };
    const auth = ok<Auth>(ok1).auth;
    assert.equal(auth.metadata.canonical_arn, `arn:aws:iam::${aws.account}:user/hvac-login`);
    assert.deepEqual(auth.policies, ["default", "reader"]);
    assert.equal(
      aws.requests.filter((r) => r.operation === "GetCallerIdentity" && r.status === 200).length,
      2,
    );
    assert.equal(unbound?.error, "InvalidRequest");
    assert.match(unbound?.errors?.[0] ?? "", /does not belong to the role "app"/);
    assert.equal(noHeader?.error, "InvalidRequest");
    assert.match(noHeader?.errors?.[0] ?? "", /X-Vault-AWS-IAM-Server-ID/);
  } finally {
    await aws.close();
  }
});
