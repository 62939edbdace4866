// An AWS Secrets Manager + STS protocol test server on loopback HTTP, driven by
// the real AWS SDK. It verifies SigV4 signatures against the credentials it
// issued, applies a per-identity policy of secret names, and has fault
// switches and a request log for tests. One port serves both services:
// requests with `X-Amz-Target: secretsmanager.<Op>` are Secrets Manager
// (awsJson1_1), `X-Amz-Target: AmazonSQS.<Op>` is SQS (awsJson1_0), form
// posts with `Action=<Op>` are STS (query protocol). Secret changes reach the
// queues an EventBridge rule routes them to (`sqs`, `routeSecretEvents`).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { AddressInfo } from "node:net";
import { AwsError } from "./errors.ts";
import { Iam, type Credentials, type Principal, type RoleSpec, type UserSpec } from "./iam.ts";
import { SecretsModel, type Tag } from "./secrets.ts";
import { EventBridge, type EventPattern, type SecretApiCall } from "./eventbridge.ts";
import { Sqs, sqsError, type SqsQueues } from "./sqs.ts";
import { sqsQueryError, sqsQueryRequest, sqsQueryResponse } from "./sqs-query.ts";
import { operations as secretsManagerOperations } from "./secrets-manager.ts";
import { errorXml, operations as stsOperations, UNSIGNED_ACTIONS, type TokenReviewer } from "./sts.ts";
import { jsonErrorCodes, queryErrorCodes, verifySignature, type IncomingSigned } from "./sigv4.ts";

export { STS_AUDIENCE, type TokenReviewer } from "./sts.ts";
export type { Credentials } from "./iam.ts";

export interface AwsServerOptions {
  region?: string;
  account?: string;
  /** Verifies web-identity tokens for AssumeRoleWithWebIdentity (see kubeTokenReviewer). */
  reviewToken?: TokenReviewer;
  /** Lifetime of STS-issued credentials (default 3600 s). */
  sessionSeconds?: number;
}

export type Service = "secretsmanager" | "sts" | "sqs";

export interface LoggedRequest {
  service: Service;
  operation: string;
  status: number;
  /** The `__type`/`Code` of an error response. */
  error?: string;
  /** The caller's ARN, when the request was signed by a known key. */
  principal?: string;
  /** Secret names the operation read or wrote (one per entry of a batch). */
  secrets: string[];
  /** The x-amzn-RequestId the server answered with (what CloudTrail would log). */
  requestId?: string;
  /** The caller's User-Agent (with the SDK's x-amz-user-agent), for attribution. */
  userAgent?: string;
}

export type FaultKind = "throttle" | "unavailable";

/** Which requests a fault applies to; unset fields match any. */
export interface FaultMatch {
  operation?: string;
  /** ARN of the signed caller (`arn:aws:iam::<acct>:user/<name>`, or an assumed-role session ARN). */
  principal?: string;
}

interface Fault extends FaultMatch {
  kind: FaultKind;
  remaining: number;
}

export interface AwsTestServer {
  /** `http://127.0.0.1:<port>`: the endpoint override for both secretsmanager and sts. */
  readonly endpoint: string;
  readonly region: string;
  readonly account: string;
  /** Creates an IAM user; its policy names the secrets it may read/write. */
  addUser(spec: UserSpec): Credentials;
  /** Creates a role; returns its ARN. */
  addRole(spec: RoleSpec): string;
  /** Creates a secret (or adds a version to an existing one); returns the version id. */
  putSecret(
    name: string,
    value: string | Uint8Array,
    options?: { tags?: Record<string, string>; stages?: string[]; description?: string },
  ): string;
  /** Moves a staging label to a version (as UpdateSecretVersionStage would). */
  moveStage(name: string, stage: string, versionId: string): void;
  deleteSecret(name: string): void;
  /** Adds a version and makes it current, as an UpdateSecret call with a new value does. */
  updateSecret(name: string, value: string): string;
  /** A finished rotation: a new AWSCURRENT version, then the RotationSucceeded service event. */
  rotateSecret(name: string, value: string): string;
  secretArn(name: string): string;
  /** SQS queues, their fault switches and what was deleted from them. */
  readonly sqs: SqsQueues;
  /** An EventBridge rule: Secrets Manager's CloudTrail events go to this queue from now on; returns its removal. */
  routeSecretEvents(queueName: string, pattern?: EventPattern): () => void;
  /**
   * The next `count` matching requests fail with ThrottlingException (throttle) or a 500
   * (unavailable). Faults apply after authentication, so a fault can target one caller.
   */
  failNext(kind: FaultKind, count: number, match?: FaultMatch): void;
  /** Delay before every response. */
  setLatency(ms: number): void;
  /** Expires every STS-issued credential now. */
  expireSessions(): void;
  readonly requests: readonly LoggedRequest[];
  clearRequests(): void;
  /** Requests of one operation (optionally only successful ones). */
  count(operation: string, filter?: { status?: number }): number;
  close(): Promise<void>;
}

