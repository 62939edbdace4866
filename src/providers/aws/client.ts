// The AWS Secrets Manager provider client: ProviderClient over the real
// @aws-sdk/client-secrets-manager. Reads of current versions are coalesced
// into BatchGetSecretValue calls; pinned versions use GetSecretValue.
import { failedValidation } from "../call-result.ts";
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type APIErrorType,
  type Filter,
  type SecretValueEntry,
} from "@aws-sdk/client-secrets-manager";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { isDeepStrictEqual } from "node:util";
import { AccessDeniedError, InvalidSpecError, RefsyncError, SecretNotFoundError } from "../../errors.ts";
import type {
  FindQuery,
  ProviderClient,
  ProviderContext,
  ReadRequest,
  SecretValue,
  ValidationResult,
  WriteResult,
} from "../types.ts";
import { goMetadataJson } from "../extract.ts";
import { attribute } from "./batch-match.ts";
import { ReadCoalescer, type BatchOutcome } from "./coalescer.ts";
import { credentialChain, type CredentialChain } from "./credentials.ts";
import { errorCode, toProviderError } from "./errors.ts";
import { countAttempts } from "./instrument.ts";
import { awsUserAgent } from "../attribution.ts";
import type { AwsProviderSpec } from "./spec.ts";

export const CURRENT_STAGE = "AWSCURRENT";
/**
 * SDK attempts per call (its standard retry mode backs off, longer for
 * throttling). refsync adds no retry loop of its own here: after these
 * attempts the error goes to the controller's per-key back-off, so retries
 * never multiply.
 */
export const MAX_ATTEMPTS = 3;
/** BatchGetSecretValue accepts at most 20 SecretIds. */
export const BATCH_LIMIT = 20;
/** How long a read waits for others to share its BatchGetSecretValue call. */
const COALESCE_WINDOW_MS = 10;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Characters ListSecrets accepts in a filter value. */
const FILTERABLE = /^[a-zA-Z0-9 :_@/+=.-]+$/;

interface Target {
  secretId: string;
  versionId?: string;
  versionStage?: string;
}

export class AwsSecretsClient implements ProviderClient {
  readonly provider = "awssecrets" as const;
  /** Reads are coalesced and batched: tokens are taken per request (#send, validate), and every SDK attempt is counted (countAttempts). */
  readonly metersOwnRequests = true;
  readonly #spec: AwsProviderSpec;
  readonly #context: ProviderContext;
  readonly #chain: CredentialChain;
  readonly #sm: SecretsManagerClient;
  readonly #coalescer: ReadCoalescer<SecretValue>;
  /** Set once AWS denied BatchGetSecretValue itself (the policy grants only GetSecretValue). */
  #batchDenied = false;

