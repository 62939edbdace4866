/**
 * How a store logs in to Vault. Each auth method becomes a `Login`: an
 * identity (who logs in, for the token cache key; never a credential) and a
 * function that obtains a token on a node-vault client.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import type NodeVault from "node-vault";
import { InvalidSpecError } from "../../errors.ts";
import type { ProviderContext } from "../types.ts";
import type { ServiceAccountSelector } from "../spec.ts";
import type { VaultAuthSpec } from "./spec.ts";
import type { ClientCertificate, VaultTransport } from "./transport.ts";

export interface LoginResult {
  /** The Vault token obtained (or read, for a static token). */
  token: string;
  /** Token TTL in seconds; 0 = does not expire (or unknown, for static tokens). */
  ttlSeconds: number;
  renewable: boolean;
}

export interface Login {
  /** e.g. `kubernetes:kubernetes/app:team-a/app-sa` — part of the token cache key. */
  readonly identity: string;
  /** The login method, for messages and metrics (`kubernetes`, `appRole`, `jwt`, `token`, …). */
  readonly method: "kubernetes" | "appRole" | "jwt" | "token" | "userPass" | "ldap" | "cert" | "iam" | "none";
  /** A static token: nothing to renew; a 403 only re-reads the Secret that holds it. */
  readonly isStatic: boolean;
  /** The auth mount's API path, for messages. */
  readonly path: string;
  /**
   * The identity is the acting namespace's, and there is none yet: a
   * ClusterSecretStore validated on its own, before any ExternalSecret uses it.
   */
  readonly awaitsNamespace: boolean;
  /**
   * Logs in through `vault` (a client in the login's namespace); pushes each credential it obtains
   * onto `sent` first, so that error messages can redact it. `transport` takes a cert login's
   * client certificate for the TLS handshake. Absent for a store without auth: no login at all.
   */
  login?(
    vault: NodeVault.client,
    sent: string[],
    signal: AbortSignal | undefined,
    transport: VaultTransport,
  ): Promise<LoginResult>;
}

/** Where the controller's own projected service-account token is (overridable for tests and non-standard mounts). */
export const CONTROLLER_TOKEN_FILE_ENV = "REFSYNC_VAULT_SERVICE_ACCOUNT_TOKEN_FILE";
const DEFAULT_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";

interface AuthResponse {
  auth?: { client_token?: string; lease_duration?: number; renewable?: boolean };
}

function loginResult(response: AuthResponse): LoginResult {
  if (!response.auth?.client_token) throw new Error("Vault's login answer carries no auth.client_token");
  return {
    token: response.auth.client_token,
    ttlSeconds: response.auth.lease_duration ?? 0,
    renewable: response.auth.renewable === true,
  };
}

/** Records a credential for redaction, and returns it. */
function noted(sent: string[], credential: string): string {
  sent.push(credential);
  return credential;
}

function serviceAccountToken(
  context: ProviderContext,
  ref: ServiceAccountSelector,
  signal: AbortSignal | undefined,
  token: { audiences?: string[] | undefined; expirationSeconds?: number | undefined } = {},
): Promise<string> {
  if (!context.requestServiceAccountToken) {
    throw new InvalidSpecError(
      "serviceAccountRef: service-account tokens (TokenRequest) are not available here",
    );
  }
  return context.requestServiceAccountToken(
    {
      name: ref.name,
      ...((ref.namespace ?? context.namespace) !== undefined
        ? { namespace: ref.namespace ?? context.namespace }
        : {}),
      ...(ref.audiences || token.audiences
        ? { audiences: [...(ref.audiences ?? []), ...(token.audiences ?? [])] }
        : {}),
      ...(token.expirationSeconds !== undefined ? { expirationSeconds: token.expirationSeconds } : {}),
    },
    signal,
  );
}

const awaitsNamespace = (context: ProviderContext, ref: { namespace?: string | undefined }): boolean =>
  ref.namespace === undefined && context.namespace === undefined;

const describeServiceAccount = (context: ProviderContext, ref: ServiceAccountSelector): string =>
  `${ref.namespace ?? context.namespace ?? ""}/${ref.name}@${(ref.audiences ?? []).join(",")}`;

const describeSecret = (
  context: ProviderContext,
  ref: { name: string; key: string; namespace?: string | undefined },
): string => `${ref.namespace ?? context.namespace ?? ""}/${ref.name}#${ref.key}`;

