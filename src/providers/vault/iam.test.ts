// Vault's AWS auth method (iam type) as ESO's auth.iam uses it: the store signs sts:GetCallerIdentity with
// the AWS SDK, the Vault test server sends that request to the AWS test server (which checks the SigV4
// signature against the keys it issued) and binds the caller's ARN to the Vault role. Real loopback HTTP
// both ways; no AWS key or session token may reach a message.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startAwsServer, type AwsTestServer, type Credentials } from "../../../test/servers/aws/index.ts";
import { testContext } from "../../../test/servers/vault/context.ts";
import { startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import { AccessDeniedError } from "../../errors.ts";
import type { ProviderClient } from "../types.ts";
import { vaultProvider } from "./index.ts";

let aws: AwsTestServer;
let vault: VaultTestServer;
let keys: Credentials;
let other: Credentials;
let roleArn: string;
let counter = 0;

before(async () => {
  aws = await startAwsServer({ sessionSeconds: 3600 });
  vault = await startVaultServer();
  keys = aws.addUser({ name: "vault-login" });
  other = aws.addUser({ name: "someone-else" });
  roleArn = aws.addRole({
    name: "vault-reader",
    principals: [`arn:aws:iam::${aws.account}:user/vault-login`],
    externalId: "refsync-ext",
  });
  vault.root.mountKv("secret", 2);
  vault.root.putSecret("secret", "app/db", { password: "via-iam" });
  vault.root.writePolicy("reader", [{ path: "secret/data/app/*", capabilities: ["read"] }]);
  vault.root.enableAwsAuth(aws.endpoint);
  vault.root.addAwsIamRole("user-role", {
    boundIamPrincipalArns: [`arn:aws:iam::${aws.account}:user/vault-login`],
    policies: ["reader"],
    ttl: 60,
  });
  vault.root.addAwsIamRole("assumed-role", {
    boundIamPrincipalArns: [roleArn],
    policies: ["reader"],
    ttl: 60,
  });
  vault.root.enableAwsAuth(aws.endpoint, { serverIdHeader: "vault.example.com" }, "aws-pinned");
  vault.root.addAwsIamRole(
    "user-role",
    { boundIamPrincipalArns: [`arn:aws:iam::${aws.account}:user/*`], policies: ["reader"], ttl: 60 },
    "aws-pinned",
  );
});

after(async () => {
  await vault.stop();
  await aws.close();
});

function store(iam: Record<string, unknown>, credentials: Credentials = keys): ProviderClient {
  const context = testContext(`SecretStore/app/iam-${++counter}`, "app", {
    "app/aws#id": credentials.accessKeyId,
    "app/aws#secret": credentials.secretAccessKey,
  });
  return vaultProvider.create(
    {
      server: vault.url,
      path: "secret",
      auth: {
        iam: {
          region: aws.region,
          stsEndpoint: aws.endpoint,
          secretRef: {
            accessKeyIDSecretRef: { name: "aws", key: "id" },
            secretAccessKeySecretRef: { name: "aws", key: "secret" },
          },
          ...iam,
        },
      },
    },
    context,
  );
}

const secrets = () => [keys.secretAccessKey, other.secretAccessKey];

async function denied(provider: ProviderClient, pattern: RegExp): Promise<void> {
  await assert.rejects(provider.read({ key: "app/db" }), (error: Error) => {
    assert.ok(error instanceof AccessDeniedError, `${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
    for (const secret of secrets()) assert.ok(!error.message.includes(secret));
    return true;
  });
  await provider.close();
}

void test("keys from a Secret sign GetCallerIdentity; Vault learns the IAM user from STS", async () => {
  aws.clearRequests();
  const provider = store({ vaultRole: "user-role" });
  assert.deepEqual((await provider.read({ key: "app/db" })).data, { password: "via-iam" });
  assert.equal(vault.count({ path: "auth/aws/login", status: 200 }), 1);
  assert.equal(vault.count({ path: "secret/data/app/db", identity: "aws-vault-login", status: 200 }), 1);
  const sts = aws.requests.filter((r) => r.operation === "GetCallerIdentity");
  assert.deepEqual(
    sts.map((r) => [r.status, r.principal]),
    [[200, `arn:aws:iam::${aws.account}:user/vault-login`]],
    "Vault, not refsync, sent the signed request to STS",
  );
  await provider.close();
});

void test("role (with externalID) is assumed first; the role session's ARN is bound as its role's", async () => {
  const provider = store({ vaultRole: "assumed-role", role: roleArn, externalID: "refsync-ext" });
  assert.deepEqual((await provider.read({ key: "app/db" })).data, { password: "via-iam" });
  assert.equal(vault.count({ path: "secret/data/app/db", identity: "aws-vault-reader", status: 200 }), 1);
  await provider.close();
  await denied(store({ vaultRole: "assumed-role", role: roleArn, externalID: "wrong" }), /AssumeRole/);
});

void test("an identity the role does not bind, or keys STS rejects, are AccessDenied without a key in the message", async () => {
  await denied(
    store({ vaultRole: "user-role" }, other),
    /iam login at auth\/aws\/login: .*does not belong to the role/,
  );
  await denied(
    store({ vaultRole: "user-role" }, { ...keys, secretAccessKey: "not-the-secret-key-0123456789" }),
    /received error code 403 from STS/,
  );
});

void test("vaultAwsIamServerID is signed into the request; without it a Vault that requires it refuses", async () => {
  const pinned = store({
    path: "aws-pinned",
    vaultRole: "user-role",
    vaultAwsIamServerID: "vault.example.com",
  });
  assert.deepEqual((await pinned.read({ key: "app/db" })).data, { password: "via-iam" });
  await pinned.close();
  await denied(store({ path: "aws-pinned", vaultRole: "user-role" }), /X-Vault-AWS-IAM-Server-ID/);
  await denied(
    store({ path: "aws-pinned", vaultRole: "user-role", vaultAwsIamServerID: "other.example.com" }),
    /X-Vault-AWS-IAM-Server-ID/,
  );
});

void test("ESO's snippet role (a 10-digit account) is accepted as STS accepts it; STS then denies it", async () => {
  // arn:aws:iam::1234567890:role/role-a is not a valid account, but STS's API checks only RoleArn's
  // length and characters: the call is made, and authorization fails, as with ESO.
  await denied(
    store({ vaultRole: "assumed-role", role: "arn:aws:iam::1234567890:role/role-a" }),
    /SecretStore\/app\/iam-\d+: STS AssumeRole arn:aws:iam::1234567890:role\/role-a: access denied \(AccessDenied\)/,
  );
  // What STS's API refuses is refused before any call: too short to be an ARN, naming the field.
  assert.throws(
    () => store({ vaultRole: "assumed-role", role: "role-a" }),
    /spec\.provider\.vault\.auth\.iam\.role: must be 20 to 2048 characters, as STS's RoleArn/,
  );
});
