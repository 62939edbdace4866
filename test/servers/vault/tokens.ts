/**
 * Tokens and leases of one Vault namespace. TTLs are real wall-clock TTLs:
 * an expired token is simply gone, as in Vault; renewals never extend past
 * the max TTL.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { badRequest } from "./http-error.ts";

export interface TokenOptions {
  policies: string[];
  /** Seconds; 0 = no expiry (root-like). */
  ttl: number;
  /** Seconds; defaults to 10 × ttl. */
  maxTtl?: number;
  renewable?: boolean;
}

export interface Token {
  id: string;
  accessor: string;
  policies: string[];
  /** The TTL the token was created with; renew-self asks for it again by default. */
  creationTtl: number;
  issuedAt: number;
  expiresAt: number | undefined;
  maxExpiresAt: number | undefined;
  renewable: boolean;
  /** Who logged in (`auth/kubernetes` role + service account…), for the request log. */
  displayName: string;
  path: string;
  meta: Record<string, string>;
}

export interface LeaseRecord {
  id: string;
  /** The token that created it; revoking the token revokes the lease. */
  tokenAccessor: string;
  issuedAt: number;
  expiresAt: number;
  maxExpiresAt: number;
  defaultTtl: number;
  /** When it was last renewed (lookup's last_renewal_time), undefined before the first renewal. */
  lastRenewedAt?: number;
  revoked: boolean;
  data: Record<string, string>;
}

const now = (): number => Date.now();

/** The policies Vault reports for a token: a root token has only `root`, any other gets `default` too. */
function reportedPolicies(token: Token): string[] {
  return token.policies.includes("root") ? ["root"] : ["default", ...token.policies];
}
const randomToken = (): string => `hvs.${randomBytes(18).toString("base64url")}`;

function remainingSeconds(until: number | undefined): number {
  return until === undefined ? 0 : Math.max(0, Math.round((until - now()) / 1000));
}

export class TokenStore {
  private readonly tokens = new Map<string, Token>();
  readonly leases = new Map<string, LeaseRecord>();

  create(options: TokenOptions, displayName: string, path: string, meta: Record<string, string> = {}): Token {
    const issuedAt = now();
    const maxTtl = options.maxTtl ?? options.ttl * 10;
    const token: Token = {
      id: randomToken(),
      accessor: randomUUID(),
      policies: options.policies,
      creationTtl: options.ttl,
      issuedAt,
      expiresAt: options.ttl > 0 ? issuedAt + options.ttl * 1000 : undefined,
      maxExpiresAt: options.ttl > 0 ? issuedAt + maxTtl * 1000 : undefined,
      renewable: options.renewable ?? options.ttl > 0,
      displayName,
      path,
      meta,
    };
    this.tokens.set(token.id, token);
    return token;
  }

  /** The live token with this id; expired tokens are removed on sight. */
  lookup(id: string | undefined): Token | undefined {
    if (id === undefined) return undefined;
    const token = this.tokens.get(id);
    if (token?.expiresAt !== undefined && token.expiresAt <= now()) {
      this.revoke(token);
      return undefined;
    }
    return token;
  }

  /** Extends a token's TTL by `increment` (default: its creation TTL), capped at its max TTL. */
  renew(token: Token, increment?: number): void {
    if (!token.renewable) throw badRequest("lease is not renewable");
    const wanted = now() + (increment ?? token.creationTtl) * 1000;
    token.expiresAt = Math.min(wanted, token.maxExpiresAt ?? wanted);
  }

  revoke(token: Token): void {
    this.tokens.delete(token.id);
    for (const lease of this.leases.values())
      if (lease.tokenAccessor === token.accessor) lease.revoked = true;
  }

  revokeAll(): number {
    const all = [...this.tokens.values()];
    for (const token of all) this.revoke(token);
    return all.length;
  }

  all(): Token[] {
    return [...this.tokens.values()].filter((token) => this.lookup(token.id) !== undefined);
  }

  /** The `auth` block of a login or renew-self response. */
  authBlock(token: Token): Record<string, unknown> {
    return {
      client_token: token.id,
      accessor: token.accessor,
      policies: reportedPolicies(token),
      token_policies: reportedPolicies(token),
      metadata: token.meta,
      lease_duration: remainingSeconds(token.expiresAt),
      renewable: token.renewable,
      entity_id: "",
      token_type: "service",
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    };
  }

  /** The `data` block of lookup-self. */
  lookupBlock(token: Token): Record<string, unknown> {
    return {
      accessor: token.accessor,
      creation_time: Math.floor(token.issuedAt / 1000),
      creation_ttl: token.creationTtl,
      display_name: token.displayName,
      entity_id: "",
      expire_time: token.expiresAt === undefined ? null : new Date(token.expiresAt).toISOString(),
      explicit_max_ttl: 0,
      id: token.id,
      issue_time: new Date(token.issuedAt).toISOString(),
      meta: Object.keys(token.meta).length > 0 ? token.meta : null,
      num_uses: 0,
      orphan: true,
      path: token.path,
      policies: reportedPolicies(token),
      renewable: token.renewable,
      ttl: remainingSeconds(token.expiresAt),
      type: "service",
    };
  }

  createLease(
    prefix: string,
    token: Token,
    ttl: number,
    maxTtl: number,
    data: Record<string, string>,
  ): LeaseRecord {
    const issuedAt = now();
    const lease: LeaseRecord = {
      id: `${prefix}/${randomBytes(12).toString("base64url")}`,
      tokenAccessor: token.accessor,
      issuedAt,
      expiresAt: issuedAt + ttl * 1000,
      maxExpiresAt: issuedAt + maxTtl * 1000,
      defaultTtl: ttl,
      revoked: false,
      data,
    };
    this.leases.set(lease.id, lease);
    return lease;
  }

  liveLease(id: string): LeaseRecord | undefined {
    const lease = this.leases.get(id);
    return lease && !lease.revoked && lease.expiresAt > now() ? lease : undefined;
  }

  /** Renews a lease; returns the new duration and, when capped by max TTL, Vault's warning. */
  renewLease(id: string, increment?: number): { lease: LeaseRecord; warnings: string[] } {
    const lease = this.liveLease(id);
    if (!lease) throw badRequest("lease not found");
    const ttl = increment ?? lease.defaultTtl;
    const wanted = now() + ttl * 1000;
    const warnings: string[] = [];
    if (wanted > lease.maxExpiresAt) {
      const maxTtl = Math.round((lease.maxExpiresAt - lease.issuedAt) / 1000);
      warnings.push(
        `TTL of "${ttl}s" exceeded the effective max_ttl of "${remainingSeconds(lease.maxExpiresAt)}s"; TTL value is capped accordingly (max_ttl ${maxTtl}s)`,
      );
    }
    lease.expiresAt = Math.min(wanted, lease.maxExpiresAt);
    lease.lastRenewedAt = now();
    return { lease, warnings };
  }

  leaseDuration(lease: LeaseRecord): number {
    return remainingSeconds(lease.expiresAt);
  }
}
