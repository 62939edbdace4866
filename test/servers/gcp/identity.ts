// Identities of the test server: workload identity pools and providers (an
// issuer, allowed audiences, google.subject mapped from the token's sub),
// GKE identity namespaces, Google service accounts (who may impersonate them,
// their keys), the access tokens issued, and IAM bindings on secrets.
import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID, verify } from "node:crypto";
import { globMatch } from "../aws/iam.ts";

/** Verifies a Kubernetes token: its `system:serviceaccount:<ns>:<name>` username, or undefined. */
export type TokenReviewer = (token: string, audiences: string[]) => Promise<string | undefined>;

export interface PoolProvider {
  /** `//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>` */
  audience: string;
  pool: string;
  /** The `iss` the token must carry (the cluster's service-account issuer). */
  issuer: string;
  /** Audiences accepted in the token (default: `https:` + audience, as Google's default). */
  allowedAudiences: string[];
}

export interface GkeCluster {
  /** `identitynamespace:<project>.svc.id.goog:https://container.googleapis.com/v1/projects/…/clusters/<name>` */
  audience: string;
  identityNamespace: string;
}

/** `subscriber` is roles/pubsub.subscriber: a binding's `secrets` then name subscription ids. */
export type Role = "secretAccessor" | "viewer" | "secretVersionAdder" | "admin" | "subscriber";

export const PERMISSIONS: Record<string, Role[]> = {
  "secretmanager.versions.access": ["secretAccessor", "admin"],
  "secretmanager.versions.get": ["viewer", "admin"],
  "secretmanager.versions.list": ["viewer", "admin"],
  "secretmanager.secrets.get": ["viewer", "admin"],
  "secretmanager.secrets.list": ["viewer", "admin"],
  "secretmanager.versions.add": ["secretVersionAdder", "admin"],
  "secretmanager.secrets.create": ["admin"],
  "pubsub.subscriptions.consume": ["subscriber"],
};

export interface Binding {
  /** A principal: `serviceAccount:<email>`, `principal://…/subject/<sub>`, `serviceAccount:<ns>.svc.id.goog[ns/sa]`; `*` globs. */
  member: string;
  role: Role;
  /** Secret ids the binding covers (`*` globs). */
  secrets: string[];
}

interface Issued {
  principal: string;
  expiresAt: number;
}

export class Identities {
  readonly projectNumber: string;
  readonly #providers = new Map<string, PoolProvider>();
  readonly #clusters = new Map<string, GkeCluster>();
  /** email → members allowed to impersonate it (roles/iam.workloadIdentityUser). */
  readonly #serviceAccounts = new Map<string, string[]>();
  /** key id → { email, public key } */
  readonly #keys = new Map<string, { email: string; publicKey: string }>();
  readonly #tokens = new Map<string, Issued>();
  readonly bindings: Binding[] = [];

  constructor(projectNumber: string) {
    this.projectNumber = projectNumber;
  }

  addProvider(pool: string, id: string, issuer: string, allowedAudiences?: string[]): PoolProvider {
    const audience = `//iam.googleapis.com/projects/${this.projectNumber}/locations/global/workloadIdentityPools/${pool}/providers/${id}`;
    const provider = { audience, pool, issuer, allowedAudiences: allowedAudiences ?? [`https:${audience}`] };
    this.#providers.set(audience, provider);
    return provider;
  }

  addGkeCluster(project: string, location: string, name: string): GkeCluster {
    const identityNamespace = `${project}.svc.id.goog`;
    const audience = `identitynamespace:${identityNamespace}:https://container.googleapis.com/v1/projects/${project}/locations/${location}/clusters/${name}`;
    const cluster = { audience, identityNamespace };
    this.#clusters.set(audience, cluster);
    return cluster;
  }

  /** The member a pool's federated token stands for. */
  subjectMember(pool: string, subject: string): string {
    return `principal://iam.googleapis.com/projects/${this.projectNumber}/locations/global/workloadIdentityPools/${pool}/subject/${subject}`;
  }

