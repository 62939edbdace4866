/**
 * Inline mode end to end against real protocol servers: an AWS Secrets
 * Manager test server (driven by the real AWS SDK in the provider) whose
 * static credentials the plugin reads from a Secret of a real
 * kube-apiserver. Many references to a few secrets cost one
 * BatchGetSecretValue, and no value reaches stderr.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { kubernetesSecretReader } from "../../src/providers/kubernetes/client.ts";
import { parseConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { awsProviderSpec, staticKeysRef } from "../aws/fixtures.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";

let cluster: Cluster;
let aws: AwsTestServer;
let namespace: string;
const PASSWORD = "aws-inline-Passw0rd";

before(async () => {
  [cluster, aws] = await Promise.all([startCluster(), startAwsServer()]);
  namespace = await cluster.createNamespace("plugin");
  const key = aws.addUser({ name: "plugin", read: ["team-a/*"] });
  for (const name of ["team-a/db", "team-a/api", "team-a/cache"]) {
    aws.putSecret(name, JSON.stringify({ user: "app", password: PASSWORD }));
  }
  await cluster.kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace,
    body: { metadata: { name: "aws" }, stringData: { id: key.accessKeyId, secret: key.secretAccessKey } },
  });
});

after(async () => {
  await Promise.all([cluster?.stop(), aws?.close()]);
});

function config() {
  return parseConfig(
    JSON.stringify({
      stores: {
        aws: { provider: { aws: awsProviderSpec(aws, { auth: staticKeysRef("aws", namespace) }) } },
      },
      defaultStores: { awssecrets: "aws" },
      modes: ["inline"],
      policy: [{ projects: ["team-a"], stores: ["aws"], paths: ["team-a/"] }],
    }),
    "refsync.yaml",
  );
}

function manifests(keys: string[]): string {
  return keys
    .map(
      (key, i) =>
        `apiVersion: v1\nkind: Secret\nmetadata: {name: s${i}}\nstringData:\n  url: "db://ref+awssecrets://${key}#user+:ref+awssecrets://${key}#password+@h"\n`,
    )
    .join("---\n");
}

void test("inline mode batches the reads of an AWS store and reads its credentials from a Kubernetes Secret", async () => {
  aws.clearRequests();
  const result = await render({
    input: "-",
    mode: "inline",
    config: config(),
    requester: { project: "team-a", namespace },
    stdin: () =>
      Promise.resolve(manifests(["team-a/db", "team-a/api", "team-a/cache", "team-a/db", "team-a/api"])),
    kubernetes: () => Promise.resolve(kubernetesSecretReader(cluster.kc)),
  });
  assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
  assert.equal(result.output.split(`url: db://app:${PASSWORD}@h`).length - 1, 5);
  assert.equal(aws.count("BatchGetSecretValue"), 1);
  assert.equal(aws.count("GetSecretValue"), 0);
});

void test("a backend error names the reference and location, never a value", async () => {
  const result = await render({
    input: "-",
    mode: "inline",
    config: config(),
    requester: { project: "team-a", namespace },
    stdin: () => Promise.resolve(manifests(["team-a/db", "team-a/missing"])),
    kubernetes: () => Promise.resolve(kubernetesSecretReader(cluster.kc)),
  });
  assert.equal(result.ok, false);
  const errors = result.ok ? [] : result.errors;
  assert.ok(errors.length >= 1);
  for (const line of errors) {
    assert.match(
      line,
      /^stdin: document 1: Secret\/s1: stringData\.url: ref\+awssecrets:\/\/team-a\/missing#/,
    );
    assert.ok(!line.includes(PASSWORD));
  }
});
