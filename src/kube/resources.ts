/**
 * The resource catalogue: every Kubernetes resource refsync reads or writes,
 * by group, version and plural (what a REST path needs) and kind. Core types
 * are spelled out here; refsync's own kinds take their group and version
 * from api/.
 */
import { GENERATOR_KINDS, GENERATORS_GROUP, GENERATORS_VERSION } from "../api/generators.ts";
import { GROUP, VERSION } from "../api/v1alpha1.ts";

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const core = (plural: string, kind: string, namespaced = true): ResourceType => ({
  group: "",
  version: "v1",
  plural,
  kind,
  namespaced,
});
const refsync = (plural: string, kind: string, namespaced = true): ResourceType => ({
  group: GROUP,
  version: VERSION,
  plural,
  kind,
  namespaced,
});

export const resourceTypes = {
  secret: core("secrets", "Secret"),
  configMap: core("configmaps", "ConfigMap"),
  namespace: core("namespaces", "Namespace", false),
  serviceAccount: core("serviceaccounts", "ServiceAccount"),
  event: core("events", "Event"),
  /** The coordination.k8s.io Lease that leader election holds (see leader-election.ts). */
  leaderElectionLock: {
    group: "coordination.k8s.io",
    version: "v1",
    plural: "leases",
    kind: "Lease",
    namespaced: true,
  },
  tokenReview: {
    group: "authentication.k8s.io",
    version: "v1",
    plural: "tokenreviews",
    kind: "TokenReview",
    namespaced: false,
  },
  externalSecret: refsync("externalsecrets", "ExternalSecret"),
  secretStore: refsync("secretstores", "SecretStore"),
  clusterSecretStore: refsync("clustersecretstores", "ClusterSecretStore", false),
  clusterExternalSecret: refsync("clusterexternalsecrets", "ClusterExternalSecret", false),
} satisfies Record<string, ResourceType>;

/** The generators.refsync.dev resources, by kind (ClusterGenerator cluster-scoped). */
export const generatorTypes: Record<string, ResourceType> = {
  ...Object.fromEntries(
    Object.entries(GENERATOR_KINDS).map(([kind, { plural }]) => [
      kind,
      { group: GENERATORS_GROUP, version: GENERATORS_VERSION, plural, kind, namespaced: true },
    ]),
  ),
  ClusterGenerator: {
    group: GENERATORS_GROUP,
    version: GENERATORS_VERSION,
    plural: "clustergenerators",
    kind: "ClusterGenerator",
    namespaced: false,
  },
};

/** The resource (and subresource) a request path names, for metric labels: `secrets`, `externalsecrets/status`. */
export function resourceOfPath(path: string): string {
  const parts = path.split("?")[0]?.split("/").filter(Boolean) ?? [];
  const at = parts[0] === "api" ? 2 : 3;
  const rest = parts[at] === "namespaces" && parts.length > at + 2 ? parts.slice(at + 2) : parts.slice(at);
  return [rest[0], rest[2]].filter(Boolean).join("/") || "unknown";
}

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}
