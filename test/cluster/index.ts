/**
 * A real Kubernetes API server for tests, the demo and benchmarks (like controller-runtime's envtest).
 *
 *   const cluster = await startCluster({ crds: true });
 *   const ns = await cluster.createNamespace("my-test");
 *   ... cluster.kc (admin), cluster.userKubeConfig("alice") (unprivileged) ...
 *   await cluster.stop();
 *
 * What runs: Debian's etcd and kube-apiserver v1.20.2 (built once by ensure-apiserver.sh and cached
 * under ~/.cache/refsync/) on free loopback ports, with a fresh data dir, TLS from a throwaway CA that
 * the kubeconfig trusts, static-token users (admin in system:masters; alice and bob with no rights
 * until a test binds a Role), RBAC authorization, and a service-account signing key so TokenRequest
 * and TokenReview work.
 *
 * What does not run: kube-controller-manager, scheduler and kubelet. So a deleted namespace stays
 * Terminating, ownerReference garbage collection never happens, Deployments get no ReplicaSets and
 * Pods never start; namespaces get no "default" ServiceAccount (the ServiceAccount admission plugin
 * is off, so Pods can be created directly). Tests delete what they must see gone themselves.
 *
 * Sharing: `node test/run.ts` (npm test) starts one cluster for the whole run and passes its
 * connection info in REFSYNC_TEST_CLUSTER (a JSON file); startCluster() then connects to it and its
 * stop() does nothing. A test file run alone starts (and stops) a cluster of its own. Each test
 * should work in its own namespace (createNamespace).
 *
 * Processes are stopped by PID (process groups) in stop(), and killed when the test process exits,
 * fails, or gets SIGINT/SIGTERM. Should the owner die by SIGKILL, the next cluster started on the
 * machine kills the abandoned servers (stale.ts).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, statfsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { installCrds } from "./crds.ts";
import { CLIENT_CERT_USER, createPki } from "./pki.ts";
import { CLUSTER_DIR_PREFIX, reapStaleClusters, recordOwner } from "./stale.ts";
import { RUN_ID_ENV, logTail, startServer, stopServer, type ServerProcess } from "./processes.ts";

export { installCrds } from "./crds.ts";

/** Set by test/run.ts: path of a JSON file with the shared cluster's ClusterConnection. */
export const SHARED_CLUSTER_ENV = "REFSYNC_TEST_CLUSTER";
export const PROJECT_CRD_DIR = join(import.meta.dirname, "..", "..", "manifests", "crds");

export type TestUser = "alice" | "bob";

/** Everything a client needs to reach a cluster; what REFSYNC_TEST_CLUSTER points at. */
export interface ClusterConnection {
  server: string;
  /** PEM of the CA that signed the serving certificate, base64-encoded (kubeconfig style). */
  caData: string;
  tokens: { admin: string } & Record<TestUser, string>;
  /** A client certificate (base64 PEM, kubeconfig style) of a user with no rights until a test grants them. */
  clientCertificate: { user: string; certData: string; keyData: string };
  kubeconfigPath: string;
}

export interface Cluster extends ClusterConnection {
  /** Admin (system:masters) client configuration. */
  kc: KubeConfig;
  /** Client configuration of an unprivileged user: RBAC denies everything until a test grants it. */
  userKubeConfig(user: TestUser): KubeConfig;
  /** Client configuration that authenticates with `token` (e.g. a TokenRequest result). */
  kubeConfigForToken(token: string, user?: string): KubeConfig;
  /** Creates a namespace named `<prefix>-<random>` and returns its name. */
  createNamespace(prefix: string): Promise<string>;
  /** Stops the cluster's processes and removes its data; does nothing on the shared cluster. */
  stop(): Promise<void>;
  /** True when connected to the run's shared cluster rather than one of its own. */
  shared: boolean;
  /** PIDs of etcd and kube-apiserver (empty on the shared cluster). */
  pids: number[];
  /**
   * Private clusters only: stops kube-apiserver and starts it again on the same port and etcd (data
   * kept, as in a control-plane restart); resolves when it is ready. For fault tests.
   */
  restartApiserver?: () => Promise<void>;
}

export interface StartClusterOptions {
  /** Install manifests/crds/*.yaml and wait until they are Established. */
  crds?: boolean;
  /** Ignore REFSYNC_TEST_CLUSTER and start a private cluster (for tests of the harness itself). */
  private?: boolean;
}

export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const sharedPath = options.private ? undefined : process.env[SHARED_CLUSTER_ENV];
  const cluster = sharedPath ? await connectShared(sharedPath) : await startPrivateCluster();
  if (options.crds) {
    try {
      await installCrds(cluster.kc, PROJECT_CRD_DIR);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }
  return cluster;
}

