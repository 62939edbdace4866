/**
 * The HTTP(S) transport under node-vault (its `request-promise` option), so
 * that a store controls what axios would hide: the CA and a client
 * certificate (mutual TLS, and cert-auth logins, which present it in the
 * handshake), extra request headers, and Vault Enterprise's read-after-write
 * consistency headers (X-Vault-Index, X-Vault-Inconsistent), tracked as
 * Vault's Go client does with ReadYourWrites. Never logs; errors carry
 * Node's code (ECONNREFUSED, ERR_TLS_…) for ./errors.ts.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { replicationStates } from "./consistency.ts";

export interface TransportOptions {
  /** PEM bundle of the CAs trusted for Vault's certificate; unset: the system's roots. */
  ca?: string;
  timeoutMs: number;
  /** Sent with every request; node-vault's own (token, namespace) win. */
  headers?: Record<string, string>;
  /** Record X-Vault-Index from answers and send the states back (Go client's ReadYourWrites). */
  readYourWrites?: boolean;
  /** X-Vault-Inconsistent: forward-active-node on every request. */
  forwardInconsistent?: boolean;
}

export interface ClientCertificate {
  cert: string;
  key: string;
}

/** What node-vault passes its request function, and what it expects back. */
interface RpOptions {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
}
interface RpResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

function parseBody(text: string): unknown {
  if (text === "") return "";
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Redirects followed, as Vault's Go client and axios (node-vault's own transport) follow them. */
const REDIRECTS = new Set([301, 302, 307, 308]);
const MAX_REDIRECTS = 5;

export class VaultTransport {
  readonly #options: TransportOptions;
  readonly #states = replicationStates();
  #certificate: ClientCertificate | undefined;
  #agent: Agent | undefined;

  constructor(options: TransportOptions, certificate?: ClientCertificate) {
    this.#options = options;
    this.#certificate = certificate;
  }

  /** The certificate presented in later TLS handshakes (a cert-auth login's replaces mutual TLS's). */
  setClientCertificate(certificate: ClientCertificate): void {
    if (this.#certificate?.cert === certificate.cert && this.#certificate.key === certificate.key) return;
    this.#certificate = certificate;
    this.#agent?.destroy();
    this.#agent = undefined;
  }

  #httpsAgent(): Agent {
    this.#agent ??= new Agent({
      keepAlive: true,
      ...(this.#options.ca !== undefined ? { ca: this.#options.ca } : {}),
      ...(this.#certificate ? { cert: this.#certificate.cert, key: this.#certificate.key } : {}),
    });
    return this.#agent;
  }

  /** node-vault's `request-promise` option: `defaults()` returns the request function. */
  get requestPromise(): { defaults: () => (options: RpOptions) => Promise<RpResponse> } {
    return { defaults: () => (options) => this.#send(options) };
  }

  #send(options: RpOptions): Promise<RpResponse> {
    const url = new URL(options.uri);
    const body =
      options.json !== undefined && typeof options.json === "object"
        ? JSON.stringify(options.json)
        : undefined;
    const headers: OutgoingHttpHeaders = { ...this.#options.headers, ...options.headers };
    if (body !== undefined) headers["Content-Type"] ??= "application/json";
    const { readYourWrites, forwardInconsistent } = this.#options;
    if (readYourWrites) {
      const states = this.#states.current();
      if (states.length > 0) headers["X-Vault-Index"] = states;
    }
    if (forwardInconsistent) headers["X-Vault-Inconsistent"] = "forward-active-node";
    return this.#exchange(url, options.method, headers, body, MAX_REDIRECTS);
  }

  /**
   * One request; a redirect (a standby pointing at the active node, as Vault's clients follow it) is
   * followed with the same method, headers and body, at most `redirects` times, never from https to http.
   */
  async #exchange(
    url: URL,
    method: string,
    headers: OutgoingHttpHeaders,
    body: string | undefined,
    redirects: number,
  ): Promise<RpResponse> {
    const answer = await this.#request(url, method, headers, body);
    const location = answer.location;
    if (location === undefined || redirects === 0) return answer.response;
    const next = new URL(location, url);
    if (url.protocol === "https:" && next.protocol !== "https:") return answer.response;
    return this.#exchange(next, method, headers, body, redirects - 1);
  }

  #request(
    url: URL,
    method: string,
    headers: OutgoingHttpHeaders,
    body: string | undefined,
  ): Promise<{ response: RpResponse; location?: string }> {
    const { readYourWrites } = this.#options;
    const https = url.protocol === "https:";
    return new Promise((resolve, reject) => {
      const request = (https ? httpsRequest : httpRequest)(
        url,
        { method, headers, ...(https ? { agent: this.#httpsAgent() } : {}) },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const index = response.headers["x-vault-index"];
            if (readYourWrites && typeof index === "string" && index !== "") this.#states.record(index);
            const status = response.statusCode ?? 0;
            const location = REDIRECTS.has(status) ? response.headers.location : undefined;
            resolve({
              response: {
                statusCode: status,
                body: parseBody(Buffer.concat(chunks).toString("utf8")),
                request: { path: url.pathname },
              },
              ...(location !== undefined ? { location } : {}),
            });
          });
        },
      );
      request.setTimeout(this.#options.timeoutMs, () => {
        request.destroy(Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" }));
      });
      request.on("error", reject);
      request.end(body);
    });
  }

  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }
}
