// `spec.provider.azurekv` of a SecretStore, shaped as ESO's azurekv provider:
// validated once, errors name the field.
import { z } from "zod";
import { onFirstUse } from "../../api/on-first-use.ts";
import { InvalidSpecError } from "../../errors.ts";
import { parseProviderSpec, secretKeySelector, serviceAccountSelector } from "../spec.ts";

const secretKeyRef = secretKeySelector;

export const AUTH_TYPES = ["WorkloadIdentity", "ServicePrincipal", "ManagedIdentity"] as const;
export const ENVIRONMENT_TYPES = [
  "PublicCloud",
  "USGovernmentCloud",
  "ChinaCloud",
  "GermanCloud",
  "AzureStackCloud",
] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The schema of `spec.provider.azurekv`, built on first use (see onFirstUse). */
export const azureKvSpecSchema = onFirstUse(() => {
  const tenantId = z
    .string()
    .regex(/^[0-9A-Za-z.-]{1,253}$/, "must be a tenant ID (a GUID) or a tenant domain")
    .refine((t) => !["common", "organizations", "consumers"].includes(t.toLowerCase()), {
      message: "must name one tenant, not a multi-tenant alias",
    });

  return z
    .strictObject({
      vaultUrl: z
        .url({ protocol: /^https$/ })
        .describe(
          "URL of the vault, such as https://my-vault.vault.azure.net. Its first DNS label is the vault name that ref+azurekv:// references name.",
        ),
      tenantId: tenantId
        .optional()
        .describe(
          "The Microsoft Entra tenant of the identity. Required for ServicePrincipal unless authSecretRef.tenantId is set; for WorkloadIdentity, else the service account's azure.workload.identity/tenant-id annotation.",
        ),
      environmentType: z
        .enum(ENVIRONMENT_TYPES)
        .optional()
        .describe(
          "The Azure cloud whose Entra ID authority and Key Vault domain to use. Unset: PublicCloud. AzureStackCloud needs customCloudConfig.",
        ),
      authType: z
        .enum(AUTH_TYPES)
        .optional()
        .describe(
          "How to authenticate: WorkloadIdentity (the default: a federated service-account token), ServicePrincipal (a client secret or certificate from a Secret) or ManagedIdentity (the controller's own Azure identity).",
        ),
      serviceAccountRef: serviceAccountSelector
        .extend({
          audiences: serviceAccountSelector.shape.audiences.describe(
            "Audiences of the token requested. Unset: api://AzureADTokenExchange.",
          ),
        })
        .optional()
        .describe(
          "WorkloadIdentity: the ServiceAccount whose token (TokenRequest API) is the client assertion. Unset: the controller's own federated token (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE).",
        ),
      authSecretRef: z
        .strictObject({
          clientId: secretKeyRef
            .optional()
            .describe(
              "The Secret key holding the application (client) ID: required for ServicePrincipal; for WorkloadIdentity it overrides the service account's azure.workload.identity/client-id annotation.",
            ),
          tenantId: secretKeyRef
            .optional()
            .describe("The Secret key holding the tenant ID, when spec tenantId is unset."),
          clientSecret: secretKeyRef
            .optional()
            .describe("ServicePrincipal: the Secret key holding the client secret."),
          clientCertificate: secretKeyRef
            .optional()
            .describe(
              "ServicePrincipal: the Secret key holding the client certificate and its unencrypted private key, PEM.",
            ),
        })
        .optional()
        .describe("Credentials kept in Secrets (ServicePrincipal; clientId for WorkloadIdentity)."),
      identityId: z
        .string()
        .min(1)
        .optional()
        .describe(
          "ManagedIdentity: the client ID (a GUID) or the resource ID of a user-assigned identity. Unset: the system-assigned identity.",
        ),
      customCloudConfig: z
        .strictObject({
          activeDirectoryEndpoint: z
            .url({ protocol: /^https$/ })
            .describe("The Entra ID authority host, such as https://login.microsoftonline.com/."),
          keyVaultDNSSuffix: z
            .string()
            .regex(/^\.?[a-z0-9-]+(\.[a-z0-9-]+)+$/i, "must be a DNS suffix such as .vault.azure.net")
            .optional()
            .describe("The DNS suffix of the cloud's vaults, such as .vault.azure.net."),
        })
        .optional()
        .describe(
          "Endpoints of a cloud that environmentType does not know (Azure Stack, a sovereign cloud's partner authority). Required for AzureStackCloud.",
        ),
    })
    .superRefine((spec, ctx) => {
      const authType = spec.authType ?? "WorkloadIdentity";
      const issue = (path: (string | number)[], message: string) =>
        ctx.addIssue({ code: "custom", path, message });
      const auth = spec.authSecretRef;
      if (authType === "ServicePrincipal") {
        if (!auth?.clientId) issue(["authSecretRef", "clientId"], "required for authType ServicePrincipal");
        if (Boolean(auth?.clientSecret) === Boolean(auth?.clientCertificate))
          issue(
            ["authSecretRef"],
            "set exactly one of clientSecret and clientCertificate for authType ServicePrincipal",
          );
        if (!spec.tenantId && !auth?.tenantId)
          issue(["tenantId"], "required for authType ServicePrincipal (or set authSecretRef.tenantId)");
      } else if (auth?.clientSecret || auth?.clientCertificate) {
        issue(
          ["authSecretRef"],
          `clientSecret and clientCertificate are for ServicePrincipal, not ${authType}`,
        );
      }
      if (authType !== "WorkloadIdentity" && spec.serviceAccountRef)
        issue(["serviceAccountRef"], `only for authType WorkloadIdentity, not ${authType}`);
      if (authType === "ManagedIdentity" && auth)
        issue(
          ["authSecretRef"],
          "not for authType ManagedIdentity: name a user-assigned identity with identityId",
        );
      if (authType !== "ManagedIdentity" && spec.identityId !== undefined)
        issue(["identityId"], `only for authType ManagedIdentity, not ${authType}`);
      if (
        spec.identityId !== undefined &&
        !UUID.test(spec.identityId) &&
        !spec.identityId.toLowerCase().startsWith("/subscriptions/")
      )
        issue(["identityId"], "must be a client ID (a GUID) or a resource ID (/subscriptions/…)");
      if (spec.environmentType === "AzureStackCloud" && !spec.customCloudConfig?.keyVaultDNSSuffix)
        issue(["customCloudConfig"], "required, with keyVaultDNSSuffix, for environmentType AzureStackCloud");
    })
    .describe("Azure Key Vault.");
});

