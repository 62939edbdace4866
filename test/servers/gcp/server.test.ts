// The Google test server driven by the gcpsm provider's client with key-file
// auth (self-signed JWTs, no cluster needed): versions and their states,
// binary payloads, labels and pagination, writes, status codes, faults and
// the request log.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  AccessDeniedError,
  InvalidSpecError,
  SecretNotFoundError,
  SecretVersionStateError,
  ThrottledError,
} from "../../../src/errors.ts";
import { selectProperty } from "../../../src/providers/extract.ts";
import { createProviderClient } from "../../../src/providers/registry.ts";
import type { CallResult, ProviderClient } from "../../../src/providers/types.ts";
import { startGcpServer, type GcpTestServer } from "./index.ts";

let gcp: GcpTestServer;
let client: ProviderClient;
let key: string;
const others: ProviderClient[] = [];
const calls: { call: string; result: CallResult }[] = [];
const READER = "reader@refsync-test.iam.gserviceaccount.com";

before(async () => {
  gcp = await startGcpServer();
  gcp.addServiceAccount(READER);
  gcp.bind({ member: `serviceAccount:${READER}`, role: "admin", secrets: ["app-*", "bin", "new-*"] });
  // Listing is granted on the project (every secret), as secretmanager.secrets.list is.
  gcp.bind({ member: `serviceAccount:${READER}`, role: "viewer", secrets: ["*"] });
  key = gcp.createKey(READER);
  client = storeClient();
});

after(async () => {
  await Promise.all([client, ...others].map((c) => c?.close()));
  await gcp?.close();
});

function storeClient(spec: Record<string, unknown> = {}): ProviderClient {
  return createProviderClient(
    {
      gcpsm: {
        projectID: gcp.projectID,
        endpoints: { secretManager: gcp.secretManager },
        caBundle: gcp.caBundle,
        auth: { secretRef: { secretAccessKeySecretRef: { name: "gcp-key", key: "key.json" } } },
        ...spec,
      },
    },
    {
      storeName: "SecretStore/test/gcp",
      readCredential: (ref) => Promise.resolve(ref.name === "gcp-key" ? key : ""),
      onCall: (call, result) => calls.push({ call, result }),
    },
  );
}

void test("latest, pinned versions and JSON properties", async () => {
  gcp.putSecret("app-db", JSON.stringify({ password: "one" }));
  gcp.putSecret("app-db", JSON.stringify({ password: "two" }));
  const latest = await client.read({ key: "app-db" });
  assert.equal(latest.version, "2");
  assert.equal(selectProperty(latest, { store: "s", key: "app-db", property: "password" }), "two");
  const pinned = await client.read({ key: "app-db", version: "1" });
  assert.equal(pinned.version, "1");
  assert.equal(await client.currentVersion?.({ key: "app-db" }), "2");
  const full = await client.read({ key: `projects/${gcp.projectID}/secrets/app-db` });
  assert.equal(full.version, "2");
});

