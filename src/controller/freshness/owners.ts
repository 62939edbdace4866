/**
 * Who deployed an object, and how to ask them to render it again:
 *   - Flux: the kustomize-controller labels every object it applies with
 *     kustomize.toolkit.fluxcd.io/name and /namespace; a new
 *     reconcile.fluxcd.io/requestedAt annotation on that Kustomization makes
 *     it reconcile now.
 *   - Argo CD: the annotation argocd.argoproj.io/tracking-id
 *     (`<app>:<group>/<kind>:<namespace>/<name>`) or the tracking label
 *     app.kubernetes.io/instance names the Application (`<namespace>_<name>`
 *     for Applications outside Argo CD's own namespace);
 *     argocd.argoproj.io/refresh: hard makes Argo CD re-render it, bypassing
 *     its manifest cache.
 */
import { isNotFound, type KubeClient } from "../../kube/client.ts";
import { type ResourceType } from "../../kube/resources.ts";

export const ARGOCD_TRACKING_ID = "argocd.argoproj.io/tracking-id";
export const ARGOCD_TRACKING_LABEL = "app.kubernetes.io/instance";
export const ARGOCD_REFRESH = "argocd.argoproj.io/refresh";
export const FLUX_NAME_LABEL = "kustomize.toolkit.fluxcd.io/name";
export const FLUX_NAMESPACE_LABEL = "kustomize.toolkit.fluxcd.io/namespace";
export const FLUX_REQUESTED_AT = "reconcile.fluxcd.io/requestedAt";

export const applicationType: ResourceType = {
  group: "argoproj.io",
  version: "v1alpha1",
  plural: "applications",
  kind: "Application",
  namespaced: true,
};
export const kustomizationType: ResourceType = {
  group: "kustomize.toolkit.fluxcd.io",
  version: "v1",
  plural: "kustomizations",
  kind: "Kustomization",
  namespaced: true,
};

export interface Owner {
  kind: "Application" | "Kustomization";
  namespace: string;
  name: string;
}

export function ownerKey(owner: Owner): string {
  return `${owner.kind}/${owner.namespace}/${owner.name}`;
}

/** `app` or `namespace_app` (Argo CD's "applications in any namespace" form). */
function argocdApplication(qualified: string, argocdNamespace: string): Owner | undefined {
  if (!qualified) return undefined;
  const at = qualified.indexOf("_");
  return at > 0
    ? { kind: "Application", namespace: qualified.slice(0, at), name: qualified.slice(at + 1) }
    : { kind: "Application", namespace: argocdNamespace, name: qualified };
}

export function ownerOf(
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> },
  argocdNamespace: string,
): Owner | undefined {
  const labels = metadata.labels ?? {};
  const fluxName = labels[FLUX_NAME_LABEL];
  const fluxNamespace = labels[FLUX_NAMESPACE_LABEL];
  if (fluxName && fluxNamespace) return { kind: "Kustomization", namespace: fluxNamespace, name: fluxName };
  const trackingId = metadata.annotations?.[ARGOCD_TRACKING_ID];
  if (trackingId) return argocdApplication(trackingId.split(":")[0] ?? "", argocdNamespace);
  const instance = labels[ARGOCD_TRACKING_LABEL];
  return instance ? argocdApplication(instance, argocdNamespace) : undefined;
}

/**
 * Asks the owner to render again. Resolves false when the owner does not exist
 * (an object labelled by hand, or an Application deleted since).
 */
export async function requestRefresh(
  kube: KubeClient,
  owner: Owner,
  now: Date,
  signal?: AbortSignal,
): Promise<boolean> {
  const type = owner.kind === "Application" ? applicationType : kustomizationType;
  const annotations =
    owner.kind === "Application" ? { [ARGOCD_REFRESH]: "hard" } : { [FLUX_REQUESTED_AT]: now.toISOString() };
  try {
    await kube.request("PATCH", kube.path(type, owner.namespace, owner.name), {
      body: { metadata: { annotations } },
      contentType: "application/merge-patch+json",
      signal,
    });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