type SecretRef = { name: string; key: string; namespace?: string | undefined };

/** Where a login's credential comes from, for its identity: a Secret key, a ServiceAccount's token, or the controller's own. */
const describeSource = (
  context: ProviderContext,
  secret: SecretRef | undefined,
  account: ServiceAccountSelector | undefined,
): string =>
  secret
    ? describeSecret(context, secret)
    : account
      ? describeServiceAccount(context, account)
      : "controller";

/** A Secret reference as ProviderContext.readCredential takes it (no undefined namespace). */
export const credentialRef = (ref: SecretRef) => ({
  name: ref.name,
  key: ref.key,
  ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
});

/** A login by username and password (userpass, LDAP): `auth/<path>/login/<username>`. */
function passwordLogin(
  method: "userPass" | "ldap",
  spec: { path: string; username: string; secretRef: SecretRef },
  context: ProviderContext,
): Login {
  const { path, secretRef } = spec;
  // ESO trims the username it sends.
  const username = spec.username.trim();
  return {
    identity: `${method}:${path}/${username}:${describeSecret(context, secretRef)}`,
    method,
    isStatic: false,
    path: `auth/${path}/login`,
    awaitsNamespace: awaitsNamespace(context, secretRef),
    async login(vault, sent, signal) {
      const password = noted(sent, await context.readCredential(credentialRef(secretRef), signal));
      const args = { mount_point: path, username, password };
      return loginResult(
        (await (method === "ldap" ? vault.ldapLogin(args) : vault.userpassLogin(args))) as AuthResponse,
      );
    },
  };
}

/**
 * A store without auth, as ESO's nil auth: no login and no renewal. node-vault sends the
 * VAULT_TOKEN of the controller's environment (it reads it itself) or no token at all, for
 * a Vault Agent or proxy that adds the token.
 */
const NO_LOGIN: Login = {
  identity: "none",
  method: "none",
  isStatic: false,
  path: "",
  awaitsNamespace: false,
};

