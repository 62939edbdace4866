/**
 * `dataFrom[].sourceRef.generatorRef`: the generator object is read from the
 * API server at every sync (namespaced kinds in the ExternalSecret's
 * namespace, a ClusterGenerator cluster-wide, unwrapped into the kind it
 * names, as ESO does) and run. Its values never pass through the store's read
 * cache: each ExternalSecret, and each sync, gets new ones, as in ESO. A
 * generator that calls a backend (VaultDynamicSecret) reads its credentials in
 * the ExternalSecret's namespace, as ESO's do, and its retrySettings apply.
 */
import { generatorSpecOf } from "../../api/generator-spec.ts";
import { GENERATORS_API_VERSION } from "../../api/generators.ts";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import type { KubeClient } from "../../kube/client.ts";
import { generatorTypes } from "../../kube/resources.ts";
import { generate } from "../../providers/generators/index.ts";
import { retryPolicy, withRetries } from "../../store/retry.ts";
import type { StoreSessions } from "../secretstore/sessions.ts";

export interface GeneratorRef {
  apiVersion?: string | undefined;
  kind: string;
  name: string;
}

export interface GeneratorDeps {
  kube: Pick<KubeClient, "get">;
  /** Credentials, metrics and audit for generators that call a backend. */
  sessions: Pick<StoreSessions, "generatorContext">;
}

/** New values from the generator `ref` names; `field` is where the reference is (for errors). */
export async function runGenerator(
  deps: GeneratorDeps,
  namespace: string,
  ref: GeneratorRef,
  field: string,
  signal?: AbortSignal,
): Promise<Record<string, Uint8Array>> {
  const apiVersion = ref.apiVersion ?? GENERATORS_API_VERSION;
  if (apiVersion !== GENERATORS_API_VERSION)
    throw new InvalidSpecError(
      `${field}.apiVersion: generators are ${GENERATORS_API_VERSION}, not ${apiVersion}`,
    );
  const type = generatorTypes[ref.kind];
  if (!type) throw new InvalidSpecError(`${field}.kind: refsync has no ${ref.kind} generator`);
  const object = await deps.kube.get<{ spec?: unknown }>(
    type,
    type.namespaced ? namespace : undefined,
    ref.name,
    signal,
  );
  const id = `${ref.kind}/${type.namespaced ? `${namespace}/` : ""}${ref.name}`;
  if (!object)
    throw new SecretNotFoundError(
      `${field}: ${ref.kind} "${ref.name}" not found${type.namespaced ? ` in namespace "${namespace}"` : ""}`,
    );
  try {
    const generator = generatorSpecOf(ref.kind, object.spec);
    const retry =
      generator.kind === "VaultDynamicSecret" ? retryPolicy(generator.spec.retrySettings) : undefined;
    return await withRetries(
      retry,
      () =>
        generate(generator, (provider) => deps.sessions.generatorContext(id, namespace, provider), signal),
      signal,
    );
  } catch (err) {
    if (err instanceof InvalidSpecError)
      throw new InvalidSpecError(`${field}: ${ref.kind} "${ref.name}": ${err.message}`);
    throw err;
  }
}
