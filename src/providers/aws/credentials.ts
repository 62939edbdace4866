// Where a store's AWS credentials come from:
//   - auth.secretRef: static keys read from a Kubernetes Secret (StaticCredentials warning);
//   - auth.jwt.serviceAccountRef: a TokenRequest token (audience sts.amazonaws.com)
//     exchanged with AssumeRoleWithWebIdentity for the role on the service
//     account's eks.amazonaws.com/role-arn annotation, or the store's role;
//   - otherwise the SDK's default chain (environment, IRSA token file, profiles, IMDS).
// `additionalRoles` are then assumed one after the other (role chaining, as
// ESO), and `role` last, with `externalID`, `sessionTags` and
// `transitiveTagKeys`, unless it already was the web-identity role and there
// is no chain. Temporary credentials are cached and refreshed a margin before
// they expire.
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  STSClient,
  type Credentials as StsCredentials,
} from "@aws-sdk/client-sts";
import { AccessDeniedError, InvalidSpecError } from "../../errors.ts";
import type { ProviderContext } from "../types.ts";
import { errorCode, toProviderError } from "./errors.ts";
import { countAttempts } from "./instrument.ts";
import { awsUserAgent } from "../attribution.ts";
import type { AwsProviderSpec, ServiceAccountRef, StaticKeyRefs } from "./spec.ts";

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
  /** Who the requests are made as, for audit records: the auth kind, and the role and session name. */
  identity(): Record<string, string>;
  close(): void;
}

export function credentialChain(options: CredentialOptions): CredentialChain {
  const { spec, context } = options;
  const clients = stsClients(options);
  const auth = spec.auth;
  const base: Base = auth?.secretRef
    ? { credentials: staticKeys(auth.secretRef, context) }
    : auth?.jwt
      ? webIdentity(auth.jwt.serviceAccountRef, options, clients)
      : { credentials: undefined }; // the SDK's default chain
  const chained = (spec.additionalRoles ?? []).reduce<Base>(
    (previous, roleArn) => ({ credentials: assumeRole(roleArn, previous, options, clients, false) }),
    base,
  );
  const credentials = spec.role ? assumeRole(spec.role, chained, options, clients, true) : base.credentials;
  let validation: STSClient | undefined;
  return {
    credentials,
    staticKeys: Boolean(auth?.secretRef),
    sts: () => (validation ??= clients.create(credentials)),
    identity: () => {
      const role = spec.role ?? base.role?.();
      return {
        auth: auth?.secretRef ? "staticKeys" : auth?.jwt ? "webIdentity" : "defaultChain",
        ...(role && { roleArn: role, sessionName: sessionName(context) }),
      };
    },
    close: clients.close,
  };
}

/** Base credentials, and for web identity the role they were issued for. */
interface Base {
  credentials: CredentialSource;
  role?(): string | undefined;
}

interface StsClients {
  create(credentials: CredentialSource): STSClient;
  /** Runs an STS call, turning its errors into typed errors that name the store. */
  call<T>(operation: string, send: () => Promise<T>): Promise<T>;
  close(): void;
}

function stsClients({ spec, context, maxAttempts }: CredentialOptions): StsClients {
  const created: STSClient[] = [];
  return {
    create(credentials) {
      const client = new STSClient({
        region: spec.region,
        ...(spec.endpoints?.sts ? { endpoint: spec.endpoints.sts } : {}),
        ...(credentials ? { credentials } : {}),
        maxAttempts,
        customUserAgent: awsUserAgent(context.namespace),
      });
      countAttempts(client, context);
      created.push(client);
      return client;
    },
    async call(operation, send) {
      try {
        return await send();
      } catch (error) {
        throw toProviderError(errorCode(error), `${context.storeName}: STS ${operation}`, error);
      }
    },
    close() {
      for (const client of created) client.destroy();
    },
  };
}

/** The role session name AWS logs in CloudTrail: which namespace refsync acted for. */
function sessionName(context: ProviderContext): string {
  return `refsync-${context.namespace ?? "cluster"}`.replace(/[^\w+=,.@-]/g, "-").slice(0, 64);
}

/** Long-lived keys from a Secret, re-read every few minutes so a rotated key is picked up. */
function staticKeys(refs: StaticKeyRefs, context: ProviderContext): CredentialSource {
  return cached(async () => {
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
}

/** A TokenRequest token for the service account, exchanged for its annotated role (or the store's). */
function webIdentity(account: ServiceAccountRef, options: CredentialOptions, clients: StsClients): Base {
  const { spec, context } = options;
  const namespace = account.namespace ?? context.namespace;
  const where = `${context.storeName}: service account ${namespace ?? "?"}/${account.name}`;
  if (!context.requestServiceAccountToken) {
    throw new InvalidSpecError(
      `${where}: auth.jwt needs service-account tokens, which this caller cannot request`,
    );
  }
  const requestToken = context.requestServiceAccountToken.bind(context);
  const annotations = context.serviceAccountAnnotations?.bind(context);
  const client = clients.create(anonymous);
  let role: string | undefined;
  const credentials = cached(async () => {
    const annotated = annotations
      ? (await annotations({ name: account.name, namespace }))[ROLE_ANNOTATION]
      : undefined;
    const roleArn = annotated ?? spec.role;
    if (!roleArn) {
      throw new AccessDeniedError(
        `${where}: no role: annotate the service account with ${ROLE_ANNOTATION} or set spec.provider.aws.role`,
      );
    }
    role = roleArn;
    const token = await requestToken({
      name: account.name,
      namespace,
      audiences: account.audiences ?? [STS_AUDIENCE],
    });
    const response = await clients.call("AssumeRoleWithWebIdentity", () =>
      client.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: roleArn,
          RoleSessionName: sessionName(context),
          WebIdentityToken: token,
        }),
      ),
    );
    return fromSts(response.Credentials, where);
  });
  return { credentials, role: () => role };
}

/**
 * AssumeRole signed by the base credentials, unless web identity already gave this role. The
 * store's `role` (`final`) carries ExternalId and the session tags; the roles of a chain before it
 * do not, as in ESO.
 */
function assumeRole(
  roleArn: string,
  base: Base,
  options: CredentialOptions,
  clients: StsClients,
  final: boolean,
): CredentialSource {
  const { spec, context } = options;
  let client: STSClient | undefined;
  return cached(async () => {
    if (base.credentials && base.role) {
      const viaWebIdentity = await base.credentials();
      if (base.role() === roleArn) return viaWebIdentity;
    }
    client ??= clients.create(base.credentials);
    const signer = client;
    // The role in the message: STS checks an ARN only when it authorizes, so a wrong one ends here.
    const response = await clients.call(`AssumeRole ${roleArn}`, () =>
      signer.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: sessionName(context),
          ...(final && spec.externalID ? { ExternalId: spec.externalID } : {}),
          ...(final && spec.sessionTags?.length
            ? { Tags: spec.sessionTags.map((tag) => ({ Key: tag.key, Value: tag.value })) }
            : {}),
          ...(final && spec.transitiveTagKeys?.length ? { TransitiveTagKeys: spec.transitiveTagKeys } : {}),
        }),
      ),
    );
    return fromSts(response.Credentials, `${context.storeName}: role ${roleArn}`);
  });
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