  constructor(spec: AwsProviderSpec, context: ProviderContext) {
    this.#spec = spec;
    this.#context = context;
    this.#chain = credentialChain({ spec, context, maxAttempts: MAX_ATTEMPTS });
    this.#sm = new SecretsManagerClient({
      region: spec.region,
      maxAttempts: MAX_ATTEMPTS,
      customUserAgent: awsUserAgent(context.namespace),
      ...(spec.endpoints?.secretsManager ? { endpoint: spec.endpoints.secretsManager } : {}),
      ...(this.#chain.credentials ? { credentials: this.#chain.credentials } : {}),
    });
    countAttempts(this.#sm, context, () => this.#chain.identity());
    this.#coalescer = new ReadCoalescer<SecretValue>({
      maxBatch: BATCH_LIMIT,
      windowMs: COALESCE_WINDOW_MS,
      fetchOne: (secretId) => this.#getSecretValue({ secretId }),
      fetchBatch: (ids) => this.#batchGet(ids),
    });
  }

  async read(request: ReadRequest, signal?: AbortSignal): Promise<SecretValue> {
    const target = this.#target(request);
    if (request.metadata) return this.#tags(target.secretId, signal);
    const current =
      target.versionId === undefined && (target.versionStage ?? CURRENT_STAGE) === CURRENT_STAGE;
    return current ? this.#coalescer.read(target.secretId, signal) : this.#getSecretValue(target, signal);
  }

  /** Current versions go out in BatchGetSecretValue calls of up to 20; pinned versions one by one. */
  readMany(requests: ReadRequest[], signal?: AbortSignal): Promise<(SecretValue | Error)[]> {
    return Promise.all(
      requests.map((request) =>
        this.read(request, signal).catch((error: unknown) =>
          error instanceof Error ? error : new Error(String(error)),
        ),
      ),
    );
  }

  async list(query: FindQuery, signal?: AbortSignal): Promise<string[]> {
    const prefix = (this.#spec.prefix ?? "") + (query.path ?? "");
    const filters: Filter[] = [];
    if (prefix && FILTERABLE.test(prefix)) filters.push({ Key: "name", Values: [prefix] });
    for (const [key, value] of Object.entries(query.tags ?? {})) {
      // Narrow on the server; the exact key=value pairing is checked below.
      if (FILTERABLE.test(key)) filters.push({ Key: "tag-key", Values: [key] });
      if (FILTERABLE.test(value)) filters.push({ Key: "tag-value", Values: [value] });
    }
    const nameRegexp = query.name ? this.#regexp(query.name.regexp) : undefined;
    const keys: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#send(
        "ListSecrets",
        prefix || "*",
        (client, options) =>
          client.send(
            new ListSecretsCommand({
              MaxResults: 100,
              ...(filters.length ? { Filters: filters } : {}),
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
            options,
          ),
        signal,
      );
      for (const secret of page.SecretList ?? []) {
        const name = secret.Name ?? "";
        if (!name.startsWith(prefix)) continue;
        const tags = new Map((secret.Tags ?? []).map((t) => [t.Key, t.Value]));
        if (!Object.entries(query.tags ?? {}).every(([k, v]) => tags.get(k) === v)) continue;
        const key = name.slice((this.#spec.prefix ?? "").length);
        if (nameRegexp && !nameRegexp.test(key)) continue;
        keys.push(key);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return keys.sort();
  }

  /** The VersionId the request's stage points at now (DescribeSecret: no secret value is read). */
  async currentVersion(request: ReadRequest, signal?: AbortSignal): Promise<string | undefined> {
    const target = this.#target(request);
    const described = await this.#send(
      "DescribeSecret",
      request.key,
      (client, options) => client.send(new DescribeSecretCommand({ SecretId: target.secretId }), options),
      signal,
    );
    const stages = described.VersionIdsToStages ?? {};
    if (target.versionId !== undefined)
      return Object.hasOwn(stages, target.versionId) ? target.versionId : undefined;
    const stage = target.versionStage ?? CURRENT_STAGE;
    return Object.entries(stages).find(([, labels]) => labels.includes(stage))?.[0];
  }

  /** metadataPolicy Fetch: the secret's tags as a JSON object (DescribeSecret), as ESO reads them. */
  async #tags(secretId: string, signal?: AbortSignal): Promise<SecretValue> {
    const described = await this.#send(
      "DescribeSecret",
      secretId,
      (client, options) => client.send(new DescribeSecretCommand({ SecretId: secretId }), options),
      signal,
    );
    const tags = Object.fromEntries((described.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
    return { data: goMetadataJson(tags, true) };
  }

  /** Writes `data` as a JSON SecretString; the same value again is "unchanged" and creates no version. */
  async write(key: string, data: Record<string, string>, signal?: AbortSignal): Promise<WriteResult> {
    const { secretId } = this.#target({ key });
    const secretString = JSON.stringify(data);
    let existing: SecretValue | undefined;
    try {
      existing = await this.#getSecretValue({ secretId }, signal);
    } catch (error) {
      if (!(error instanceof SecretNotFoundError)) throw error;
    }
    if (existing === undefined) {
      const created = await this.#send(
        "CreateSecret",
        key,
        (client, options) =>
          client.send(new CreateSecretCommand({ Name: secretId, SecretString: secretString }), options),
        signal,
      );
      return { outcome: "created", version: created.VersionId };
    }
    if (sameJson(existing.data, data)) return { outcome: "unchanged", version: existing.version };
    const put = await this.#send(
      "PutSecretValue",
      key,
      (client, options) =>
        client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: secretString }), options),
      signal,
    );
    return { outcome: "updated", version: put.VersionId };
  }

  /** Resolves the credentials and asks STS who they belong to: proves them without reading any secret. */
  async validate(signal?: AbortSignal): Promise<ValidationResult> {
    const warnings = this.#chain.staticKeys
      ? [
          {
            type: "StaticCredentials",
            reason: "StaticCredentials",
            message:
              "The store uses long-lived AWS access keys from a Secret; prefer auth.jwt.serviceAccountRef or IRSA, which rotate by themselves.",
          },
        ]
      : undefined;
    // A ClusterSecretStore with jwt auth and no service-account namespace acts as each
    // ExternalSecret's namespace: there is no identity to check until one uses it.
    const jwt = this.#spec.auth?.jwt;
    if (jwt && !jwt.serviceAccountRef.namespace && !this.#context.namespace) return { status: "Ready" };
    try {
      await this.#context.takeToken?.(signal);
      await this.#chain.sts().send(new GetCallerIdentityCommand({}), { abortSignal: signal });
      return { status: "Ready", ...(warnings ? { warnings } : {}) };
    } catch (error) {
      const mapped =
        error instanceof RefsyncError
          ? error
          : toProviderError(errorCode(error), `${this.#context.storeName}: STS GetCallerIdentity`, error);
      return failedValidation(mapped, warnings);
    }
  }

  async close(): Promise<void> {
    this.#coalescer.close(new Error(`${this.#context.storeName}: client closed`));
    this.#sm.destroy();
    this.#chain.close();
  }

  /** SecretId (name with the store's prefix, or ARN) and version of a reference. */
  #target(request: ReadRequest): Target {
    const prefix = this.#spec.prefix ?? "";
    let secretId = prefix + request.key;
    if (request.key.startsWith("arn:")) {
      const name = request.key.split(":secret:")[1] ?? "";
      if (!name.startsWith(prefix)) {
        throw new AccessDeniedError(
          `${this.#context.storeName}: "${request.key}" is outside the store's prefix "${prefix}"`,
        );
      }
      secretId = request.key;
    }
    const version = request.version;
    if (version === undefined || version === "") return { secretId };
    if (version.startsWith("uuid/")) return { secretId, versionId: version.slice("uuid/".length) };
    if (UUID.test(version)) return { secretId, versionId: version };
    return { secretId, versionStage: version };
  }

  async #getSecretValue(target: Target, signal?: AbortSignal): Promise<SecretValue> {
    const output = await this.#send(
      "GetSecretValue",
      target.secretId,
      (client, options) =>
        client.send(
          new GetSecretValueCommand({
            SecretId: target.secretId,
            ...(target.versionId !== undefined ? { VersionId: target.versionId } : {}),
            ...(target.versionStage !== undefined ? { VersionStage: target.versionStage } : {}),
          }),
          options,
        ),
      signal,
    );
    return this.#secretValue(target.secretId, output);
  }

  /**
   * One BatchGetSecretValue round (pages followed). It needs
   * `secretsmanager:BatchGetSecretValue` besides GetSecretValue on each secret:
   * a caller without it is denied the whole call, and from then on this
   * client reads those secrets one by one instead.
   */
  async #batchGet(ids: string[]): Promise<BatchOutcome<SecretValue>> {
    if (!this.#batchDenied) {
      try {
        return await this.#batchGetValues(ids);
      } catch (error) {
        if (!(error instanceof AccessDeniedError)) throw error;
        this.#batchDenied = true;
      }
    }
    const values = await Promise.all(
      ids.map((secretId) => this.#getSecretValue({ secretId }).catch((error: unknown) => error as Error)),
    );
    const byId = new Map(ids.map((id, i) => [id, values[i] as SecretValue | Error]));
    return { get: (id) => byId.get(id) ?? new Error(`${id}: not requested`) };
  }

  /**
   * Entries are matched to the requested ids by name, complete or partial ARN
   * (attribute); an id AWS's answer cannot be attributed to is read alone, so
   * a coalesced read ends as a single GetSecretValue would.
   */
  async #batchGetValues(ids: string[]): Promise<BatchOutcome<SecretValue>> {
    const values: SecretValueEntry[] = [];
    const errors: APIErrorType[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#send("BatchGetSecretValue", `${ids.length} secrets`, (client, options) =>
        client.send(
          new BatchGetSecretValueCommand({
            SecretIdList: ids,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
          options,
        ),
      );
      values.push(...(page.SecretValues ?? []));
      errors.push(...(page.Errors ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    const byId = new Map<string, SecretValue | Error>();
    for (const [id, answer] of attribute(ids, values, errors)) {
      if ("value" in answer) {
        try {
          byId.set(id, this.#secretValue(id, answer.value));
        } catch (error) {
          byId.set(id, error as Error);
        }
      } else {
        byId.set(
          id,
          toProviderError(answer.error.ErrorCode ?? "UnknownError", this.#where("BatchGetSecretValue", id)),
        );
      }
    }
    const unanswered = ids.filter((id) => !byId.has(id));
    await Promise.all(
      unanswered.map((secretId) =>
        this.#getSecretValue({ secretId }).then(
          (value) => byId.set(secretId, value),
          (error: unknown) => byId.set(secretId, error instanceof Error ? error : new Error(String(error))),
        ),
      ),
    );
    return { get: (id) => byId.get(id) ?? new Error(`${id}: not requested`) };
  }

  #secretValue(secretId: string, entry: SecretValueEntry): SecretValue {
    const data = entry.SecretString ?? entry.SecretBinary;
    if (data === undefined) {
      throw new SecretNotFoundError(`${this.#where("GetSecretValue", secretId)}: the version holds no value`);
    }
    return { data, ...(entry.VersionId ? { version: entry.VersionId } : {}) };
  }

  #regexp(source: string): RegExp {
    try {
      return new RegExp(source);
    } catch (error) {
      throw new InvalidSpecError(
        `${this.#context.storeName}: find.name.regexp "${source}": ${(error as Error).message}`,
      );
    }
  }

  #where(operation: string, secretId: string): string {
    return `${this.#context.storeName}: ${operation} "${secretId}"`;
  }

  /** Sends one call; SDK errors become typed errors naming the store, operation and secret. */
  async #send<T>(
    operation: string,
    secretId: string,
    send: (client: SecretsManagerClient, options: { abortSignal?: AbortSignal }) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    await this.#context.takeToken?.(signal);
    try {
      return await send(this.#sm, signal ? { abortSignal: signal } : {});
    } catch (error) {
      if (error instanceof RefsyncError) throw error;
      throw toProviderError(errorCode(error), this.#where(operation, secretId), error);
    }
  }
}

/** Whether a stored SecretString already holds `data` (as JSON, whatever its formatting). */
function sameJson(stored: SecretValue["data"], data: Record<string, string>): boolean {
  if (typeof stored !== "string") return false;
  try {
    return isDeepStrictEqual(JSON.parse(stored), data);
  } catch {
    return false;
  }
}
