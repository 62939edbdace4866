/** The ControllerView of a running Controller: its informer caches and in-memory state, nothing fetched. */
import type { Controller } from "../../controller/manager.ts";
import type { ConsumerSource, ControllerView } from "./view.ts";

export function controllerView(controller: Controller, consumers?: ConsumerSource): ControllerView {
  return {
    externalSecrets: () => controller.externalSecrets.list(),
    // List items of a kind may lack `kind`; the informer says which one it is.
    stores: () => [
      ...controller.secretStores.list().map((s) => ({ ...s, kind: "SecretStore" as const })),
      ...controller.clusterSecretStores.list().map((s) => ({ ...s, kind: "ClusterSecretStore" as const })),
    ],
    managedSecrets: () => controller.secrets.list(),
    recentEvents: () => controller.recentEvents,
    queueDepth: () => controller.queueDepth,
    inflightReads: () => controller.cache.inFlight,
    isLeader: () => controller.isLeader,
    consumers,
  };
}
