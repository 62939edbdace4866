/**
 * A stand-in for a Vault Agent or Vault Proxy with auto-auth: it forwards every request to Vault
 * with its own token added (replacing any the caller sent), and records the headers it received.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface TokenProxy {
  url: string;
  /** Headers of every request received, before the token was added. */
  seen: IncomingHttpHeaders[];
  stop(): Promise<void>;
}

export async function startTokenProxy(vaultUrl: string, token: string): Promise<TokenProxy> {
  const seen: IncomingHttpHeaders[] = [];
  const target = new URL(vaultUrl);
  const server = createServer((incoming, outgoing) => {
    seen.push(incoming.headers);
    const forwarded = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: target.host, "x-vault-token": token },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on("error", () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
