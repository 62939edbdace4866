/** The HashiCorp Vault provider (`spec.provider.vault`). */
import { lazyClient } from "../lazy.ts";
import type { ProviderFactory } from "../types.ts";
import { parseVaultSpec, vaultSpecSchema } from "./spec.ts";

export const vaultProvider: ProviderFactory = {
  name: "vault",
  specKey: "vault",
  specSchema: vaultSpecSchema,
  create(spec, context) {
    const parsed = parseVaultSpec(spec, context.storeName);
    // node-vault (and axios) load when a store of this provider is first used.
    return lazyClient(
      { provider: "vault", methods: ["currentVersion", "write", "renewLease", "revokeLease"] },
      async () => new (await import("./client.ts")).VaultProviderClient(parsed, context),
    );
  },
};

export { CONTROLLER_TOKEN_FILE_ENV } from "./auth.ts";
