/**
 * One Vault token per (store, auth identity), shared by every client built
 * for that store: ESO's and VSO's users complain about a login per
 * reconcile, which floods Vault's token store. A session logs in once,
 * renews its token on first use after ~2/3 of its TTL (with jitter), logs in
 * again when the token cannot be renewed or has expired, and re-acquires it
 * once when Vault answers 403 (the token was revoked). Logins and renewals
 * run single-flight, and are reported through ProviderContext.onCall (the
 * controller counts reads, lists and lease calls itself).
 */
import createVaultClient from "node-vault";
import type NodeVault from "node-vault";
import type { ProviderContext } from "../types.ts";
import type { Login } from "./auth.ts";
import { AccessDeniedError } from "../../errors.ts";
import { callResultOf } from "../call-result.ts";
import { toTypedError, vaultStatus } from "./errors.ts";
import { attributeRequests } from "./attribution.ts";
import { VaultTransport, type ClientCertificate } from "./transport.ts";

/** Renew at this fraction of the TTL, minus up to 10 % jitter. */
const RENEW_FRACTION = 2 / 3;
const RENEW_JITTER = 0.1;
/** A token this close to expiry (1 s, or 10 % of a shorter TTL) is not used; a new one is obtained first. */
const EXPIRY_MARGIN_MS = 1000;
const EXPIRY_MARGIN_FRACTION = 0.1;
const REQUEST_TIMEOUT_MS = 15_000;

export interface SessionOptions {
  server: string;
  namespace?: string;
  /** Vault Enterprise namespace of the login, when it differs from `namespace` ("" is the root). */
  authNamespace?: string;
  ca?: string;
  /** Mutual TLS with Vault (spec `tls`). */
  clientCertificate?: ClientCertificate;
  headers?: Record<string, string>;
  readYourWrites?: boolean;
  forwardInconsistent?: boolean;
}

