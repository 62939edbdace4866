// Counts every HTTP attempt an AWS SDK client makes, retries included, so a
// throttled call that the SDK retried shows up in refsync's call metrics, and
// appends whom the attempt serves to its user agent (CloudTrail's userAgent).
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { STSClient } from "@aws-sdk/client-sts";
import { subjectSuffix } from "../attribution.ts";
import type { AuditKey, CallDetail, ProviderContext } from "../types.ts";
import { callResult, errorCode } from "./errors.ts";

export function countAttempts(
  client: SecretsManagerClient | STSClient,
  provider: Pick<ProviderContext, "onCall" | "subject">,
  /** Who the requests are made as (for audit records); read per request. */
  identity?: () => Record<string, string>,
): void {
  const onCall = provider.onCall?.bind(provider);
  const subject = provider.subject?.bind(provider);
  if (!onCall && !subject) return;
  // finalizeRequest/low sits inside the SDK's retry middleware: it runs once per attempt. The
  // user agent is not signed (SigV4 leaves it out), so it may change after signing.
  (client.middlewareStack as SecretsManagerClient["middlewareStack"]).add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? "unknown").replace(/Command$/, "");
      const started = performance.now();
      const keys = keysOf((args as { input?: unknown }).input);
      const headers = (args as { request?: { headers?: Record<string, string> } }).request?.headers;
      const suffix = subjectSuffix(subject?.() ?? [], 512);
      const agent = headers?.["user-agent"];
      if (headers && agent !== undefined && suffix && !agent.endsWith(suffix))
        headers["user-agent"] = agent + suffix;
      if (!onCall) return next(args);
      try {
        const result = await next(args);
        const requestId = headerOf((result as { response?: unknown }).response, "x-amzn-requestid");
        onCall(operation, "success", (performance.now() - started) / 1000, detail(requestId, keys, identity));
        return result;
      } catch (error) {
        const e = error as { $metadata?: { requestId?: string }; $response?: unknown };
        const requestId = e.$metadata?.requestId ?? headerOf(e.$response, "x-amzn-requestid");
        onCall(
          operation,
          callResult(errorCode(error)),
          (performance.now() - started) / 1000,
          detail(requestId, keys, identity),
        );
        throw error;
      }
    },
    { step: "finalizeRequest", priority: "low", name: "refsyncAttemptCounter" },
  );
}

function detail(
  requestId: string | undefined,
  keys: AuditKey[] | undefined,
  identity: (() => Record<string, string>) | undefined,
): CallDetail {
  return {
    ...(requestId && { requestId }),
    ...(keys && { keys }),
    ...(identity && { identity: identity() }),
  };
}

function headerOf(response: unknown, name: string): string | undefined {
  const headers = (response as { headers?: Record<string, string | undefined> } | undefined)?.headers;
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** The secret ids a request names (never its SecretString: only ids and versions are taken). */
function keysOf(input: unknown): AuditKey[] | undefined {
  if (typeof input !== "object" || input === null) return undefined;
  const i = input as { SecretId?: unknown; SecretIdList?: unknown; VersionId?: unknown; Name?: unknown };
  const version = typeof i.VersionId === "string" ? { version: i.VersionId } : {};
  if (typeof i.SecretId === "string") return [{ key: i.SecretId, ...version }];
  if (Array.isArray(i.SecretIdList))
    return i.SecretIdList.filter((k): k is string => typeof k === "string").map((key) => ({ key }));
  if (typeof i.Name === "string") return [{ key: i.Name }];
  return undefined;
}
