/**
 * A store's `spec.controller` (ESO's controller class, like an ingress class): a controller
 * started with `--controller-class X` handles the stores whose `spec.controller` is empty or X,
 * and the ExternalSecrets that read from them; everything else belongs to another controller and
 * is left alone, its status included. A generator's `spec.controller` (Fake, VaultDynamicSecret)
 * does the same for the ExternalSecrets that use it, as ESO's shouldSkipGenerator.
 */
import { GENERATOR_KINDS, isGeneratorKind } from "../../api/generators.ts";
import { storesNamed } from "../../api/store-refs.ts";
import type { ExternalSecret, SecretStore } from "../../api/v1alpha1.ts";
import type { StoreLookup } from "./resolve.ts";

/** ESO's default class: a store that names "default" is served by a controller started without the flag. */
export const DEFAULT_CONTROLLER_CLASS = "default";

/** A `spec.controller` names a class other than the controller's (unset or empty names none). */
function namesOtherClass(wanted: string | undefined, controllerClass: string): boolean {
  return wanted !== undefined && wanted !== "" && wanted !== controllerClass;
}

export function handlesStore(store: Pick<SecretStore, "spec">, controllerClass: string): boolean {
  return !namesOtherClass(store.spec.controller, controllerClass);
}

/** A generator an entry names (`dataFrom[].sourceRef.generatorRef`). */
export interface GeneratorRefLike {
  apiVersion?: string | undefined;
  kind: string;
  name: string;
}

/** A generator object as the API server returns it (a ClusterGenerator with its wrapper). */
export interface GeneratorObject {
  spec?: unknown;
}

/**
 * The class a generator names: its `spec.controller`; a ClusterGenerator's is that of the spec it
 * wraps, as ESO checks the namespaced generator it makes of it (its own spec has no such field).
 */
export function generatorClass(kind: string, generator: GeneratorObject): string | undefined {
  let spec = generator.spec as Record<string, unknown> | undefined;
  if (kind === "ClusterGenerator") {
    const wrapped = typeof spec?.["kind"] === "string" ? spec["kind"] : "";
    const inner = spec?.["generator"] as Record<string, unknown> | undefined;
    spec = isGeneratorKind(wrapped)
      ? (inner?.[GENERATOR_KINDS[wrapped].specKey] as Record<string, unknown> | undefined)
      : undefined;
  }
  const controller = spec?.["controller"];
  return typeof controller === "string" ? controller : undefined;
}

/**
 * The generator a reference names, as read for an ExternalSecret; undefined when it was not found
 * or could not be read (ESO skips those in this check: not a reason to leave the ExternalSecret alone).
 */
export type GeneratorLookup = (ref: GeneratorRefLike) => GeneratorObject | undefined;

/**
 * The ExternalSecret names a store of another class (spec.secretStoreRef or an entry's
 * sourceRef.storeRef: any one, as ESO's shouldSkipUnmanagedStore), or a generator of another class
 * (an entry's sourceRef.generatorRef, as ESO's shouldSkipGenerator); a store or generator not found
 * is nobody's yet: ours to report.
 */
export function readsOtherClass(
  es: ExternalSecret,
  stores: Pick<StoreLookup, "secretStore" | "clusterSecretStore">,
  controllerClass: string,
  generators?: GeneratorLookup,
): boolean {
  const generatorRefs = (es.spec.dataFrom ?? []).flatMap((d) => d.sourceRef?.generatorRef ?? []);
  return (
    generatorRefs.some((ref) => {
      const generator = generators?.(ref);
      return generator !== undefined && namesOtherClass(generatorClass(ref.kind, generator), controllerClass);
    }) ||
    storesNamed(es.spec).some((ref) => {
      const store =
        ref.kind === "ClusterSecretStore"
          ? stores.clusterSecretStore(ref.name)
          : stores.secretStore(es.metadata.namespace ?? "", ref.name);
      return store !== undefined && !handlesStore(store, controllerClass);
    })
  );
}