/**
 * Rejects as soon as `signal` aborts; the request itself runs to its own
 * timeout. `promise` always gets a handler, so a shared login that fails
 * after its first caller gave up is never an unhandled rejection.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

export class TokenSession {
  readonly vault: NodeVault.client;
  /** Where and how the session connects, for connections node-vault cannot make (the event websocket). */
  readonly options: SessionOptions;
  /** The client logins go through: `vault` itself, or one in the login's own namespace. */
  private readonly loginVault: NodeVault.client;
  private readonly transport: VaultTransport;
  private readonly storeName: string;
  private login: Login;
  private context: ProviderContext;
  private hasToken = false;
  private expiresAt: number | undefined;
  private renewAt: number | undefined;
  private renewable = false;
  private ttlSeconds = 0;
  /** Bumped on every new token, so that one 403 is answered with one new login. */
  private generation = 0;
  private inflight: Promise<void> | undefined;
  /** The current token's accessor (from its login or renewal response), for audit records. */
  private accessor: string | undefined;
  /** The request id of the latest login or renewal response. */
  private authRequestId: string | undefined;
  /** Credentials sent with the last login, redacted from every message. */
  private sent: string[] = [];
  users = 0;

  constructor(options: SessionOptions, login: Login, context: ProviderContext) {
    this.options = options;
    this.login = login;
    this.context = context;
    this.storeName = context.storeName;
    this.transport = new VaultTransport(
      {
        timeoutMs: REQUEST_TIMEOUT_MS,
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        ...(options.headers !== undefined ? { headers: options.headers } : {}),
        // As ESO sets Vault's Go client: either flag tracks X-Vault-Index; both forward inconsistent reads.
        readYourWrites: options.readYourWrites === true || options.forwardInconsistent === true,
        forwardInconsistent: options.readYourWrites === true && options.forwardInconsistent === true,
      },
      options.clientCertificate,
    );
    const client = (namespace: string | undefined): NodeVault.client =>
      createVaultClient({
        endpoint: options.server,
        ...(namespace !== undefined ? { namespace } : {}),
        // LIST as GET ?list=true: the same API, and it passes proxies that reject custom verbs.
        noCustomHTTPVerbs: true,
        // node-vault's debug output would print request bodies (written values, login credentials).
        debug: () => undefined,
        "request-promise": this.transport.requestPromise,
      });
    this.vault = client(options.namespace);
    this.loginVault =
      options.authNamespace === undefined || options.authNamespace === options.namespace
        ? this.vault
        : client(options.authNamespace);
    this.attribute(this.vault);
    if (this.loginVault !== this.vault) this.attribute(this.loginVault);
  }

  /** X-Refsync-Subject on every request; the token accessor and request id of auth responses. */
  private attribute(client: NodeVault.client): void {
    attributeRequests(
      client,
      () => this.context,
      (auth) => {
        this.accessor = auth.accessor;
        this.authRequestId = auth.requestId;
      },
    );
  }

  /** The latest client's context and login closure win: they carry the live credential readers. */
  adopt(login: Login, context: ProviderContext): void {
    this.login = login;
    this.context = context;
  }

  get method(): Login["method"] {
    return this.login.method;
  }

  /**
   * Worth keeping: in use, or holding a token that still has time left. An
   * unused session without expiry (a static token) is dropped: re-reading
   * its Secret is cheap, and deleted stores must not pile up.
   */
  get live(): boolean {
    return this.users > 0 || (this.hasToken && this.expiresAt !== undefined && this.expiresAt > Date.now());
  }

  /** Who the requests are made as: the login method and mount, and the token's accessor once known. */
  private get identity(): Record<string, string> {
    return {
      method: this.login.method,
      mount: this.login.path,
      ...(this.accessor !== undefined && { accessor: this.accessor }),
    };
  }

  /** A login, renewal or lookup: its outcome and identity (a login's and renewal's: their request id). */
  private report(call: string, started: number, error?: Error, requestId?: string): void {
    this.context.onCall?.(call, callResultOf(error), (performance.now() - started) / 1000, {
      ...(requestId !== undefined && { requestId }),
      identity: this.identity,
    });
  }

  private singleFlight(work: () => Promise<void>): Promise<void> {
    this.inflight ??= work().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private schedule(ttlSeconds: number, renewable: boolean): void {
    const now = Date.now();
    this.hasToken = true;
    this.ttlSeconds = ttlSeconds;
    this.renewable = renewable;
    this.expiresAt = ttlSeconds > 0 ? now + ttlSeconds * 1000 : undefined;
    this.renewAt =
      ttlSeconds > 0
        ? now + ttlSeconds * 1000 * RENEW_FRACTION * (1 - Math.random() * RENEW_JITTER)
        : undefined;
  }

  private async doLogin(signal: AbortSignal | undefined): Promise<void> {
    const started = performance.now();
    this.hasToken = false;
    this.vault.token = "";
    this.accessor = undefined;
    this.authRequestId = undefined;
    const sent: string[] = [];
    try {
      // ready() logs in only with a login method.
      const result = await this.login.login!(this.loginVault, sent, signal, this.transport);
      this.vault.token = result.token;
      this.sent = sent;
      this.generation += 1;
      this.schedule(result.ttlSeconds, result.renewable);
      this.report("login", started, undefined, this.authRequestId);
    } catch (error) {
      const where = `${this.storeName}: ${this.login.method} login at ${this.login.path}`;
      const typed = toTypedError(error, where, [...sent, ...this.sent]);
      // Vault answers bad login credentials with 400 (AppRole, JWT) or 403 (Kubernetes): both are a denial.
      const denied =
        vaultStatus(error) === 400
          ? new AccessDeniedError(typed.message.replace("rejected the request", "rejected the login"))
          : typed;
      this.report("login", started, denied);
      throw denied;
    }
  }

  private async doRenew(signal: AbortSignal | undefined): Promise<void> {
    const started = performance.now();
    this.authRequestId = undefined;
    try {
      const response = (await this.vault.tokenRenewSelf({ increment: this.ttlSeconds })) as {
        auth?: { lease_duration?: number; renewable?: boolean };
      };
      const granted = response.auth?.lease_duration ?? 0;
      // A grant shorter than asked means the max TTL is near: use it, then log in anew.
      this.schedule(granted, response.auth?.renewable === true && granted >= this.ttlSeconds * 0.9);
      this.report("renew-token", started, undefined, this.authRequestId);
    } catch (error) {
      this.report("renew-token", started, toTypedError(error, `${this.storeName}: renew token`));
      await this.doLogin(signal);
    }
  }

  /** Makes sure the session holds a usable token. */
  async ready(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    // No auth: the token is whatever node-vault took from VAULT_TOKEN, or none.
    if (this.login.login === undefined) return;
    const now = Date.now();
    const margin = Math.min(EXPIRY_MARGIN_MS, this.ttlSeconds * 1000 * EXPIRY_MARGIN_FRACTION);
    if (!this.hasToken || (this.expiresAt !== undefined && now >= this.expiresAt - margin)) {
      await abortable(
        this.singleFlight(() => this.doLogin(signal)),
        signal,
      );
    } else if (this.renewAt !== undefined && now >= this.renewAt) {
      await abortable(
        this.singleFlight(() => (this.renewable ? this.doRenew(signal) : this.doLogin(signal))),
        signal,
      );
    }
  }

  /**
   * Runs one Vault API call with the session's token (the caller counts it;
   * the session reports only what the caller cannot see: logins, renewals, lookups).
   * On 403 it asks Vault whether the token itself is still valid: a policy
   * denial stays a denial (no login churn), a revoked or expired token is
   * replaced once (a static token by re-reading its Secret) and the call retried.
   */
  async call<T>(
    call: string,
    path: string,
    request: (vault: NodeVault.client) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const where = `${this.storeName}: ${call} ${path}`;
    await this.ready(signal);
    const generation = this.generation;
    const tokenBefore = this.vault.token;
    try {
      return await this.attempt(where, request, signal);
    } catch (error) {
      if (error instanceof AccessDeniedError && this.login.login === undefined)
        throw this.noAuthDenied(error);
      if (!(error instanceof AccessDeniedError) || (await this.tokenValid(signal))) throw error;
      if (generation === this.generation) this.hasToken = false;
      await this.ready(signal);
      if (this.login.isStatic && this.vault.token === tokenBefore) throw error;
      return this.attempt(where, request, signal);
    }
  }

  /** A denial of a store without auth: which token went (never its value), and what to set. */
  private noAuthDenied(error: AccessDeniedError): AccessDeniedError {
    const sentToken = this.vault.token
      ? "the controller's VAULT_TOKEN environment variable"
      : "no token (the controller has no VAULT_TOKEN)";
    return new AccessDeniedError(
      `${error.message}; the store has no auth, so the request carried ${sentToken}: set spec.provider.vault.auth, or put a Vault Agent or proxy that adds the token in front of Vault`,
    );
  }

  /** A call that needs no token (sys/health), with the same error mapping. */
  unauthenticated<T>(
    where: string,
    request: (vault: NodeVault.client) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.attempt(`${this.storeName}: ${where}`, request, signal);
  }

  /** One request; its request id goes to the operation's audit record unless it is reported itself (`note` false). */
  private async attempt<T>(
    where: string,
    request: (vault: NodeVault.client) => Promise<T>,
    signal: AbortSignal | undefined,
    note = true,
  ): Promise<T> {
    try {
      const result = await abortable(request(this.vault), signal);
      if (note) {
        const requestId = requestIdOf(result);
        this.context.noteRequest?.({ ...(requestId && { requestId }), identity: this.identity });
      }
      return result;
    } catch (error) {
      throw toTypedError(error, where, this.sent);
    }
  }

  private async tokenValid(signal: AbortSignal | undefined): Promise<boolean> {
    const started = performance.now();
    try {
      const result: unknown = await this.attempt(
        `${this.storeName}: lookup-self`,
        (vault) => vault.tokenLookupSelf(),
        signal,
        false,
      );
      this.report("lookup-token", started, undefined, requestIdOf(result));
      return true;
    } catch (error) {
      this.report("lookup-token", started, error as Error);
      return false;
    }
  }
}

/** A Vault response's request_id (what an audit device logs as request.id). */
function requestIdOf(response: unknown): string | undefined {
  const id = (response as { request_id?: unknown } | null)?.request_id;
  return typeof id === "string" && id ? id : undefined;
}

const sessions = new Map<string, TokenSession>();

/** The shared session for (store, connection, identity); call `release` when done. */
export function acquireSession(
  options: SessionOptions,
  login: Login,
  context: ProviderContext,
): TokenSession {
  for (const [key, session] of sessions) if (!session.live) sessions.delete(key);
  const { clientCertificate, ...connection } = options;
  // The client certificate's public half tells two certificates apart; the private key stays out of keys.
  const key = JSON.stringify([context.storeName, connection, clientCertificate?.cert ?? "", login.identity]);
  let session = sessions.get(key);
  if (session) session.adopt(login, context);
  else {
    session = new TokenSession(options, login, context);
    sessions.set(key, session);
  }
  session.users += 1;
  return session;
}

export function releaseSession(session: TokenSession): void {
  session.users = Math.max(0, session.users - 1);
}
