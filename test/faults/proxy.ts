/**
 * A TCP proxy in front of the test API server, so a test can fail the
 * network between the controller and the API server without touching the
 * shared cluster (TLS passes through; the serving certificate is for
 * 127.0.0.1, so the client still verifies it):
 *
 *   down()     every connection is reset and new ones are refused — what a
 *              client sees while kube-apiserver restarts (etcd keeps the data,
 *              so resourceVersions continue afterwards);
 *   up()       accepts connections again;
 *   silence()  open connections stay open but deliver nothing more (a
 *              half-open connection after a NAT or load balancer forgot it);
 *              a new request on one of them resets it, new connections work.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import type { Cluster } from "../cluster/index.ts";

interface Pair {
  client: Socket;
  upstream: Socket;
  silenced: boolean;
}

export class ApiServerProxy {
  readonly #target: URL;
  readonly #pairs = new Set<Pair>();
  #server: Server | undefined;
  #port = 0;
  /** Connections accepted so far. */
  connections = 0;

  constructor(target: string) {
    this.#target = new URL(target);
  }

  get url(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  /** A kubeconfig for `cluster`'s admin that goes through this proxy. */
  kubeConfig(cluster: Pick<Cluster, "caData" | "tokens">): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "proxied", server: this.url, caData: cluster.caData, skipTLSVerify: false }],
      users: [{ name: "admin", token: cluster.tokens.admin }],
      contexts: [{ name: "admin", cluster: "proxied", user: "admin" }],
      currentContext: "admin",
    });
    return kc;
  }

  async up(): Promise<void> {
    if (this.#server) return;
    const server = createServer((client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", resolve);
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const pair of this.#pairs) this.#close(pair);
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  silence(): void {
    for (const pair of this.#pairs) pair.silenced = true;
  }

  #accept(client: Socket): void {
    this.connections++;
    const upstream = connect(Number(this.#target.port), this.#target.hostname);
    const pair: Pair = { client, upstream, silenced: false };
    this.#pairs.add(pair);
    client.on("data", (chunk: Buffer) => {
      if (pair.silenced) this.#close(pair);
      else upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!pair.silenced) client.write(chunk);
    });
    const end = () => this.#close(pair);
    for (const socket of [client, upstream]) {
      socket.on("error", end);
      socket.on("close", end);
    }
  }

  #close(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.resetAndDestroy();
    pair.upstream.destroy();
  }
}

export async function startProxy(cluster: Pick<Cluster, "server">): Promise<ApiServerProxy> {
  const proxy = new ApiServerProxy(cluster.server);
  await proxy.up();
  return proxy;
}
