/** The HashiCorp Vault provider (`spec.provider.vault`). */
import type { ProviderFactory } from "../types.ts";
import { VaultProviderClient } from "./client.ts";
import { parseVaultSpec } from "./spec.ts";

export const vaultProvider: ProviderFactory = {
  name: "vault",
  specKey: "vault",
  create(spec, context) {
    return new VaultProviderClient(parseVaultSpec(spec, context.storeName), context);
  },
};

export { CONTROLLER_TOKEN_FILE_ENV } from "./auth.ts";