async function connectShared(path: string): Promise<Cluster> {
  const connection = JSON.parse(await readFile(path, "utf8")) as ClusterConnection;
  return clusterFor(connection, { shared: true, pids: [], stop: async () => undefined });
}

function clusterFor(
  connection: ClusterConnection,
  extra: Pick<Cluster, "shared" | "pids" | "stop" | "restartApiserver">,
): Cluster {
  const kubeConfigForToken = (token: string, user = "token-user"): KubeConfig =>
    kubeConfigFor(connection, user, token);
  const kc = kubeConfigForToken(connection.tokens.admin, "admin");
  const core = kc.makeApiClient(CoreV1Api);
  return {
    ...connection,
    ...extra,
    kc,
    kubeConfigForToken,
    userKubeConfig: (user) => kubeConfigForToken(connection.tokens[user], user),
    createNamespace: async (prefix) => {
      const name = namespaceName(prefix);
      await core.createNamespace({ body: { metadata: { name } } });
      return name;
    },
  };
}

function kubeConfigFor(connection: ClusterConnection, user: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: "refsync-test", server: connection.server, caData: connection.caData, skipTLSVerify: false },
    ],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: "refsync-test", user }],
    currentContext: user,
  });
  return kc;
}

/** A DNS-1123 label: `<prefix>-<6 hex>`, at most 63 characters. */
function namespaceName(prefix: string): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 55) || "test";
  return `${clean}-${randomBytes(3).toString("hex")}`;
}

// ---------------------------------------------------------------------------------------------
// A private cluster: etcd + kube-apiserver started here.

const STARTUP_TIMEOUT_MS = 120_000;
const START_ATTEMPTS = 3; // free ports are found before use, so another process may take one

async function startPrivateCluster(): Promise<Cluster> {
  const apiserverBinary = await ensureApiserverBinary();
  const runId = process.env[RUN_ID_ENV] ?? randomBytes(8).toString("hex");
  const root = dataRoot();
  reapStaleClusters(root);
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const dir = await mkdtemp(join(root, CLUSTER_DIR_PREFIX));
    recordOwner(dir);
    const servers: ServerProcess[] = [];
    const stop = async (): Promise<void> => {
      for (const server of [...servers].reverse()) await stopServer(server);
      // REFSYNC_KEEP_CLUSTER_DIR=1 keeps the logs (etcd.log, kube-apiserver.log) for a post-mortem.
      if (process.env.REFSYNC_KEEP_CLUSTER_DIR) console.error(`[test-cluster] kept ${dir}`);
      else await rm(dir, { recursive: true, force: true });
    };
    try {
      const { connection, restartApiserver } = await launch(apiserverBinary, dir, runId, servers);
      return clusterFor(connection, {
        shared: false,
        pids: servers.map((s) => s.pid),
        stop,
        restartApiserver,
      });
    } catch (err) {
      lastError = err;
      await stop();
      if (!(err instanceof EarlyExitError)) break;
    }
  }
  throw lastError;
}

class EarlyExitError extends Error {}

