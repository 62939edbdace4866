// ESO's AWS role settings through the AWS SDK v3 against the STS + Secrets Manager protocol test server:
// additionalRoles (role chaining), sessionTags and transitiveTagKeys on role's AssumeRole (a policy that
// reads `team-${aws:PrincipalTag/team}/*` grants what the tags say), STS's tag rules, and role as an ARN.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  AssumeRoleCommand,
  STSClient,
  type AssumeRoleCommandInput,
  type Credentials as StsCredentials,
} from "@aws-sdk/client-sts";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { staticKeysClient } from "../../../test/aws/fixtures.ts";
import { startAwsServer, type AwsTestServer, type Credentials } from "../../../test/servers/aws/index.ts";
import { AccessDeniedError, InvalidSpecError } from "../../errors.ts";
import type { ProviderClient } from "../types.ts";

let server: AwsTestServer;
let base: Credentials;
const clients: ProviderClient[] = [];
const arn = (name: string): string => `arn:aws:iam::${server.account}:role/${name}`;

before(async () => {
  server = await startAwsServer({ sessionSeconds: 3600 });
  base = server.addUser({ name: "controller" });
  server.putSecret("team-a/db", "a-password");
  server.putSecret("team-b/db", "b-password");
  // controller → hop → tagged (chained), and controller → tagged directly is not trusted.
  server.addRole({ name: "hop", principals: [`arn:aws:iam::${server.account}:user/controller`] });
  server.addRole({
    name: "tagged",
    read: ["team-${aws:PrincipalTag/team}/*"],
    principals: [`arn:aws:sts::${server.account}:assumed-role/hop/refsync-team-a`],
    tagSession: true,
  });
  server.addRole({
    name: "untaggable",
    read: ["team-a/*"],
    principals: [`arn:aws:iam::${server.account}:user/controller`],
  });
  // A role trusted by `tagged` sessions: a chain past it inherits the transitive tags.
  server.addRole({
    name: "next",
    read: ["team-${aws:PrincipalTag/team}/*"],
    principals: [`arn:aws:iam::${server.account}:user/controller`],
    tagSession: true,
  });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
});

function client(spec: Record<string, unknown>): ProviderClient {
  const created = staticKeysClient(server, base, spec);
  clients.push(created);
  return created;
}

void test("additionalRoles are assumed in order before role; the session tags go with role only", async () => {
  server.clearRequests();
  const chained = client({
    additionalRoles: [arn("hop")],
    role: arn("tagged"),
    sessionTags: [{ key: "team", value: "a" }],
    transitiveTagKeys: ["team"],
  });
  assert.equal((await chained.read({ key: "team-a/db" })).data, "a-password");
  await assert.rejects(chained.read({ key: "team-b/db" }), AccessDeniedError, "the tag grants team-a only");
  const assumed = server.requests.filter((r) => r.operation === "AssumeRole");
  assert.deepEqual(
    assumed.map((r) => r.principal),
    [
      `arn:aws:iam::${server.account}:user/controller`,
      `arn:aws:sts::${server.account}:assumed-role/hop/refsync-team-a`,
    ],
    "hop is assumed with the base keys, tagged with hop's session",
  );
  assert.match(server.requests.at(-1)?.principal ?? "", /assumed-role\/tagged\/refsync-team-a/);
  // Without the chain, the controller itself is not trusted by `tagged`.
  const direct = client({ role: arn("tagged"), sessionTags: [{ key: "team", value: "a" }] });
  await assert.rejects(direct.read({ key: "team-a/db" }), AccessDeniedError);
});

void test("without the tag the policy grants nothing; a role whose trust lacks sts:TagSession refuses tags", async () => {
  const untagged = client({ additionalRoles: [arn("hop")], role: arn("tagged") });
  await assert.rejects(untagged.read({ key: "team-a/db" }), AccessDeniedError);
  const refused = client({ role: arn("untaggable"), sessionTags: [{ key: "team", value: "a" }] });
  server.clearRequests();
  await assert.rejects(refused.read({ key: "team-a/db" }), AccessDeniedError);
  assert.ok(
    server.requests.some(
      (r) => r.operation === "AssumeRole" && r.status === 403 && r.error === "AccessDenied",
    ),
  );
  // The same role without tags is fine.
  const plain = client({ role: arn("untaggable") });
  assert.equal((await plain.read({ key: "team-a/db" })).data, "a-password");
});