export function loginFor(auth: VaultAuthSpec | undefined, context: ProviderContext): Login {
  if (auth === undefined) return NO_LOGIN;
  if (auth.kubernetes) {
    const { mountPath, role, serviceAccountRef, secretRef } = auth.kubernetes;
    // The spec allows at most one of serviceAccountRef and secretRef.
    const source = describeSource(context, secretRef, serviceAccountRef);
    return {
      identity: `kubernetes:${mountPath}/${role}:${source}`,
      method: "kubernetes",
      isStatic: false,
      path: `auth/${mountPath}/login`,
      awaitsNamespace:
        (serviceAccountRef ?? secretRef) !== undefined &&
        awaitsNamespace(context, (serviceAccountRef ?? secretRef)!),
      async login(vault, sent, signal) {
        const jwt = noted(
          sent,
          serviceAccountRef
            ? await serviceAccountToken(context, serviceAccountRef, signal)
            : secretRef
              ? (await context.readCredential(credentialRef(secretRef), signal)).trim()
              : (await readFile(process.env[CONTROLLER_TOKEN_FILE_ENV] ?? DEFAULT_TOKEN_FILE, "utf8")).trim(),
        );
        return loginResult(
          (await vault.kubernetesLogin({ mount_point: mountPath, role, jwt })) as AuthResponse,
        );
      },
    };
  }
  if (auth.appRole) {
    const { path, secretRef } = auth.appRole;
    // As ESO: a non-empty roleId is sent trimmed and roleRef is then not read; a roleRef value is sent as is.
    const roleId = auth.appRole.roleId ? auth.appRole.roleId.trim() : undefined;
    const roleRef = roleId === undefined ? auth.appRole.roleRef : undefined;
    return {
      identity: `approle:${path}/${roleRef ? describeSecret(context, roleRef) : roleId}:${describeSecret(context, secretRef)}`,
      method: "appRole",
      isStatic: false,
      path: `auth/${path}/login`,
      awaitsNamespace:
        awaitsNamespace(context, secretRef) || (roleRef !== undefined && awaitsNamespace(context, roleRef)),
      async login(vault, sent, signal) {
        const roleIdSent = roleRef
          ? noted(sent, await context.readCredential(credentialRef(roleRef), signal))
          : roleId!;
        const secretId = noted(sent, await context.readCredential(credentialRef(secretRef), signal));
        return loginResult(
          (await vault.approleLogin({
            mount_point: path,
            role_id: roleIdSent,
            secret_id: secretId,
          })) as AuthResponse,
        );
      },
    };
  }
  if (auth.jwt) {
    const { path, role, secretRef, kubernetesServiceAccountToken: saToken } = auth.jwt;
    const source = secretRef
      ? describeSecret(context, secretRef)
      : `${describeServiceAccount(context, saToken!.serviceAccountRef)}+${(saToken!.audiences ?? []).join(",")}`;
    return {
      identity: `jwt:${path}/${role}:${source}`,
      method: "jwt",
      isStatic: false,
      path: `auth/${path}/login`,
      awaitsNamespace: awaitsNamespace(context, secretRef ?? saToken!.serviceAccountRef),
      async login(vault, sent, signal) {
        const jwt = noted(
          sent,
          (secretRef
            ? await context.readCredential(credentialRef(secretRef), signal)
            : await serviceAccountToken(context, saToken!.serviceAccountRef, signal, saToken)
          ).trim(),
        );
        return loginResult((await vault.jwtLogin({ mount_point: path, role, jwt })) as AuthResponse);
      },
    };
  }
  if (auth.userPass) return passwordLogin("userPass", auth.userPass, context);
  if (auth.ldap) return passwordLogin("ldap", auth.ldap, context);
  if (auth.cert) {
    const { path, vaultRole, clientCert, secretRef } = auth.cert;
    return {
      identity: `cert:${path}/${vaultRole ?? ""}:${describeSecret(context, clientCert)}`,
      method: "cert",
      isStatic: false,
      path: `auth/${path}/login`,
      awaitsNamespace: awaitsNamespace(context, clientCert) || awaitsNamespace(context, secretRef),
      async login(vault, sent, signal, transport) {
        const [cert, key] = await Promise.all([
          context.readCredential(credentialRef(clientCert), signal),
          context.readCredential(credentialRef(secretRef), signal),
        ]);
        noted(sent, key);
        transport.setClientCertificate(clientCertificate(cert, key, context.storeName));
        // The certificate is the credential: the body only picks a role.
        return loginResult(
          (await vault.write(
            `auth/${path}/login`,
            vaultRole !== undefined ? { name: vaultRole } : {},
          )) as AuthResponse,
        );
      },
    };
  }
  if (auth.iam) {
    const iam = auth.iam;
    const keys = iam.secretRef?.accessKeyIDSecretRef;
    const account = iam.jwt?.serviceAccountRef;
    const source = describeSource(context, keys, account);
    return {
      identity: `iam:${iam.path}/${iam.vaultRole}:${source}:${iam.role ?? ""}`,
      method: "iam",
      isStatic: false,
      path: `auth/${iam.path}/login`,
      awaitsNamespace: (keys ?? account) !== undefined && awaitsNamespace(context, (keys ?? account)!),
      async login(vault, sent) {
        // The AWS SDK loads only for stores that log in this way.
        const { iamLoginData } = await import("./iam.ts");
        const { body, secrets } = await iamLoginData(iam, context);
        sent.push(...secrets);
        return loginResult((await vault.write(`auth/${iam.path}/login`, body)) as AuthResponse);
      },
    };
  }
  const tokenRef = auth.tokenSecretRef!;
  return {
    identity: `token:${describeSecret(context, tokenRef)}`,
    method: "token",
    isStatic: true,
    path: "auth/token",
    awaitsNamespace: awaitsNamespace(context, tokenRef),
    async login(_vault, sent, signal) {
      const token = noted(sent, (await context.readCredential(credentialRef(tokenRef), signal)).trim());
      return { token, ttlSeconds: 0, renewable: false };
    },
  };
}

/**
 * A PEM certificate and key that belong together; the error names the store and says what is
 * wrong, never quoting either (Node's own message can carry bytes of the key).
 */
export function clientCertificate(cert: string, key: string, where: string): ClientCertificate {
  try {
    const certificate = new X509Certificate(cert);
    if (!certificate.checkPrivateKey(createPrivateKey(key))) throw new Error("mismatch");
  } catch {
    throw new InvalidSpecError(
      `${where}: the client certificate and private key are not a matching PEM certificate and key`,
    );
  }
  return { cert, key };
}