async function launch(
  apiserverBinary: string,
  dir: string,
  runId: string,
  servers: ServerProcess[],
): Promise<{ connection: ClusterConnection; restartApiserver: () => Promise<void> }> {
  const [pki, [etcdClientPort, etcdPeerPort, apiPort]] = await Promise.all([createPki(dir), freePorts(3)]);
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  await mkdir(join(dir, "etcd"), { mode: 0o700 });
  const etcd = startServer(
    "etcd",
    "etcd",
    [
      "--name=refsync-test",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=refsync-test=${etcdPeerUrl}`,
      "--logger=zap",
      "--log-level=warn",
    ],
    join(dir, "etcd.log"),
    runId,
  );
  servers.push(etcd);

  const tokens = { admin: token(), alice: token(), bob: token() };
  await writeFile(
    join(dir, "tokens.csv"),
    [
      `${tokens.admin},admin,admin,"system:masters"`,
      `${tokens.alice},alice,alice,"refsync:test-users"`,
      `${tokens.bob},bob,bob,"refsync:test-users"`,
    ].join("\n") + "\n",
    { mode: 0o600 },
  );
  const issuer = "https://kubernetes.default.svc.cluster.local";
  const startApiserver = () =>
    startServer(
      "kube-apiserver",
      apiserverBinary,
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, "apiserver-certs")}`,
        `--tls-cert-file=${pki.servingCertPath}`,
        `--tls-private-key-file=${pki.servingKeyPath}`,
        `--token-auth-file=${join(dir, "tokens.csv")}`,
        `--client-ca-file=${pki.caCertPath}`,
        "--authorization-mode=RBAC",
        `--service-account-issuer=${issuer}`,
        `--api-audiences=${issuer}`,
        `--service-account-signing-key-file=${pki.serviceAccountKeyPath}`,
        `--service-account-key-file=${pki.serviceAccountPublicKeyPath}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        // No controller-manager mints ServiceAccount token Secrets, so the plugin would reject Pods.
        "--disable-admission-plugins=ServiceAccount",
        "--enable-priority-and-fairness=false",
        "--profiling=false",
      ],
      join(dir, "kube-apiserver.log"),
      runId,
    );
  let apiserver = startApiserver();
  servers.push(apiserver);

  const connection: ClusterConnection = {
    server: `https://127.0.0.1:${apiPort}`,
    caData: (await readFile(pki.caCertPath)).toString("base64"),
    tokens,
    clientCertificate: {
      user: CLIENT_CERT_USER,
      certData: (await readFile(pki.clientCertPath)).toString("base64"),
      keyData: (await readFile(pki.clientKeyPath)).toString("base64"),
    },
    kubeconfigPath: join(dir, "kubeconfig.yaml"),
  };
  await writeFile(connection.kubeconfigPath, kubeconfigYaml(connection), { mode: 0o600 });
  await waitReady(connection, [etcd, apiserver]);
  const restartApiserver = async (): Promise<void> => {
    await stopServer(apiserver);
    servers.splice(servers.indexOf(apiserver), 1, (apiserver = startApiserver()));
    await waitReady(connection, [etcd, apiserver]);
  };
  return { connection, restartApiserver };
}

function token(): string {
  return randomBytes(24).toString("hex");
}

function kubeconfigYaml(c: ClusterConnection): string {
  const users = Object.entries(c.tokens);
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "refsync-test", cluster: { server: c.server, "certificate-authority-data": c.caData } },
    ],
    users: users.map(([name, token]) => ({ name, user: { token } })),
    contexts: users.map(([name]) => ({ name, context: { cluster: "refsync-test", user: name } })),
    "current-context": "admin",
  });
}

/** Polls /readyz (authenticated as admin, verifying TLS against the CA) until it answers 200. */
async function waitReady(c: ClusterConnection, servers: ServerProcess[]): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  const ca = Buffer.from(c.caData, "base64");
  let last = "no answer yet";
  while (Date.now() < deadline) {
    const dead = servers.find((s) => s.hasExited());
    if (dead) throw new EarlyExitError(`${dead.name} exited during startup:\n${logTail(dead)}`);
    last = await probe(`${c.server}/readyz`, ca, c.tokens.admin);
    if (last === "200") return;
    await sleep(200);
  }
  const apiserver = servers[servers.length - 1];
  throw new Error(
    `kube-apiserver not ready after ${STARTUP_TIMEOUT_MS / 1000}s (last /readyz: ${last})` +
      (apiserver ? `:\n${logTail(apiserver)}` : ""),
  );
}

function probe(url: string, ca: Buffer, bearer: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${bearer}` }, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.statusCode)));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve(err.message));
    req.end();
  });
}

/** Distinct free loopback ports (all held open together so they differ). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** etcd fsyncs every write: keep its data in memory (/dev/shm) when there is room. */
function dataRoot(): string {
  try {
    accessSync("/dev/shm", constants.W_OK);
    const { bavail, bsize } = statfsSync("/dev/shm");
    if (bavail * bsize > 2 * 1024 ** 3) return "/dev/shm";
  } catch {
    // no usable tmpfs
  }
  return tmpdir();
}

/**
 * Path of the kube-apiserver binary: $REFSYNC_KUBE_APISERVER, else what ensure-apiserver.sh prints
 * (the cached build; or a build made now, several minutes once per machine, progress on stderr).
 */
export async function ensureApiserverBinary(): Promise<string> {
  const configured = process.env.REFSYNC_KUBE_APISERVER;
  if (configured) return configured;
  const script = join(import.meta.dirname, "ensure-apiserver.sh");
  const child = execFile("bash", [script], { maxBuffer: 1 << 20 });
  child.stderr?.pipe(process.stderr);
  const stdout: string[] = [];
  child.stdout?.on("data", (d: Buffer) => stdout.push(d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const path = stdout.join("").trim().split("\n").pop();
  if (code !== 0 || !path) throw new Error(`${script} failed (exit ${code})`);
  return path;
}