void test("STS itself (AWS SDK v3): a chained session inherits transitive tags and may not pass their keys again", async () => {
  server.addRole({
    name: "next-from-tagged",
    read: ["team-${aws:PrincipalTag/team}/*"],
    principals: [`arn:aws:sts::${server.account}:assumed-role/tagged/chain`],
    tagSession: true,
  });
  /** Keys of the test server's user, or a session STS returned. */
  const keysOf = (credentials: Credentials | StsCredentials | undefined) =>
    credentials && "accessKeyId" in credentials
      ? credentials
      : {
          accessKeyId: credentials?.AccessKeyId ?? "",
          secretAccessKey: credentials?.SecretAccessKey ?? "",
          ...(credentials?.SessionToken ? { sessionToken: credentials.SessionToken } : {}),
        };
  const sts = (credentials: Credentials | StsCredentials | undefined) =>
    new STSClient({ region: server.region, endpoint: server.endpoint, credentials: keysOf(credentials) });
  const assume = async (
    as: Credentials | StsCredentials | undefined,
    input: Omit<AssumeRoleCommandInput, "RoleSessionName">,
  ) => (await sts(as).send(new AssumeRoleCommand({ RoleSessionName: "chain", ...input }))).Credentials;
  const hop = await assume(base, { RoleArn: arn("hop") });
  // hop's session is `hop/chain`, which `tagged` does not trust: trust it for this chain.
  server.addRole({
    name: "tagged",
    read: ["team-${aws:PrincipalTag/team}/*"],
    principals: [
      `arn:aws:sts::${server.account}:assumed-role/hop/refsync-team-a`,
      `arn:aws:sts::${server.account}:assumed-role/hop/chain`,
    ],
    tagSession: true,
  });
  const tagged = await assume(hop, {
    RoleArn: arn("tagged"),
    Tags: [{ Key: "team", Value: "b" }],
    TransitiveTagKeys: ["team"],
  });
  const next = await assume(tagged, { RoleArn: arn("next-from-tagged") });
  const secrets = new SecretsManagerClient({
    region: server.region,
    endpoint: server.endpoint,
    credentials: {
      accessKeyId: next!.AccessKeyId!,
      secretAccessKey: next!.SecretAccessKey!,
      sessionToken: next!.SessionToken!,
    },
  });
  const value = await secrets.send(new GetSecretValueCommand({ SecretId: "team-b/db" }));
  assert.equal(value.SecretString, "b-password", "team=b came along the chain");
  await assert.rejects(
    assume(tagged, { RoleArn: arn("next-from-tagged"), Tags: [{ Key: "TEAM", Value: "a" }] }),
    (error: Error) => error.name === "InvalidParameterValue" && /transitive tag/.test(error.message),
  );
  await assert.rejects(
    assume(tagged, { RoleArn: arn("next-from-tagged"), DurationSeconds: 7200 }),
    /1 hour session limit for roles assumed by role chaining/,
  );
  await assert.rejects(
    assume(hop, {
      RoleArn: arn("tagged"),
      Tags: [
        { Key: "team", Value: "a" },
        { Key: "Team", Value: "b" },
      ],
    }),
    /Duplicate tag keys found/,
  );
  secrets.destroy();
});

void test("a role STS's API accepts but does not know is AccessDenied from STS, naming the role", async () => {
  // As ESO: the schema checks what STS's API checks; the account (ten digits here) and the form of the
  // ARN are STS's to judge when it authorizes the call.
  for (const role of ["arn:aws:iam::1234567890:role/role-a", "team-a-reader-role-name"]) {
    await assert.rejects(client({ role }).read({ key: "team-a/db" }), (error: Error) => {
      assert.ok(error instanceof AccessDeniedError, error.message);
      assert.ok(
        error.message.includes(`STS AssumeRole ${role}: access denied (AccessDenied)`),
        error.message,
      );
      assert.ok(!error.message.includes(base.secretAccessKey));
      return true;
    });
  }
});

void test("STS's tag rules are checked by the schema before any call, naming the field", () => {
  const bad = (spec: Record<string, unknown>, field: RegExp) =>
    assert.throws(
      () => client(spec),
      (error: Error) => error instanceof InvalidSpecError && field.test(error.message),
    );
  // STS's RoleArn: 20 to 2048 characters of its character set, so a short role name never reaches it.
  bad({ role: "reader" }, /spec\.provider\.aws\.role: must be 20 to 2048 characters, as STS's RoleArn/);
  bad({ role: `${arn("tagged")}\u0000` }, /spec\.provider\.aws\.role: has a character STS's RoleArn/);
  bad(
    { role: arn("tagged"), additionalRoles: ["hop"] },
    /spec\.provider\.aws\.additionalRoles\[0\]: must be 20 to 2048 characters/,
  );
  bad(
    {
      role: arn("tagged"),
      sessionTags: [
        { key: "team", value: "a" },
        { key: "TEAM", value: "b" },
      ],
    },
    /sessionTags: tag keys must differ, ignoring case/,
  );
  bad({ role: arn("tagged"), sessionTags: [{ key: "k".repeat(129), value: "v" }] }, /sessionTags\[0\]\.key/);
  bad({ role: arn("tagged"), sessionTags: [{ key: "team", value: "a!b" }] }, /sessionTags\[0\]\.value/);
  bad(
    {
      role: arn("tagged"),
      sessionTags: Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: "v" })),
    },
    /sessionTags/,
  );
  bad({ sessionTags: [{ key: "team", value: "a" }] }, /sessionTags: applies to role's AssumeRole: set role/);
  bad({ additionalRoles: [arn("hop")] }, /additionalRoles: applies to role's AssumeRole: set role/);
});
