/**
 * A store's `spec.controller` (ESO's controller class, like an ingress class): a controller
 * started with `--controller-class X` handles the stores whose `spec.controller` is empty or X,
 * and the ExternalSecrets that read from them; everything else belongs to another controller and
 * is left alone, its status included.
 */
import { storesNamed } from "../../api/store-refs.ts";
import type { ExternalSecret, SecretStore } from "../../api/v1alpha1.ts";
import type { StoreLookup } from "./resolve.ts";

/** ESO's default class: a store that names "default" is served by a controller started without the flag. */
export const DEFAULT_CONTROLLER_CLASS = "default";

export function handlesStore(store: Pick<SecretStore, "spec">, controllerClass: string): boolean {
  const wanted = store.spec.controller;
  return wanted === undefined || wanted === "" || wanted === controllerClass;
}

/**
 * The ExternalSecret names a store of another class (spec.secretStoreRef or an entry's
 * sourceRef.storeRef: any one, as ESO's shouldSkipUnmanagedStore); a store not found is nobody's
 * yet: ours to report.
 */
export function readsOtherClass(
  es: ExternalSecret,
  stores: Pick<StoreLookup, "secretStore" | "clusterSecretStore">,
  controllerClass: string,
): boolean {
  return storesNamed(es.spec).some((ref) => {
    const store =
      ref.kind === "ClusterSecretStore"
        ? stores.clusterSecretStore(ref.name)
        : stores.secretStore(es.metadata.namespace ?? "", ref.name);
    return store !== undefined && !handlesStore(store, controllerClass);
  });
}