  addServiceAccount(email: string, impersonators: string[] = []): void {
    this.#serviceAccounts.set(email, impersonators);
  }

  /** A JSON key file for the service account (RSA, as Google issues them). */
  createKey(email: string, projectId: string): string {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyId = randomBytes(20).toString("hex");
    this.#keys.set(keyId, { email, publicKey: publicKey.export({ type: "spki", format: "pem" }).toString() });
    return JSON.stringify({
      type: "service_account",
      project_id: projectId,
      private_key_id: keyId,
      private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      client_email: email,
      client_id: String(Date.now()),
      token_uri: "https://oauth2.googleapis.com/token",
    });
  }

  bind(binding: Binding): void {
    this.bindings.push(binding);
  }

  allows(principal: string, permission: string, secretId: string): boolean {
    const roles = PERMISSIONS[permission] ?? [];
    return this.bindings.some(
      (b) =>
        roles.includes(b.role) &&
        globMatch(b.member, principal) &&
        b.secrets.some((pattern) => globMatch(pattern, secretId)),
    );
  }

  issue(principal: string, lifetimeSeconds: number): { token: string; expiresAt: number } {
    const token = `ya29.test-${randomBytes(24).toString("base64url")}`;
    const expiresAt = Date.now() + lifetimeSeconds * 1000;
    this.#tokens.set(token, { principal, expiresAt });
    return { token, expiresAt };
  }

  /** Expires every access token issued so far (not key-signed JWTs). */
  expireTokens(): void {
    for (const issued of this.#tokens.values()) issued.expiresAt = Date.now() - 1000;
  }

  /** The principal of a bearer token: an issued access token, or a JWT self-signed with a known key. */
  authenticate(token: string): string | undefined {
    const issued = this.#tokens.get(token);
    if (issued) return Date.now() < issued.expiresAt ? issued.principal : undefined;
    return this.#selfSigned(token);
  }

  #selfSigned(token: string): string | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    try {
      const h = JSON.parse(Buffer.from(header, "base64url").toString()) as { alg?: string; kid?: string };
      const key = h.kid ? this.#keys.get(h.kid) : undefined;
      if (!key || h.alg !== "RS256") return undefined;
      const ok = verify(
        "RSA-SHA256",
        Buffer.from(`${header}.${payload}`),
        createPublicKey(key.publicKey),
        Buffer.from(signature, "base64url"),
      );
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as {
        iss?: string;
        sub?: string;
        exp?: number;
        scope?: string;
        aud?: string;
      };
      const now = Date.now() / 1000;
      const scoped =
        (claims.scope ?? "").split(" ").includes("https://www.googleapis.com/auth/cloud-platform") ||
        (claims.aud ?? "").startsWith("https://secretmanager.googleapis.com");
      if (!ok || claims.iss !== key.email || claims.sub !== key.email || !claims.exp || claims.exp < now)
        return undefined;
      return scoped ? `serviceAccount:${key.email}` : undefined;
    } catch {
      return undefined;
    }
  }

  provider(audience: string): PoolProvider | undefined {
    return this.#providers.get(audience);
  }

  cluster(audience: string): GkeCluster | undefined {
    return this.#clusters.get(audience);
  }

  mayImpersonate(principal: string, email: string): boolean | undefined {
    const members = this.#serviceAccounts.get(email);
    if (!members) return undefined;
    return members.some((m) => globMatch(m, principal));
  }
}

/** The `iss` claim of a JWT (already authenticated by TokenReview); undefined when unreadable. */
export function issuerOf(jwt: string): string | undefined {
  try {
    const payload = jwt.split(".")[1] ?? "";
    return (JSON.parse(Buffer.from(payload, "base64url").toString()) as { iss?: string }).iss;
  } catch {
    return undefined;
  }
}

export function requestId(): string {
  return randomUUID();
}
