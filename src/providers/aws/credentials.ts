// Where a store's AWS credentials come from:
//   - auth.secretRef: static keys read from a Kubernetes Secret (StaticCredentials warning);
//   - auth.jwt.serviceAccountRef: a TokenRequest token (audience sts.amazonaws.com)
//     exchanged with AssumeRoleWithWebIdentity for the role on the service
//     account's eks.amazonaws.com/role-arn annotation, or the store's role;
//   - otherwise the SDK's default chain (environment, IRSA token file, profiles, IMDS).
// `role` (with `externalID`) is then assumed with AssumeRole on top, unless it
// already was the web-identity role. Temporary credentials are cached and
// refreshed a margin before they expire.
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  STSClient,
  type Credentials as StsCredentials,
} from "@aws-sdk/client-sts";
import { AccessDeniedError, InvalidSpecError } from "../errors.ts";
import type { ProviderContext } from "../types.ts";
import { errorCode, toProviderError } from "./errors.ts";
import { countAttempts } from "./instrument.ts";
import type { AwsProviderSpec } from "./spec.ts";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** What the SDK clients accept as `credentials`: undefined means the SDK's default chain. */
export type CredentialSource = (() => Promise<AwsCredentials>) | undefined;

export const STS_AUDIENCE = "sts.amazonaws.com";
export const ROLE_ANNOTATION = "eks.amazonaws.com/role-arn";
/** Refresh this long before expiry (the SDK's own window is 5 minutes). */
const REFRESH_MARGIN_MS = 5 * 60_000 + 10_000;
/** Old credentials still serve after a failed refresh until this close to expiry. */
const EXPIRY_SAFETY_MS = 30_000;
/** Static keys are re-read from their Secret this often, so a rotated key is picked up. */
const STATIC_REREAD_MS = 5 * 60_000;

export interface CredentialOptions {
  spec: AwsProviderSpec;
  context: ProviderContext;
  /** SDK retry attempts, shared with the Secrets Manager client. */
  maxAttempts: number;
}

export interface CredentialChain {
  credentials: CredentialSource;
  /** True when long-lived keys from a Secret are in use. */
  staticKeys: boolean;
  /** An STS client signing with the final credentials (for GetCallerIdentity). */
  sts(): STSClient;
  close(): void;
}

