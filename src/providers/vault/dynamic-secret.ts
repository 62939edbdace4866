/**
 * ESO's VaultDynamicSecret generator: one call to a Vault API path through
 * the Vault provider's client (its spec, login and token session, as a
 * store's), its answer's data, auth section or whole body as the keys.
 *
 * As ESO (generators/v1/vault): `method` unset or GET reads with
 * getParameters as the query string, LIST lists, DELETE deletes, and any
 * other method writes `parameters` with PUT (as Vault's Go client writes,
 * whatever the method's name). A read or list answered 404 is an empty answer, as the Go
 * client makes it; an empty answer fails unless allowEmptyResponse. Values
 * become bytes as ESO's GetByteValue makes them: strings as they are, numbers
 * and booleans as text, null as empty, objects and arrays as Go's JSON.
 *
 * A lease in the answer (pki with generate_lease, database/creds) is neither
 * renewed nor revoked, as in ESO, whose generator cleans nothing up: Vault
 * revokes it when its TTL runs out, and each run makes a new one.
 */
import type NodeVault from "node-vault";
import { GENERATOR_PROVIDER_SECTIONS, type VaultDynamicSecretSpec } from "../../api/generators.ts";
import { describeIssues } from "../../api/validate.ts";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import { callResultOf } from "../call-result.ts";
import { goMetadataJson } from "../extract.ts";
import type { ProviderContext } from "../types.ts";
import { VaultProviderClient } from "./client.ts";
import { vaultSpecSchema } from "./spec.ts";

/** Vault's answer, as its Go client's api.Secret reads it. */
interface VaultAnswer {
  request_id?: string;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  data?: Record<string, unknown> | null;
  warnings?: string[] | null;
  auth?: Record<string, unknown> | null;
  wrap_info?: Record<string, unknown> | null;
  mount_type?: string;
}

/** api.SecretAuth's fields with their Go zero values: ESO's Auth result has each of them. */
const AUTH_FIELDS: Record<string, unknown> = {
  client_token: "",
  accessor: "",
  policies: null,
  token_policies: null,
  identity_policies: null,
  metadata: null,
  orphan: false,
  entity_id: "",
  lease_duration: 0,
  renewable: false,
  mfa_requirement: null,
};

const withAuthFields = (auth: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(AUTH_FIELDS).map(([key, zero]) => [key, auth[key] ?? zero]));

/** The section `resultType` names, as ESO marshals it into a map (Raw: api.Secret's JSON fields). */
function resultOf(
  answer: VaultAnswer,
  resultType: VaultDynamicSecretSpec["resultType"],
): Record<string, unknown> {
  if (resultType === "Auth") return answer.auth ? withAuthFields(answer.auth) : {};
  if (resultType === "Raw")
    return {
      request_id: answer.request_id ?? "",
      lease_id: answer.lease_id ?? "",
      lease_duration: answer.lease_duration ?? 0,
      renewable: answer.renewable ?? false,
      data: answer.data ?? null,
      warnings: answer.warnings ?? null,
      // omitempty in api.Secret
      ...(answer.auth ? { auth: withAuthFields(answer.auth) } : {}),
      ...(answer.wrap_info ? { wrap_info: answer.wrap_info } : {}),
      ...(answer.mount_type ? { mount_type: answer.mount_type } : {}),
    };
  return answer.data ?? {};
}

/** ESO's GetByteValue: strings as they are, numbers and booleans as text, null empty, the rest Go's JSON. */
function byteValue(value: unknown): Uint8Array {
  if (value === null || value === undefined) return new Uint8Array();
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return new TextEncoder().encode(String(value));
  return new TextEncoder().encode(goMetadataJson(value, true));
}

/** The request ESO's generator makes for `method`, as node-vault calls. */
function request(spec: VaultDynamicSecretSpec, path: string) {
  const method = spec.method ?? "";
  if (method === "" || method === "GET") {
    const query = new URLSearchParams();
    for (const [key, values] of Object.entries(spec.getParameters ?? {}))
      for (const value of values) query.append(key, value);
    const target = query.size > 0 ? `${path}?${query.toString()}` : path;
    return { call: "read", emptyOnNotFound: true, send: (vault: NodeVault.client) => vault.read(target) };
  }
  if (method === "LIST")
    return { call: "list", emptyOnNotFound: true, send: (vault: NodeVault.client) => vault.list(path) };
  if (method === "DELETE")
    return { call: "delete", emptyOnNotFound: false, send: (vault: NodeVault.client) => vault.delete(path) };
  return {
    call: "write",
    emptyOnNotFound: false,
    // PUT, as Vault's Go client writes (node-vault's write would POST; Vault treats both alike).
    send: (vault: NodeVault.client) =>
      vault.request({ path: `/${path}`, method: "PUT", json: spec.parameters ?? {} }),
  };
}

/** New values from a VaultDynamicSecret's spec; `context` reads its credentials and counts the call. */
export async function vaultDynamicSecret(
  spec: VaultDynamicSecretSpec,
  context: ProviderContext,
  signal?: AbortSignal,
): Promise<Record<string, Uint8Array>> {
  for (const field of GENERATOR_PROVIDER_SECTIONS.VaultDynamicSecret?.without ?? [])
    if (spec.provider[field] !== undefined)
      throw new InvalidSpecError(
        `spec.provider.${field}: no effect in a VaultDynamicSecret, which calls spec.path: leave it out`,
      );
  const parsed = vaultSpecSchema().safeParse(spec.provider);
  if (!parsed.success)
    throw new InvalidSpecError(`invalid Vault provider: ${describeIssues(parsed.error, "spec.provider")}`);
  // The Go client joins "/v1/" and the path; Vault cleans the double slash of a leading one.
  const path = spec.path.replace(/^\/+/, "");
  const { call, emptyOnNotFound, send } = request(spec, path);
  const client = new VaultProviderClient(parsed.data, context);
  const started = performance.now();
  let answer: VaultAnswer | undefined;
  try {
    const session = await client.sessionFor(signal);
    answer = ((await session.call(call, path, send, signal)) ?? undefined) as VaultAnswer | undefined;
    context.onCall?.(call, "success", (performance.now() - started) / 1000);
  } catch (error) {
    const notFound = error instanceof SecretNotFoundError;
    context.onCall?.(call, callResultOf(error), (performance.now() - started) / 1000);
    if (!(notFound && emptyOnNotFound)) throw error;
  } finally {
    await client.close();
  }
  if (answer === undefined || typeof answer !== "object") {
    if (spec.allowEmptyResponse) return {};
    throw new SecretNotFoundError(
      `${context.storeName}: ${call} ${path}: Vault answered with no secret (allowEmptyResponse accepts that)`,
    );
  }
  return Object.fromEntries(
    Object.entries(resultOf(answer, spec.resultType)).map(([key, value]) => [key, byteValue(value)]),
  );
}