export type AzureKvProviderSpec = z.infer<ReturnType<typeof azureKvSpecSchema>>;
export type AzureAuthType = (typeof AUTH_TYPES)[number];
export type SecretKeyRef = z.infer<typeof secretKeyRef>;
export type ServiceAccountRef = NonNullable<AzureKvProviderSpec["serviceAccountRef"]>;

/** Parses `spec.provider.azurekv`, throwing InvalidSpecError that names the offending field. */
export function parseAzureKvSpec(spec: unknown): AzureKvProviderSpec {
  return parseProviderSpec(azureKvSpecSchema(), spec, "azurekv");
}

interface Cloud {
  /** Entra ID authority host. */
  authorityHost: string;
  /** DNS suffix of vault hosts. */
  vaultSuffix: string;
}

const CLOUDS: Record<Exclude<(typeof ENVIRONMENT_TYPES)[number], "AzureStackCloud">, Cloud> = {
  PublicCloud: { authorityHost: "https://login.microsoftonline.com", vaultSuffix: ".vault.azure.net" },
  USGovernmentCloud: {
    authorityHost: "https://login.microsoftonline.us",
    vaultSuffix: ".vault.usgovcloudapi.net",
  },
  ChinaCloud: { authorityHost: "https://login.chinacloudapi.cn", vaultSuffix: ".vault.azure.cn" },
  GermanCloud: {
    authorityHost: "https://login.microsoftonline.de",
    vaultSuffix: ".vault.microsoftazure.de",
  },
};

export interface VaultEndpoint {
  /** `https://<name><suffix>[:port]`, without a path. */
  url: string;
  /** The vault's name: the first DNS label of its host, lower case. */
  name: string;
  /** Entra ID authority host of the store's cloud. */
  authorityHost: string;
}

/**
 * The vault's origin, name and authority host. The vault's host must be
 * `<name><suffix>` of the store's cloud, so that the name a reference gives
 * (`ref+azurekv://<name>/…`) picks out exactly one vault.
 */
export function vaultEndpoint(spec: AzureKvProviderSpec): VaultEndpoint {
  const env = spec.environmentType ?? "PublicCloud";
  const known = env === "AzureStackCloud" ? undefined : CLOUDS[env];
  const custom = spec.customCloudConfig;
  const authorityHost = (custom?.activeDirectoryEndpoint ?? known?.authorityHost ?? "").replace(/\/+$/, "");
  let suffix = (custom?.keyVaultDNSSuffix ?? known?.vaultSuffix ?? "").toLowerCase();
  if (!suffix.startsWith(".")) suffix = `.${suffix}`;
  const url = new URL(spec.vaultUrl);
  const host = url.hostname.toLowerCase();
  const name = host.slice(0, -suffix.length);
  if (!host.endsWith(suffix) || !/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/.test(name)) {
    throw new InvalidSpecError(
      `spec.provider.azurekv.vaultUrl: the host must be <vault-name>${suffix} for environmentType ${env}${custom?.keyVaultDNSSuffix ? " (customCloudConfig.keyVaultDNSSuffix)" : ""}`,
    );
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash || url.username) {
    throw new InvalidSpecError(
      "spec.provider.azurekv.vaultUrl: must be the vault's origin, with no path or query",
    );
  }
  return { url: url.origin, name, authorityHost };
}
