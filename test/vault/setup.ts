/**
 * Shared setup of the Vault integration suites: the test cluster, a Vault
 * test server whose Kubernetes auth asks that cluster's TokenReview API, an
 * in-process controller scoped to the test's namespace, and builders for
 * Vault SecretStores and ServiceAccounts.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before } from "node:test";
import type { Condition, ExternalSecret, ExternalSecretSpec, SecretStore } from "../../src/api/v1alpha1.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { CONTROLLER_TOKEN_FILE_ENV } from "../../src/providers/vault/index.ts";
import type { PluginConfig } from "../../src/render/config.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
  type TestControllerOptions,
} from "../controller/harness.ts";
import { clusterTokenReviewer, startVaultServer, type VaultTestServer } from "../servers/vault/index.ts";
import type { Capability } from "../servers/vault/policy.ts";

export interface VaultSuite {
  cluster: Cluster;
  vault: VaultTestServer;
  stop(): Promise<void>;
}

/** Options of the Vault test server (`tls`: serve HTTPS). */
export type VaultServerOptions = NonNullable<Parameters<typeof startVaultServer>[0]>;

/** Starts (or joins) the cluster and a Vault with KV v2 at secret/, KV v1 at kv/, database/ and auth/kubernetes. */
export async function startVaultSuite(server: VaultServerOptions = {}): Promise<VaultSuite> {
  const cluster = await startCluster({ crds: true });
  const vault = await startVaultServer(server);
  vault.root.mountKv("secret", 2);
  vault.root.mountKv("kv", 1);
  vault.root.mountDatabase("database");
  vault.root.enableKubernetesAuth(clusterTokenReviewer(cluster.kc));
  return {
    cluster,
    vault,
    async stop() {
      await vault.stop();
      await cluster.stop();
    },
  };
}

/**
 * Registers the before/after hooks of a describe block that runs on a suite:
 * `start`, then `prepare`, before its tests; the suite's `stop` after them.
 * The returned object is the suite, filled in by the before hook.
 */
export function useSuite<T extends VaultSuite>(
  start: () => Promise<T>,
  prepare?: (suite: T) => Promise<void> | void,
): T {
  const suite = {} as T;
  before(async () => {
    Object.assign(suite, await start());
    await prepare?.(suite);
  });
  after(async () => {
    await (suite as Partial<T>).stop?.();
  });
  return suite;
}

/** A controller watching only `namespace`. */
export function controllerFor(
  suite: VaultSuite,
  namespace: string,
  options: Partial<TestControllerOptions> = {},
): Promise<TestController> {
  return startTestController(suite.cluster, { logLevel: "debug", ...options, namespace });
}

/** No Vault token (`hvs.…`) and no JWT (service-account tokens, login JWTs) in `text`. */
export function assertNoCredentials(text: string, what: string): void {
  assert.doesNotMatch(text, /hvs\.[\w-]{10,}/, `${what} holds a Vault token`);
  assert.doesNotMatch(text, /eyJ[\w-]{10,}\.eyJ[\w-]{10,}/, `${what} holds a JWT`);
}

export function vaultStore(
  namespace: string,
  name: string,
  vault: Record<string, unknown>,
  extra: Partial<SecretStore["spec"]> = {},
): SecretStore {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "SecretStore",
    metadata: { name, namespace },
    spec: { provider: { vault }, ...extra },
  };
}

/** `spec.provider.vault` with Kubernetes auth as `serviceAccount` of the store's namespace. */
export function kubernetesAuthSpec(
  server: string,
  role: string,
  serviceAccount: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    server,
    path: "secret",
    auth: { kubernetes: { role, serviceAccountRef: { name: serviceAccount, audiences: ["vault"] } } },
    ...extra,
  };
}

/** Applies SecretStore `name` (default "vault") in `namespace`, with Kubernetes auth as its ServiceAccount `app` under Vault role `role` (default: the namespace's name). */
export async function applyKubernetesAuthStore(
  kube: KubeClient,
  vault: VaultTestServer,
  namespace: string,
  options: { name?: string; role?: string; spec?: Record<string, unknown> } = {},
): Promise<void> {
  const spec = kubernetesAuthSpec(vault.url, options.role ?? namespace, "app", options.spec);
  await applyObject(kube, vaultStore(namespace, options.name ?? "vault", spec));
}

export async function createServiceAccount(kube: KubeClient, namespace: string, name: string): Promise<void> {
  await kube.apply(
    resourceTypes.serviceAccount,
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } },
    { fieldManager: "test", force: true },
  );
}

/** A Vault policy `role` with `rules`, and a Kubernetes auth role of that name for `namespace`'s service account `app`. */
export function kubernetesRole(
  vault: VaultTestServer,
  role: string,
  namespace: string,
  rules: { path: string; capabilities: Capability[] }[],
  ttl = 300,
): void {
  vault.root.writePolicy(role, rules);
  vault.root.addKubernetesRole(role, {
    boundServiceAccountNames: ["app"],
    boundServiceAccountNamespaces: [namespace],
    audience: "vault",
    policies: [role],
    ttl,
  });
}

/** Role `namespace`: may read and list secret/<namespace>/*. */
export function grantNamespace(vault: VaultTestServer, namespace: string, ttl = 300): void {
  kubernetesRole(
    vault,
    namespace,
    namespace,
    [
      { path: `secret/data/${namespace}/*`, capabilities: ["read"] },
      { path: `secret/metadata/${namespace}/*`, capabilities: ["read", "list"] },
    ],
    ttl,
  );
}

