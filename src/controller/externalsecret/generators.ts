/**
 * `dataFrom[].sourceRef.generatorRef`: the generator object is read from the
 * API server at every sync (namespaced kinds in the ExternalSecret's
 * namespace, a ClusterGenerator cluster-wide, unwrapped into the kind it
 * names, as ESO does) and run. Its values never pass through the store's read
 * cache: each ExternalSecret, and each sync, gets new ones, as in ESO. A
 * generator that calls a backend (VaultDynamicSecret) reads its credentials in
 * the ExternalSecret's namespace, as ESO's do, and its retrySettings apply.
 * Before anything else, the generators are read for their controller class
 * (`readGenerators`, secretstore/controller-class.ts).
 */
import { generatorSpecOf } from "../../api/generator-spec.ts";
import { GENERATORS_API_VERSION } from "../../api/generators.ts";
import type { ExternalSecret } from "../../api/v1alpha1.ts";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import type { KubeClient } from "../../kube/client.ts";
import { generatorTypes, type ResourceType } from "../../kube/resources.ts";
import { generate } from "../../providers/generators/index.ts";
import { retryPolicy, withRetries } from "../../store/retry.ts";
import type { GeneratorLookup, GeneratorObject, GeneratorRefLike } from "../secretstore/controller-class.ts";
import type { StoreSessions } from "../secretstore/sessions.ts";

export type GeneratorRef = GeneratorRefLike;

export interface GeneratorDeps {
  kube: Pick<KubeClient, "get">;
  /** Credentials, metrics and audit for generators that call a backend. */
  sessions: Pick<StoreSessions, "generatorContext">;
}

/**
 * New values from the generator `ref` names; `field` is where the reference is (for errors).
 * `read` holds the generators this reconcile already read (readGenerators): those are not read again.
 */
export async function runGenerator(
  deps: GeneratorDeps,
  namespace: string,
  ref: GeneratorRef,
  field: string,
  signal?: AbortSignal,
  read?: GeneratorLookup,
): Promise<Record<string, Uint8Array>> {
  const type = generatorType(ref, field);
  const object = read?.(ref) ?? (await getGenerator(deps.kube, type, namespace, ref, signal));
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

/** The resource a reference names; InvalidSpecError for another group or an unknown kind. */
function generatorType(ref: GeneratorRef, field: string): ResourceType {
  const apiVersion = ref.apiVersion ?? GENERATORS_API_VERSION;
  if (apiVersion !== GENERATORS_API_VERSION)
    throw new InvalidSpecError(
      `${field}.apiVersion: generators are ${GENERATORS_API_VERSION}, not ${apiVersion}`,
    );
  const type = generatorTypes[ref.kind];
  if (!type) throw new InvalidSpecError(`${field}.kind: refsync has no ${ref.kind} generator`);
  return type;
}

function getGenerator(
  kube: GeneratorDeps["kube"],
  type: ResourceType,
  namespace: string,
  ref: GeneratorRef,
  signal?: AbortSignal,
): Promise<GeneratorObject | undefined> {
  return kube.get<GeneratorObject>(type, type.namespaced ? namespace : undefined, ref.name, signal);
}

/**
 * The generators the ExternalSecret's entries name, read for their controller class
 * (GeneratorLookup). One that cannot be read (not found, another group, unknown kind,
 * refused, unreachable API server) is left out: as ESO's shouldSkipUnmanagedStore, it does not
 * make the ExternalSecret another class's; the sync reports it, if it still fails then.
 */
export async function readGenerators(
  kube: GeneratorDeps["kube"],
  es: ExternalSecret,
  signal?: AbortSignal,
): Promise<GeneratorLookup | undefined> {
  const namespace = es.metadata.namespace ?? "";
  const refs = (es.spec.dataFrom ?? []).flatMap((d) => d.sourceRef?.generatorRef ?? []);
  if (refs.length === 0) return undefined;
  const key = (ref: GeneratorRef) => `${ref.apiVersion ?? GENERATORS_API_VERSION} ${ref.kind}/${ref.name}`;
  const read = new Map<string, GeneratorObject | undefined>();
  await Promise.all(
    refs.map(async (ref) => {
      try {
        read.set(
          key(ref),
          await getGenerator(kube, generatorType(ref, "generatorRef"), namespace, ref, signal),
        );
      } catch {
        signal?.throwIfAborted();
      }
    }),
  );
  return (ref) => read.get(key(ref));
}