export async function startAwsServer(options: AwsServerOptions = {}): Promise<AwsTestServer> {
  const region = options.region ?? "us-east-1";
  const account = options.account ?? "123456789012";
  const iam = new Iam(account);
  const model = new SecretsModel(region, account);
  const requests: LoggedRequest[] = [];
  const sqs = new Sqs(iam, region);
  const eventBridge = new EventBridge(sqs, region, account);
  const faults: Fault[] = [];
  let latencyMs = 0;

  function takeFault(operation: string, principal: string | undefined): Fault | undefined {
    const fault = faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.operation === undefined || f.operation === operation) &&
        (f.principal === undefined || f.principal === principal),
    );
    if (fault) fault.remaining--;
    return fault;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://localhost");
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
    }
    const signed: IncomingSigned = {
      method: req.method ?? "POST",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body,
    };
    const target = headers["x-amz-target"];
    const entry: LoggedRequest = {
      // SQS in JSON (X-Amz-Target) or in the query protocol (a form post signed for "sqs").
      service:
        target?.startsWith("AmazonSQS.") ||
        (!target && /\/sqs\/aws4_request/.test(headers["authorization"] ?? ""))
          ? "sqs"
          : target
            ? "secretsmanager"
            : "sts",
      operation: "",
      status: 200,
      secrets: [],
    };
    entry.requestId = crypto.randomUUID();
    entry.userAgent = [headers["user-agent"], headers["x-amz-user-agent"]].filter(Boolean).join(" ");
    requests.push(entry);
    if (latencyMs > 0) await sleep(latencyMs);
    const closed = new AbortController();
    res.on("close", () => closed.abort());
    const reply =
      entry.service === "sqs"
        ? await sqsCall(target ?? "", signed, entry, closed.signal)
        : target
          ? await secretsManager(target, signed, entry)
          : await sts(signed, entry);
    if (reply === "drop") {
      req.socket.destroy();
      return;
    }
    entry.status = reply.status;
    res.writeHead(reply.status, {
      ...reply.headers,
      "content-type": reply.contentType,
      "x-amzn-requestid": entry.requestId,
    });
    res.end(reply.body);
  }

  interface Reply {
    status: number;
    contentType: string;
    body: string;
    headers?: Record<string, string>;
  }

  /** SQS over JSON 1.0 (`target` set) or the query protocol (a form post). */
  async function sqsCall(
    target: string,
    request: IncomingSigned,
    entry: LoggedRequest,
    signal: AbortSignal,
  ): Promise<Reply | "drop"> {
    const json = target !== "";
    const contentType = json ? "application/x-amz-json-1.0" : "text/xml";
    try {
      const { operation, input } = json
        ? {
            operation: target.replace(/^AmazonSQS\./, ""),
            input: JSON.parse(request.body.toString("utf8") || "{}") as Record<string, unknown>,
          }
        : sqsQueryRequest(new URLSearchParams(request.body.toString("utf8")));
      entry.operation = operation;
      const principal = await verifySignature(
        request,
        iam,
        { region, service: "sqs" },
        json ? jsonErrorCodes : queryErrorCodes,
      );
      entry.principal = principal.arn;
      injectFault(operation, principal.arn, "RequestThrottled", "InternalFailure");
      const reply = await sqs.handle({ operation, input, principal, signal });
      if ("drop" in reply) return "drop";
      const body = json
        ? JSON.stringify(reply.output)
        : sqsQueryResponse(operation, reply.output, entry.requestId ?? "");
      return { status: 200, contentType, body };
    } catch (error) {
      const e = asAwsError(error);
      entry.error = e.type;
      if (!json) return { status: e.status, contentType, body: sqsQueryError(e, entry.requestId ?? "") };
      const { body, headers } = sqsError(e);
      return { status: e.status, contentType, body: JSON.stringify(body), headers };
    }
  }

  /** The CloudTrail record of a change made through the API goes to EventBridge. */
  function publishApiCall(
    operation: string,
    input: Record<string, unknown>,
    output: Record<string, unknown>,
    principal: Principal,
    requestId?: string,
  ): void {
    if (operation !== "PutSecretValue" && operation !== "CreateSecret") return;
    eventBridge.apiCall(operation as SecretApiCall, {
      secretId: String(input["SecretId"] ?? input["Name"]),
      arn: String(output["ARN"]),
      name: String(output["Name"]),
      ...(typeof output["VersionId"] === "string" ? { versionId: output["VersionId"] } : {}),
      principal,
      ...(requestId ? { requestId } : {}),
    });
  }

  async function secretsManager(
    target: string,
    request: IncomingSigned,
    entry: LoggedRequest,
  ): Promise<Reply> {
    const json = (status: number, value: unknown): Reply => ({
      status,
      contentType: "application/x-amz-json-1.1",
      body: JSON.stringify(value),
    });
    try {
      const operation = target.replace(/^secretsmanager\./, "");
      entry.operation = operation;
      const handler = Object.hasOwn(secretsManagerOperations, operation)
        ? secretsManagerOperations[operation]
        : undefined;
      if (!target.startsWith("secretsmanager.") || !handler) {
        throw new AwsError("UnknownOperationException", `Unknown operation ${target}`);
      }
      const principal = await verifySignature(
        request,
        iam,
        { region, service: "secretsmanager" },
        jsonErrorCodes,
      );
      entry.principal = principal.arn;
      injectFault(operation, principal.arn, "ThrottlingException", "InternalServiceError");
      const input = JSON.parse(request.body.toString("utf8") || "{}") as Record<string, unknown>;
      const output = handler(input, { model, iam, principal, touched: (name) => entry.secrets.push(name) });
      publishApiCall(operation, input, output, principal, entry.requestId);
      return json(200, output);
    } catch (error) {
      const e = asAwsError(error);
      entry.error = e.type;
      return json(e.status, errorBody(e));
    }
  }

  async function sts(request: IncomingSigned, entry: LoggedRequest): Promise<Reply> {
    const xmlReply = (status: number, body: string): Reply => ({ status, contentType: "text/xml", body });
    try {
      const params = new URLSearchParams(request.body.toString("utf8"));
      const action = params.get("Action") ?? "";
      entry.operation = action;
      const handler = Object.hasOwn(stsOperations, action) ? stsOperations[action] : undefined;
      if (!handler)
        throw new AwsError("InvalidAction", `Could not find operation ${action} for version 2011-06-15`);
      let caller: Principal | undefined;
      if (!UNSIGNED_ACTIONS.has(action)) {
        caller = await verifySignature(request, iam, { region, service: "sts" }, queryErrorCodes);
        entry.principal = caller.arn;
      }
      injectFault(action, caller?.arn, "Throttling", "ServiceUnavailable");
      const body = await handler(params, {
        iam,
        caller,
        reviewToken: options.reviewToken,
        sessionSeconds: options.sessionSeconds ?? 3600,
      });
      return xmlReply(200, body);
    } catch (error) {
      const e = asAwsError(error);
      entry.error = e.type;
      return xmlReply(e.status, errorXml(e));
    }
  }

  function injectFault(
    operation: string,
    principal: string | undefined,
    throttleType: string,
    unavailableType: string,
  ): void {
    const fault = takeFault(operation, principal);
    if (fault?.kind === "throttle") throw new AwsError(throttleType, "Rate exceeded");
    if (fault?.kind === "unavailable")
      throw new AwsError(unavailableType, "An error occurred on the server side.", 500);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  sqs.endpoint = `http://127.0.0.1:${port}`;
  /** The admin API's change, as its API call would have been recorded. */
  const changed = (eventName: SecretApiCall, name: string, versionId?: string, stage?: string): void => {
    const { arn } = model.get(name);
    eventBridge.apiCall(eventName, {
      secretId: name,
      arn,
      name,
      ...(versionId ? { versionId } : {}),
      ...(stage && versionId ? { stage: { versionStage: stage, moveToVersionId: versionId } } : {}),
    });
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    account,
    addUser: (spec) => iam.addUser(spec),
    addRole: (spec) => iam.addRole(spec),
    putSecret(name, value, opts = {}) {
      const content = typeof value === "string" ? { string: value } : { binary: value };
      const tags: Tag[] | undefined =
        opts.tags && Object.entries(opts.tags).map(([Key, Value]) => ({ Key, Value }));
      const created = !model.find(name);
      if (created) model.create(name, {}, { tags, description: opts.description });
      else if (tags) model.setTags(name, tags);
      const id = model.put(name, content, { stages: opts.stages }).id;
      changed(created ? "CreateSecret" : "PutSecretValue", name, id);
      return id;
    },
    moveStage(name, stage, versionId) {
      const secret = model.get(name);
      model.moveStage(secret, stage, model.version(secret, versionId));
      changed("UpdateSecretVersionStage", name, versionId, stage);
    },
    deleteSecret(name) {
      changed("DeleteSecret", name);
      model.delete(name);
    },
    updateSecret(name, value) {
      const id = model.put(name, { string: value }).id;
      changed("UpdateSecret", name, id);
      return id;
    },
    rotateSecret(name, value) {
      const id = model.put(name, { string: value }).id;
      eventBridge.rotationSucceeded(model.get(name).arn);
      return id;
    },
    secretArn: (name) => model.get(name).arn,
    sqs,
    routeSecretEvents: (queueName, pattern) => eventBridge.routeTo(queueName, pattern),
    failNext(kind, count, match = {}) {
      faults.push({ kind, remaining: count, ...match });
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    expireSessions: () => iam.expireSessions(),
    requests,
    clearRequests() {
      requests.length = 0;
    },
    count: (operation, filter = {}) =>
      requests.filter(
        (r) => r.operation === operation && (filter.status === undefined || r.status === filter.status),
      ).length,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

/**
 * The exceptions of the Secrets Manager API model carry their text in a `Message` member; so does
 * AccessDeniedException from IAM. Errors of AWS's front end (signature, credentials, throttling,
 * unknown operation) come with a lower-case `message`. SDKs read either.
 */
const MESSAGE_MEMBER = new Set([
  "AccessDeniedException",
  "DecryptionFailure",
  "EncryptionFailure",
  "InternalServiceError",
  "InvalidNextTokenException",
  "InvalidParameterException",
  "InvalidRequestException",
  "LimitExceededException",
  "MalformedPolicyDocumentException",
  "PreconditionNotMetException",
  "PublicPolicyException",
  "ResourceExistsException",
  "ResourceNotFoundException",
]);

function errorBody(e: AwsError): Record<string, string> {
  return { __type: e.type, [MESSAGE_MEMBER.has(e.type) ? "Message" : "message"]: e.message };
}

function asAwsError(error: unknown): AwsError {
  if (error instanceof AwsError) return error;
  if (error instanceof SyntaxError) return new AwsError("SerializationException", "Malformed request body.");
  return new AwsError(
    "InternalFailure",
    "The request processing has failed because of an unknown error.",
    500,
  );
}