export function credentialChain(options: CredentialOptions): CredentialChain {
  const { spec, context } = options;
  let stsClient: STSClient | undefined;
  let validationClient: STSClient | undefined;
  const stsFor = (credentials: CredentialSource): STSClient =>
    new STSClient({
      region: spec.region,
      ...(spec.endpoints?.sts ? { endpoint: spec.endpoints.sts } : {}),
      ...(credentials ? { credentials } : {}),
      maxAttempts: options.maxAttempts,
    });
  const clients: STSClient[] = [];
  const newSts = (credentials: CredentialSource): STSClient => {
    const client = stsFor(credentials);
    countAttempts(client, context.onCall?.bind(context));
    clients.push(client);
    return client;
  };
  const sts = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw toProviderError(errorCode(error), `${context.storeName}: STS ${operation}`, error);
    }
  };
  const sessionName = `refsync-${context.namespace ?? "cluster"}`.replace(/[^\w+=,.@-]/g, "-").slice(0, 64);

  let base: CredentialSource;
  let baseRole: string | undefined;
  const auth = spec.auth;
  if (auth?.secretRef) {
    const refs = auth.secretRef;
    base = cached(async () => {
      const [accessKeyId, secretAccessKey, sessionToken] = await Promise.all([
        context.readCredential(refs.accessKeyIDSecretRef),
        context.readCredential(refs.secretAccessKeySecretRef),
        refs.sessionTokenSecretRef ? context.readCredential(refs.sessionTokenSecretRef) : undefined,
      ]);
      return {
        accessKeyId: accessKeyId.trim(),
        secretAccessKey: secretAccessKey.trim(),
        ...(sessionToken ? { sessionToken: sessionToken.trim() } : {}),
        expiration: new Date(Date.now() + STATIC_REREAD_MS + REFRESH_MARGIN_MS),
      };
    });
  } else if (auth?.jwt) {
    const account = auth.jwt.serviceAccountRef;
    const namespace = account.namespace ?? context.namespace;
    const where = `${context.storeName}: service account ${namespace ?? "?"}/${account.name}`;
    if (!context.requestServiceAccountToken) {
      throw new InvalidSpecError(
        `${where}: auth.jwt needs service-account tokens, which this caller cannot request`,
      );
    }
    const requestToken = context.requestServiceAccountToken.bind(context);
    const annotations = context.serviceAccountAnnotations?.bind(context);
    const webIdentitySts = newSts(anonymous);
    base = cached(async () => {
      const annotated = annotations
        ? (await annotations({ name: account.name, namespace }))[ROLE_ANNOTATION]
        : undefined;
      const roleArn = annotated ?? spec.role;
      if (!roleArn) {
        throw new AccessDeniedError(
          `${where}: no role: annotate the service account with ${ROLE_ANNOTATION} or set spec.provider.aws.role`,
        );
      }
      baseRole = roleArn;
      const token = await requestToken({
        name: account.name,
        namespace,
        audiences: account.audiences ?? [STS_AUDIENCE],
      });
      const response = await sts("AssumeRoleWithWebIdentity", () =>
        webIdentitySts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: roleArn,
            RoleSessionName: sessionName,
            WebIdentityToken: token,
          }),
        ),
      );
      return fromSts(response.Credentials, where);
    });
  } else {
    base = undefined;
  }

  let credentials = base;
  if (spec.role) {
    const roleArn = spec.role;
    const where = `${context.storeName}: role ${roleArn}`;
    const baseCredentials = base;
    credentials = cached(async () => {
      // The web-identity exchange may already have produced this role.
      if (baseCredentials && auth?.jwt) {
        const viaWebIdentity = await baseCredentials();
        if (baseRole === roleArn) return viaWebIdentity;
      }
      stsClient ??= newSts(baseCredentials);
      const client = stsClient;
      const response = await sts("AssumeRole", () =>
        client.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: sessionName,
            ...(spec.externalID ? { ExternalId: spec.externalID } : {}),
          }),
        ),
      );
      return fromSts(response.Credentials, where);
    });
  }

  return {
    credentials,
    staticKeys: Boolean(auth?.secretRef),
    sts: () => (validationClient ??= newSts(credentials)),
    close() {
      for (const client of clients) client.destroy();
    },
  };
}

/** AssumeRoleWithWebIdentity is unsigned; the SDK still wants a credentials value it never uses. */
const anonymous: CredentialSource = () => Promise.resolve({ accessKeyId: "", secretAccessKey: "" });

function fromSts(credentials: StsCredentials | undefined, where: string): AwsCredentials {
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) {
    throw new AccessDeniedError(`${where}: STS returned no credentials`);
  }
  return {
    accessKeyId: credentials.AccessKeyId,
    secretAccessKey: credentials.SecretAccessKey,
    ...(credentials.SessionToken ? { sessionToken: credentials.SessionToken } : {}),
    ...(credentials.Expiration ? { expiration: credentials.Expiration } : {}),
  };
}

/**
 * Single-flight cache of temporary credentials: one fetch at a time, reused
 * until REFRESH_MARGIN_MS (or half the lifetime, for short-lived ones) before
 * expiry. When a refresh fails while the old credentials are still valid,
 * they keep serving: an STS hiccup must not fail reads that need no new keys.
 */
export function cached(fetch: () => Promise<AwsCredentials>): () => Promise<AwsCredentials> {
  let current: { credentials: AwsCredentials; refreshAt: number; expiresAt: number } | undefined;
  let inFlight: Promise<AwsCredentials> | undefined;
  return () => {
    if (current && Date.now() < current.refreshAt) return Promise.resolve(current.credentials);
    inFlight ??= fetch()
      .then(
        (credentials) => {
          const fetchedAt = Date.now();
          const expiresAt = credentials.expiration?.getTime() ?? Infinity;
          const margin = Math.min(REFRESH_MARGIN_MS, (expiresAt - fetchedAt) / 2);
          current = { credentials, refreshAt: expiresAt - margin, expiresAt };
          return credentials;
        },
        (error: unknown) => {
          if (current && Date.now() < current.expiresAt - EXPIRY_SAFETY_MS) return current.credentials;
          throw error;
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}