export interface NamespaceSuite extends VaultSuite {
  /** The test's namespace, with a ServiceAccount `app`. */
  ns: string;
  /** A controller watching only `ns`. */
  ctl: TestController;
}

/** startVaultSuite, plus a namespace with ServiceAccount `app` and a controller for it. */
export async function startNamespaceSuite(
  prefix: string,
  server: VaultServerOptions = {},
  controller: Partial<TestControllerOptions> = {},
): Promise<NamespaceSuite> {
  const suite = await startVaultSuite(server);
  const ns = await suite.cluster.createNamespace(prefix);
  const ctl = await controllerFor(suite, ns, controller);
  await createServiceAccount(ctl.kube, ns, "app");
  return {
    ...suite,
    ns,
    ctl,
    async stop() {
      await ctl.stop();
      await suite.stop();
    },
  };
}

export interface TenantsSuite extends VaultSuite {
  nsA: string;
  nsB: string;
  /** Controllers watching only nsA, nsB. */
  ctlA: TestController;
  ctlB: TestController;
}

/** startVaultSuite, plus two namespaces with a controller each. */
export async function startTenantsSuite(prefixA: string, prefixB: string): Promise<TenantsSuite> {
  const suite = await startVaultSuite();
  const nsA = await suite.cluster.createNamespace(prefixA);
  const nsB = await suite.cluster.createNamespace(prefixB);
  const ctlA = await controllerFor(suite, nsA);
  const ctlB = await controllerFor(suite, nsB);
  return {
    ...suite,
    nsA,
    nsB,
    ctlA,
    ctlB,
    async stop() {
      await ctlA.stop();
      await ctlB.stop();
      await suite.stop();
    },
  };
}

/** Waits until SecretStore `namespace/name` has condition `type` = `status`; returns that condition. */
export function waitForStoreCondition(
  kube: KubeClient,
  namespace: string,
  name: string,
  type: string,
  status: "True" | "False",
): Promise<Condition> {
  return waitFor(async () => {
    const store = await kube.get<SecretStore>(resourceTypes.secretStore, namespace, name);
    const condition = store?.status?.conditions?.find((c) => c.type === type);
    return condition?.status === status ? condition : undefined;
  }, `SecretStore ${namespace}/${name} ${type}=${status}`);
}

/** An ExternalSecret copying `property` of Vault key `key` into the Secret key of the same name. */
export function propertyExternalSecret(
  namespace: string,
  name: string,
  store: ExternalSecretSpec["secretStoreRef"],
  key: string,
  property: string,
  extra: Partial<ExternalSecretSpec> = {},
): ExternalSecret {
  return externalSecret(namespace, name, {
    secretStoreRef: store,
    data: [{ secretKey: property, remoteRef: { key, property } }],
    ...extra,
  });
}

/**
 * That SecretStore `store` of the suite's namespace logs in and reads: ExternalSecret `store`,
 * copying the password of Vault key `<ns>/db`, syncs and its Secret holds `password`.
 */
export async function expectStoreSyncs(
  suite: NamespaceSuite,
  store: string,
  password: string,
): Promise<void> {
  const { ctl, ns } = suite;
  await applyObject(ctl.kube, propertyExternalSecret(ns, store, { name: store }, `${ns}/db`, "password"));
  await waitForCondition(ctl.kube, ns, store, "Ready", "True", "SecretSynced");
  const secret = await waitFor(() => getSecret(ctl.kube, ns, store), `Secret ${store}`);
  assert.deepEqual(secret.data, { password });
}

/**
 * The plugin's (or controller's) own identity: ServiceAccount
 * `argocd-repo-server` in `namespace`, its token in `dir/token` as the
 * projected token (REFSYNC_VAULT_SERVICE_ACCOUNT_TOKEN_FILE, set for this
 * process), and Vault role `argocd` allowed to read secret/data/* and
 * secret/metadata/*. Returns a
 * plugin configuration with store `vault` and inline reads of team-a/ by
 * project team-a.
 */
export async function pluginIdentity(
  suite: VaultSuite,
  namespace: string,
  dir: string,
): Promise<PluginConfig> {
  const kube = await KubeClient.fromKubeConfig(suite.cluster.kc);
  try {
    await createServiceAccount(kube, namespace, "argocd-repo-server");
    const { status } = await kube.request<{ status: { token: string } }>(
      "POST",
      kube.path(resourceTypes.serviceAccount, namespace, "argocd-repo-server", "token"),
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: [] } } },
    );
    await writeFile(join(dir, "token"), status.token);
  } finally {
    kube.close();
  }
  process.env[CONTROLLER_TOKEN_FILE_ENV] = join(dir, "token");
  suite.vault.root.writePolicy("argocd", [
    { path: "secret/data/*", capabilities: ["read"] },
    // The controller's inline-mode freshness check reads versions from metadata.
    { path: "secret/metadata/*", capabilities: ["read"] },
  ]);
  suite.vault.root.addKubernetesRole("argocd", {
    boundServiceAccountNames: ["argocd-repo-server"],
    boundServiceAccountNamespaces: [namespace],
    policies: ["argocd"],
    ttl: 300,
  });
  return {
    stores: {
      vault: {
        provider: {
          vault: { server: suite.vault.url, path: "secret", auth: { kubernetes: { role: "argocd" } } },
        },
      },
    },
    defaultStores: { vault: "vault" },
    modes: ["deferred", "inline"],
    policy: [{ projects: ["team-a"], stores: ["vault"], paths: ["team-a/"] }],
  };
}