void test("disabled and destroyed versions are typed errors; missing ones NotFound", async () => {
  gcp.putSecret("app-rot", "a");
  gcp.putSecret("app-rot", "b");
  gcp.setVersionState("app-rot", 2, "DISABLED");
  const disabled = await client.read({ key: "app-rot" }).catch((e: unknown) => e);
  assert.ok(disabled instanceof SecretVersionStateError, String(disabled));
  assert.equal(disabled.state, "DISABLED");
  assert.match(disabled.message, /DISABLED/);
  assert.equal((await client.read({ key: "app-rot", version: "1" })).data, "a");
  gcp.setVersionState("app-rot", 1, "DESTROYED");
  const destroyed = await client.read({ key: "app-rot", version: "1" }).catch((e: unknown) => e);
  assert.ok(destroyed instanceof SecretVersionStateError && destroyed.state === "DESTROYED");
  await assert.rejects(client.read({ key: "app-missing" }), SecretNotFoundError);
  await assert.rejects(client.read({ key: "app-rot", version: "9" }), SecretNotFoundError);
  const refusedOther = await client.read({ key: "other" }).catch((e: unknown) => e);
  assert.ok(refusedOther instanceof AccessDeniedError, String(refusedOther));
  // The permission comes from the ErrorInfo in the status details.
  assert.match(refusedOther.message, /permission denied: needs secretmanager\.versions\.access \(/);
  await assert.rejects(client.read({ key: "bad/id" }), InvalidSpecError);
  // A full resource name stays in the store's project.
  await assert.rejects(client.read({ key: "projects/other-project/secrets/app-db" }), AccessDeniedError);
});

/** The official client on the test server, with the reader's tokens (sent by hand, as the provider does). */
async function officialClient() {
  const { SecretManagerServiceClient } = await import("@google-cloud/secret-manager");
  const { credentials } = await import("@grpc/grpc-js");
  const { PassThroughClient } = await import("google-auth-library");
  const { tokenSource } = await import("../../../src/providers/gcpsm/credentials.ts");
  const tokens = tokenSource(
    { projectID: gcp.projectID, auth: { secretRef: { secretAccessKeySecretRef: { name: "k", key: "k" } } } },
    { storeName: "SecretStore/test/gcp", readCredential: () => Promise.resolve(key) },
  );
  const [host, port] = gcp.secretManager.split(":");
  const sm = new SecretManagerServiceClient({
    apiEndpoint: host,
    port: Number(port),
    sslCreds: credentials.createSsl(Buffer.from(gcp.caBundle, "base64")),
    authClient: new PassThroughClient(),
    universeDomain: "googleapis.com",
  });
  return { sm, tokens };
}

void test("LatestOrFetch: an unset version whose latest is disabled reads the newest enabled one, as ESO", async () => {
  const fetching = storeClient({ secretVersionSelectionPolicy: "LatestOrFetch" });
  others.push(fetching);
  for (const value of ["v1", "v2", "v3", "v4"]) gcp.putSecret("app-fallback", value);
  gcp.setVersionState("app-fallback", 4, "DISABLED");
  gcp.setVersionState("app-fallback", 3, "DESTROYED");
  gcp.clearRequests();
  const read = await fetching.read({ key: "app-fallback" });
  assert.deepEqual([read.data, read.version], ["v2", "2"]);
  assert.equal(gcp.count("ListSecretVersions"), 1);
  // The freshness check's version is the one read would return.
  assert.equal(await fetching.currentVersion?.({ key: "app-fallback" }), "2");
  assert.equal(await client.currentVersion?.({ key: "app-fallback" }), "4");
  // LatestOrFail, the default, still fails; so does an explicit version, `latest` included.
  await assert.rejects(client.read({ key: "app-fallback" }), SecretVersionStateError);
  await assert.rejects(fetching.read({ key: "app-fallback", version: "latest" }), SecretVersionStateError);
  await assert.rejects(fetching.read({ key: "app-fallback", version: "4" }), SecretVersionStateError);
  // No enabled version left: latest's own error.
  gcp.setVersionState("app-fallback", 2, "DISABLED");
  gcp.setVersionState("app-fallback", 1, "DISABLED");
  const none = await fetching.read({ key: "app-fallback" }).catch((e: unknown) => e);
  assert.ok(none instanceof SecretVersionStateError && none.state === "DISABLED", String(none));
  // Re-enabling the latest reads it again, without listing.
  gcp.setVersionState("app-fallback", 4, "ENABLED");
  gcp.clearRequests();
  assert.equal((await fetching.read({ key: "app-fallback" })).data, "v4");
  assert.equal(gcp.count("ListSecretVersions"), 0);
});

void test("ListSecretVersions filters by state and pages, newest first, as the API", async () => {
  const { sm, tokens } = await officialClient();
  try {
    for (const value of ["a", "b", "c"]) gcp.putSecret("app-list", value);
    gcp.setVersionState("app-list", 2, "DISABLED");
    const authorization = `Bearer ${await tokens.token()}`;
    const options = { retry: null, otherArgs: { headers: { authorization } }, autoPaginate: false };
    const parent = `projects/${gcp.projectID}/secrets/app-list`;
    const [enabled] = await sm.listSecretVersions({ parent, filter: "state:ENABLED" }, options);
    assert.deepEqual(
      enabled.map((v) => [v.name?.split("/").at(-1), v.state]),
      [
        ["3", "ENABLED"],
        ["1", "ENABLED"],
      ],
    );
    const [first, , page] = await sm.listSecretVersions({ parent, pageSize: 2 }, options);
    assert.deepEqual(
      first.map((v) => v.name?.split("/").at(-1)),
      ["3", "2"],
    );
    const [rest] = await sm.listSecretVersions(
      { parent, pageSize: 2, pageToken: page?.nextPageToken ?? "" },
      options,
    );
    assert.deepEqual(
      rest.map((v) => v.name?.split("/").at(-1)),
      ["1"],
    );
    await assert.rejects(
      sm.listSecretVersions({ parent, filter: "labels.a=b" }, options),
      /INVALID_ARGUMENT/,
    );
  } finally {
    await sm.close();
  }
});

void test("binary payloads come back as bytes", async () => {
  const bytes = new Uint8Array([0, 255, 254, 1, 128]);
  gcp.putSecret("bin", bytes);
  const value = await client.read({ key: "bin" });
  assert.ok(value.data instanceof Uint8Array);
  assert.deepEqual([...value.data], [...bytes]);
});

void test("find by labels and name across pages", async () => {
  for (let i = 0; i < 150; i++) gcp.putSecret(`app-l${i}`, "x", { labels: { team: i % 2 ? "a" : "b" } });
  gcp.clearRequests();
  const found = await client.list({ tags: { team: "a" }, name: { regexp: "^app-l1" } });
  assert.equal(found.length, found.filter((id) => /^app-l1/.test(id)).length);
  assert.ok(found.includes("app-l1") && !found.includes("app-l10"));
  assert.ok(gcp.count("ListSecrets") >= 1);
  const all = await client.list({ tags: { team: "b" } });
  assert.equal(all.length, 75);
});

void test("write creates the secret, then adds versions only on change", async () => {
  const created = await client.write!("new-one", { a: "1" });
  assert.equal(created.outcome, "created");
  assert.equal(created.version, "1");
  assert.equal((await client.write!("new-one", { a: "1" })).outcome, "unchanged");
  const updated = await client.write!("new-one", { a: "2" });
  assert.deepEqual(updated, { outcome: "updated", version: "2" });
});

void test("RESOURCE_EXHAUSTED backs off with the client's settings; every attempt is counted", async () => {
  gcp.putSecret("app-busy", "v");
  calls.length = 0;
  gcp.failNext("RESOURCE_EXHAUSTED", 1, { method: "AccessSecretVersion" });
  assert.equal((await client.read({ key: "app-busy" })).data, "v");
  assert.deepEqual(
    calls.filter((c) => c.call === "AccessSecretVersion").map((c) => c.result),
    ["throttled", "success"],
  );
  gcp.failNext("RESOURCE_EXHAUSTED", 5, { method: "AccessSecretVersion" });
  calls.length = 0;
  await assert.rejects(client.read({ key: "app-busy" }), ThrottledError);
  assert.equal(calls.filter((c) => c.result === "throttled").length, 3);
});

void test("validate reports the StaticCredentials warning", async () => {
  const result = await client.validate();
  assert.equal(result.status, "Ready");
  assert.deepEqual(
    result.warnings?.map((w) => w.type),
    ["StaticCredentials"],
  );
});

void test("a full name by project number: read with projectNumber, refused without, checked by validate", async () => {
  gcp.putSecret("app-num", "one");
  gcp.putSecret("app-num", "two");
  const byNumber = `projects/${gcp.projectNumber}/secrets/app-num`;
  gcp.clearRequests();
  const refused = await client.read({ key: byNumber }).catch((e: unknown) => e);
  assert.ok(refused instanceof AccessDeniedError, String(refused));
  assert.match(
    refused.message,
    /outside the store's project refsync-test \(if \d+ is its number, set spec\.provider\.gcpsm\.projectNumber\)/,
  );
  assert.equal(gcp.count("AccessSecretVersion"), 0, "refused before asking Google");

  const numbered = storeClient({ projectNumber: gcp.projectNumber });
  others.push(numbered);
  assert.deepEqual(await numbered.read({ key: byNumber }), { data: "two", version: "2" });
  assert.equal((await numbered.read({ key: byNumber, version: "1" })).data, "one");
  assert.equal((await numbered.read({ key: `projects/${gcp.projectID}/secrets/app-num` })).data, "two");
  assert.equal((await numbered.read({ key: "app-num" })).data, "two");
  const elsewhere = await numbered
    .read({ key: "projects/999999999999/secrets/app-num" })
    .catch((e: unknown) => e);
  assert.ok(elsewhere instanceof AccessDeniedError, String(elsewhere));
  assert.match(elsewhere.message, /outside the store's project refsync-test \(number \d+\)$/);
  assert.equal((await numbered.validate()).status, "Ready");

  // A number of another project would let keys by number leave the store's project: validation refuses it.
  const wrong = storeClient({ projectNumber: "999999999999" });
  others.push(wrong);
  const validation = await wrong.validate();
  assert.equal(validation.status, "Error");
  assert.match(
    validation.message ?? "",
    new RegExp(
      `projectNumber 999999999999 is not the number of project refsync-test: Secret Manager names it ${gcp.projectNumber}`,
    ),
  );
});

void test("errors carry google.rpc details in grpc-status-details-bin, as the official client decodes them", async () => {
  // The official client (google-gax) decodes the trailer into GoogleError's
  // statusDetails, reason, domain and errorInfoMetadata.
  const { sm, tokens } = await officialClient();
  type Decoded = Error & {
    code?: number;
    reason?: string;
    domain?: string;
    errorInfoMetadata?: Record<string, string>;
    statusDetails?: unknown[];
  };
  const access = async (name: string) => {
    const options = {
      retry: null,
      otherArgs: { headers: { authorization: `Bearer ${await tokens.token()}` } },
    };
    return (await sm.accessSecretVersion({ name }, options).catch((e: unknown) => e)) as Decoded;
  };
  try {
    const base = `projects/${gcp.projectID}/secrets`;
    const denied = await access(`${base}/other-secret/versions/latest`);
    assert.equal(denied.code, 7, String(denied));
    assert.equal(denied.reason, "IAM_PERMISSION_DENIED");
    assert.equal(denied.domain, "iam.googleapis.com");
    assert.equal(denied.errorInfoMetadata?.["permission"], "secretmanager.versions.access");
    assert.equal(denied.errorInfoMetadata?.["service"], "secretmanager.googleapis.com");

    const missing = await access(`${base}/app-missing-detail/versions/latest`);
    assert.equal(missing.code, 5, String(missing));
    const info = missing.statusDetails?.find((d) => d?.constructor?.name === "ResourceInfo") as
      | { resourceType?: string; resourceName?: string }
      | undefined;
    assert.ok(info, JSON.stringify(missing.statusDetails));
    assert.match(info.resourceName ?? "", /\/secrets\/app-missing-detail\//);
    assert.match(info.resourceType ?? "", /^secretmanager\.googleapis\.com\//);

    gcp.putSecret("app-quota", "v");
    gcp.failNext("RESOURCE_EXHAUSTED", 1, { method: "AccessSecretVersion", resource: "/secrets/app-quota/" });
    const quota = await access(`${base}/app-quota/versions/latest`);
    assert.equal(quota.code, 8, String(quota));
    assert.equal(quota.reason, "RATE_LIMIT_EXCEEDED");
    assert.equal(quota.domain, "googleapis.com");
    const retry = quota.statusDetails?.find((d) => d?.constructor?.name === "RetryInfo") as
      | { retryDelay?: { seconds?: unknown } }
      | undefined;
    assert.ok(retry, JSON.stringify(quota.statusDetails));
    assert.equal(Number(retry.retryDelay?.seconds), 1);
  } finally {
    await sm.close();
  }
});
