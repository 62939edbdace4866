/**
 * The Azure Key Vault provider (`ref+azurekv://`, `spec.provider.azurekv`).
 *
 *   spec.provider.azurekv:
 *     vaultUrl: https://my-vault.vault.azure.net
 *     tenantId: 00000000-0000-0000-0000-000000000000
 *     environmentType: PublicCloud          # or USGovernmentCloud, ChinaCloud, GermanCloud, AzureStackCloud
 *     authType: WorkloadIdentity            # default; or ServicePrincipal, ManagedIdentity
 *     serviceAccountRef: { name: app }      # WorkloadIdentity: federated per-namespace identity
 *     authSecretRef: { clientId: {name, key}, clientSecret | clientCertificate: {name, key} }
 *     identityId: <client or resource id>   # ManagedIdentity: a user-assigned identity
 *
 * remoteRef.key is `[<vault-name>/][secret/|key/|cert/]<name>` (see keys.ts);
 * version is a Key Vault version id.
 */
import { InvalidSpecError } from "../../errors.ts";
import { lazyClient } from "../lazy.ts";
import type { ProviderFactory } from "../types.ts";
import { azureKvSpecSchema, parseAzureKvSpec, vaultEndpoint } from "./spec.ts";

export const azureKvProvider: ProviderFactory = {
  name: "azurekv",
  specKey: "azurekv",
  specSchema: azureKvSpecSchema,
  create(spec, context) {
    const parsed = parseAzureKvSpec(spec);
    vaultEndpoint(parsed); // the vault URL is checked now, with the rest of the spec
    if ((parsed.authType ?? "WorkloadIdentity") === "WorkloadIdentity" && parsed.serviceAccountRef) {
      if (!context.requestServiceAccountToken) {
        throw new InvalidSpecError(
          `${context.storeName}: spec.provider.azurekv.serviceAccountRef needs service-account tokens, which this caller cannot request`,
        );
      }
    }
    // The Azure SDK loads when a store of this provider is first used.
    return lazyClient(
      { provider: "azurekv", methods: ["currentVersion", "write"], metersOwnRequests: true },
      async () => new (await import("./client.ts")).AzureKeyVaultClient(parsed, context),
    );
  },
};
