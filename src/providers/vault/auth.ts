/**
 * How a store logs in to Vault. Each auth method becomes a `Login`: an
 * identity (who logs in, for the token cache key; never a credential) and a
 * function that obtains a token on a node-vault client.
 */
import { readFile } from "node:fs/promises";
import type NodeVault from "node-vault";
import { InvalidSpecError } from "../../errors.ts";
import type { ProviderContext } from "../types.ts";
import type { ServiceAccountSelector } from "../spec.ts";
import type { VaultAuthSpec } from "./spec.ts";

export interface LoginResult {
  /** Token TTL in seconds; 0 = does not expire (or unknown, for static tokens). */
  ttlSeconds: number;
  renewable: boolean;
}

export interface Login {
  /** e.g. `kubernetes:kubernetes/app:team-a/app-sa` — part of the token cache key. */
  readonly identity: string;
  /** The login method, for messages and metrics (`kubernetes`, `appRole`, `jwt`, `token`). */
  readonly method: "kubernetes" | "appRole" | "jwt" | "token";
  /** A static token: nothing to renew; a 403 only re-reads the Secret that holds it. */
  readonly isStatic: boolean;
  /** The auth mount's API path, for messages. */
  readonly path: string;
  /**
   * The identity is the acting namespace's, and there is none yet: a
   * ClusterSecretStore validated on its own, before any ExternalSecret uses it.
   */
  readonly awaitsNamespace: boolean;
  /** Logs in; pushes each credential it obtains onto `sent` first, so that error messages can redact it. */
  login(vault: NodeVault.client, sent: string[], signal?: AbortSignal): Promise<LoginResult>;
}

/** Where the controller's own projected service-account token is (overridable for tests and non-standard mounts). */
export const CONTROLLER_TOKEN_FILE_ENV = "REFSYNC_VAULT_SERVICE_ACCOUNT_TOKEN_FILE";
const DEFAULT_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";

interface AuthResponse {
  auth?: { client_token?: string; lease_duration?: number; renewable?: boolean };
}

function loginResult(response: AuthResponse): LoginResult {
  if (!response.auth?.client_token) throw new Error("Vault's login answer carries no auth.client_token");
  return { ttlSeconds: response.auth.lease_duration ?? 0, renewable: response.auth.renewable === true };
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
      ...(ref.audiences ? { audiences: ref.audiences } : {}),
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

const credentialRef = (ref: { name: string; key: string; namespace?: string | undefined }) => ({
  name: ref.name,
  key: ref.key,
  ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
});

export function loginFor(auth: VaultAuthSpec, context: ProviderContext): Login {
  if (auth.kubernetes) {
    const { mountPath, role, serviceAccountRef } = auth.kubernetes;
    return {
      identity: `kubernetes:${mountPath}/${role}:${serviceAccountRef ? describeServiceAccount(context, serviceAccountRef) : "controller"}`,
      method: "kubernetes",
      isStatic: false,
      path: `auth/${mountPath}/login`,
      awaitsNamespace: serviceAccountRef !== undefined && awaitsNamespace(context, serviceAccountRef),
      async login(vault, sent, signal) {
        const jwt = noted(
          sent,
          serviceAccountRef
            ? await serviceAccountToken(context, serviceAccountRef, signal)
            : (await readFile(process.env[CONTROLLER_TOKEN_FILE_ENV] ?? DEFAULT_TOKEN_FILE, "utf8")).trim(),
        );
        return loginResult(
          (await vault.kubernetesLogin({ mount_point: mountPath, role, jwt })) as AuthResponse,
        );
      },
    };
  }
  if (auth.appRole) {
    const { path, roleId, secretRef } = auth.appRole;
    return {
      identity: `approle:${path}/${roleId}:${describeSecret(context, secretRef)}`,
      method: "appRole",
      isStatic: false,
      path: `auth/${path}/login`,
      awaitsNamespace: awaitsNamespace(context, secretRef),
      async login(vault, sent, signal) {
        const secretId = noted(sent, await context.readCredential(credentialRef(secretRef), signal));
        return loginResult(
          (await vault.approleLogin({
            mount_point: path,
            role_id: roleId,
            secret_id: secretId,
          })) as AuthResponse,
        );
      },
    };
  }
  if (auth.jwt) {
    const { path, role, secretRef, kubernetesServiceAccountToken } = auth.jwt;
    const source = secretRef
      ? describeSecret(context, secretRef)
      : describeServiceAccount(context, kubernetesServiceAccountToken!.serviceAccountRef);
    return {
      identity: `jwt:${path}/${role}:${source}`,
      method: "jwt",
      isStatic: false,
      path: `auth/${path}/login`,
      awaitsNamespace: awaitsNamespace(
        context,
        secretRef ?? kubernetesServiceAccountToken!.serviceAccountRef,
      ),
      async login(vault, sent, signal) {
        const jwt = noted(
          sent,
          (secretRef
            ? await context.readCredential(credentialRef(secretRef), signal)
            : await serviceAccountToken(context, kubernetesServiceAccountToken!.serviceAccountRef, signal)
          ).trim(),
        );
        return loginResult((await vault.jwtLogin({ mount_point: path, role, jwt })) as AuthResponse);
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
    async login(vault, sent, signal) {
      vault.token = noted(sent, (await context.readCredential(credentialRef(tokenRef), signal)).trim());
      return { ttlSeconds: 0, renewable: false };
    },
  };
}
