/**
 * A ProviderContext for provider tests without a cluster: credentials from
 * an in-memory map (`namespace/name#key`), and every onCall recorded.
 */
import { SecretNotFoundError } from "../../../src/errors.ts";
import type { CallResult, ProviderContext } from "../../../src/providers/types.ts";

export interface RecordedCall {
  call: string;
  result: CallResult;
}

export interface TestContext extends ProviderContext {
  credentials: Map<string, string>;
  calls: RecordedCall[];
  callCount(call: string, result?: CallResult): number;
}

export function testContext(
  storeName: string,
  namespace: string | undefined,
  credentials: Record<string, string> = {},
  extra: Partial<ProviderContext> = {},
): TestContext {
  const map = new Map(Object.entries(credentials));
  const calls: RecordedCall[] = [];
  return {
    storeName,
    ...(namespace !== undefined ? { namespace } : {}),
    credentials: map,
    calls,
    callCount: (call, result) =>
      calls.filter((c) => c.call === call && (result === undefined || c.result === result)).length,
    readCredential: (ref) => {
      const id = `${ref.namespace ?? namespace ?? ""}/${ref.name}#${ref.key}`;
      const value = map.get(id);
      return value === undefined
        ? Promise.reject(new SecretNotFoundError(`${storeName}: credentials Secret ${id} not found`))
        : Promise.resolve(value);
    },
    onCall: (call, result) => {
      calls.push({ call, result });
    },
    ...extra,
  };
}
