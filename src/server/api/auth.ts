/**
 * Who may read the dashboard and the JSON API. Off by default for anonymous
 * access beyond this machine: bound to loopback, anonymous requests are
 * allowed (port-forward is the usual way in); exposed on another address, a
 * request needs `Authorization: Bearer <token>` matching the configured
 * read-only token, or a token the Kubernetes TokenReview API authenticates.
 * Denials say why, never echo the token.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { RequestHandler } from "express";
import type { KubeClient } from "../../kube/client.ts";
import { resourceTypes } from "../../kube/resources.ts";

export interface TokenReviewResult {
  authenticated: boolean;
  user?: string;
}

export type TokenReviewer = (token: string) => Promise<TokenReviewResult>;

export interface DashboardAccess {
  /** Address the server listens on. */
  bindAddress: string;
  /** A static read-only bearer token. */
  token?: string;
  /** Authenticate callers' bearer tokens with the API server. */
  tokenReview?: TokenReviewer;
}

export function isLoopback(address: string): boolean {
  if (address === "localhost") return true;
  if (isIP(address) === 4) return address.startsWith("127.");
  return address === "::1";
}

/** Throws when the dashboard would be exposed without any way to authenticate. */
export function checkAccessConfig(access: DashboardAccess): void {
  if (!isLoopback(access.bindAddress) && !access.token && !access.tokenReview) {
    throw new Error(
      `dashboard: listening on ${access.bindAddress} needs --dashboard-token-file or --dashboard-token-review; ` +
        "bind to 127.0.0.1 for anonymous access through port-forward",
    );
  }
}

function sameToken(a: string, b: string): boolean {
  // Compare digests so neither length nor content leaks through timing.
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Caches TokenReview answers for a minute so page reloads cost no API calls. */
export function cachedReviewer(review: TokenReviewer, ttlMs = 60_000): TokenReviewer {
  const cache = new Map<string, { result: TokenReviewResult; until: number }>();
  return async (token) => {
    const key = createHash("sha256").update(token).digest("hex");
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.result;
    const result = await review(token);
    if (cache.size > 1000) cache.clear();
    cache.set(key, { result, until: Date.now() + ttlMs });
    return result;
  };
}

/** What TokenReview needs of the Kubernetes client. */
export type TokenReviewClient = Pick<KubeClient, "request" | "path">;

/** TokenReview through the API server with the controller's own client and credentials. */
export function kubeTokenReviewer(kube: TokenReviewClient): TokenReviewer {
  return cachedReviewer(async (token) => {
    const review = await kube.request<{ status?: { authenticated?: boolean; user?: { username?: string } } }>(
      "POST",
      kube.path(resourceTypes.tokenReview),
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } } },
    );
    return { authenticated: review.status?.authenticated === true, user: review.status?.user?.username };
  });
}

function deny(res: Parameters<RequestHandler>[1], reason: string): void {
  res
    .status(401)
    .set("WWW-Authenticate", 'Bearer realm="refsync"')
    .type("text/plain")
    .send(`401 Unauthorized: ${reason}\n`);
}

export function requireReader(access: DashboardAccess): RequestHandler {
  checkAccessConfig(access);
  const anonymousAllowed = isLoopback(access.bindAddress) && !access.token && !access.tokenReview;
  return (req, res, next) => {
    if (anonymousAllowed) return next();
    const header = req.get("authorization");
    if (!header) return deny(res, "anonymous access is denied; send Authorization: Bearer <token>");
    const token = /^Bearer (\S+)$/i.exec(header)?.[1];
    if (!token) return deny(res, "the Authorization header is not a bearer token");
    if (access.token && sameToken(token, access.token)) return next();
    if (!access.tokenReview) return deny(res, "the bearer token is not the dashboard's read-only token");
    access.tokenReview(token).then(
      (result) =>
        result.authenticated ? next() : deny(res, "the API server did not authenticate the bearer token"),
      () => res.status(503).type("text/plain").send("503 Service Unavailable: TokenReview failed\n"),
    );
  };
}
