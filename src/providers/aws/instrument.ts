// Counts every HTTP attempt an AWS SDK client makes, retries included, so a
// throttled call that the SDK retried shows up in refsync's call metrics.
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { STSClient } from "@aws-sdk/client-sts";
import type { ProviderContext } from "../types.ts";
import { callResult, errorCode } from "./errors.ts";

export function countAttempts(
  client: SecretsManagerClient | STSClient,
  onCall: ProviderContext["onCall"],
): void {
  if (!onCall) return;
  // finalizeRequest/low sits inside the SDK's retry middleware: it runs once per attempt.
  (client.middlewareStack as SecretsManagerClient["middlewareStack"]).add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? "unknown").replace(/Command$/, "");
      const started = performance.now();
      try {
        const result = await next(args);
        onCall(operation, "success", (performance.now() - started) / 1000);
        return result;
      } catch (error) {
        onCall(operation, callResult(errorCode(error)), (performance.now() - started) / 1000);
        throw error;
      }
    },
    { step: "finalizeRequest", priority: "low", name: "refsyncAttemptCounter" },
  );
}
