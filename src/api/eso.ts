/**
 * External Secrets Operator manifests (`external-secrets.io/v1` and
 * `v1beta1`) converted into refsync's kinds: pure data, no I/O, used by the
 * plugin at render time and by `refsync convert --from eso` in Git.
 *
 * Every ESO field is in RULES below: it maps to the refsync field of the
 * same name and meaning, or it is accepted only with ESO's default value
 * (which is refsync's behaviour too), or it is refused. A field the table
 * does not know is refused as well, so nothing is ever dropped silently.
 * ESO defaults that differ from refsync's (or that refsync might change)
 * are written out in the converted object. The result is then validated
 * like every refsync object (src/render/objects.ts), provider sections
 * included.
 */
import { DURATION, durationMs } from "./duration.ts";
import { GENERATOR_KINDS, GENERATORS_API_VERSION } from "./generators.ts";
import { API_VERSION } from "./v1alpha1.ts";

export const ESO_GROUP = "external-secrets.io";
export const ESO_VERSIONS = ["v1", "v1beta1"] as const;
/** ESO's generator API group and version (`generators.external-secrets.io/v1alpha1`). */
export const ESO_GENERATORS_API_VERSION = "generators.external-secrets.io/v1alpha1";
/** On a converted object: the ESO apiVersion it was converted from. */
export const ANNOTATION_CONVERTED_FROM = "refsync.dev/converted-from";

/** How one ESO field path (array items as `[]`) becomes refsync's. */
export type Rule =
  /** Same name, same meaning: objects recurse (each child needs its own rule), leaves are copied. */
  | { kind: "map" }
  /** Same name and meaning for the whole subtree (label maps, Secret and ServiceAccount selectors). */
  | { kind: "subtree" }
  /** Accepted only with these values, which are refsync's behaviour; dropped from the output. */
  | { kind: "only"; values: readonly unknown[] }
  /** No effect in refsync, with any value: dropped from the output with a note saying why. */
  | { kind: "drop"; why: string }
  /** refsync does not implement it. */
  | { kind: "refuse"; why?: string };

const map: Rule = { kind: "map" };
const subtree: Rule = { kind: "subtree" };
const only = (...values: unknown[]): Rule => ({ kind: "only", values });
const drop = (why: string): Rule => ({ kind: "drop", why });
/** Fields ESO reads only when it writes to or deletes from the backend (PushSecret). */
const pushOnly = drop("no effect: refsync never writes to or deletes from the backend (ESO's PushSecret)");
const refuse = (why?: string): Rule => (why === undefined ? { kind: "refuse" } : { kind: "refuse", why });

/** Fields of one ESO remote reference (data[].remoteRef, dataFrom[].extract). */
function remoteRefRules(at: string, keys: "one" | "many"): Record<string, Rule> {
  return {
    [at]: map,
    [`${at}.key`]: map,
    [`${at}.property`]: map,
    [`${at}.version`]: map,
    [`${at}.decodingStrategy`]: map,
    [`${at}.metadataPolicy`]: map,
    // ESO converts the keys of dataFrom only: on data[] the field has no effect there either.
    [`${at}.conversionStrategy`]: keys === "many" ? map : only("Default", "Unicode"),
    [`${at}.nullBytePolicy`]: map,
  };
}

/** Fields of one templateFrom source (configMap, secret). */
function templateRefRules(at: string): Record<string, Rule> {
  return {
    [at]: map,
    [`${at}.name`]: map,
    [`${at}.items`]: map,
    [`${at}.items[]`]: map,
    [`${at}.items[].key`]: map,
    [`${at}.items[].templateAs`]: map,
  };
}

/** Fields of one store reference (spec.secretStoreRef, an entry's sourceRef.storeRef). */
function storeRefRules(at: string): Record<string, Rule> {
  return { [at]: map, [`${at}.name`]: map, [`${at}.kind`]: map };
}

const EXTERNAL_SECRET: Record<string, Rule> = {
  spec: map,
  ...storeRefRules("spec.secretStoreRef"),
  "spec.refreshInterval": map,
  "spec.refreshPolicy": map,
  "spec.syncWindows": map,
  "spec.syncWindows.kind": map,
  "spec.syncWindows.windows": map,
  "spec.syncWindows.windows[]": map,
  "spec.syncWindows.windows[].schedule": map,
  "spec.syncWindows.windows[].duration": map,
  "spec.target": map,
  "spec.target.name": map,
  "spec.target.creationPolicy": map,
  "spec.target.deletionPolicy": map,
  "spec.target.immutable": map,
  "spec.target.manifest": map,
  "spec.target.manifest.apiVersion": map,
  "spec.target.manifest.kind": map,
  "spec.target.template": map,
  "spec.target.template.type": map,
  "spec.target.template.engineVersion": only("v2"),
  "spec.target.template.mergePolicy": map,
  "spec.target.template.data": subtree,
  "spec.target.template.templateFrom": map,
  "spec.target.template.templateFrom[]": map,
  ...templateRefRules("spec.target.template.templateFrom[].configMap"),
  ...templateRefRules("spec.target.template.templateFrom[].secret"),
  "spec.target.template.templateFrom[].literal": map,
  "spec.target.template.templateFrom[].target": map,
  "spec.target.template.templateFrom[].valuesDecodingStrategy": map,
  "spec.target.template.metadata": map,
  "spec.target.template.metadata.labels": subtree,
  "spec.target.template.metadata.annotations": subtree,
  "spec.target.template.metadata.finalizers": subtree,
  "spec.data": map,
  "spec.data[]": map,
  "spec.data[].secretKey": map,
  ...remoteRefRules("spec.data[].remoteRef", "one"),
  "spec.data[].sourceRef": map,
  ...storeRefRules("spec.data[].sourceRef.storeRef"),
  // Deprecated in ESO and not implemented there in data[] (its client manager reads only storeRef).
  "spec.data[].sourceRef.generatorRef": refuse("(ESO does not implement generators in data[] either)"),
  "spec.dataFrom": map,
  "spec.dataFrom[]": map,
  ...remoteRefRules("spec.dataFrom[].extract", "many"),
  "spec.dataFrom[].find": map,
  "spec.dataFrom[].find.path": map,
  "spec.dataFrom[].find.name": map,
  "spec.dataFrom[].find.name.regexp": map,
  "spec.dataFrom[].find.tags": subtree,
  "spec.dataFrom[].find.decodingStrategy": map,
  "spec.dataFrom[].find.conversionStrategy": map,
  "spec.dataFrom[].find.nullBytePolicy": map,
  "spec.dataFrom[].rewrite": map,
  "spec.dataFrom[].rewrite[]": map,
  "spec.dataFrom[].rewrite[].regexp": map,
  "spec.dataFrom[].rewrite[].regexp.source": map,
  "spec.dataFrom[].rewrite[].regexp.target": map,
  "spec.dataFrom[].rewrite[].merge": map,
  "spec.dataFrom[].rewrite[].merge.into": map,
  "spec.dataFrom[].rewrite[].merge.priority": subtree,
  "spec.dataFrom[].rewrite[].merge.priorityPolicy": map,
  "spec.dataFrom[].rewrite[].merge.conflictPolicy": map,
  "spec.dataFrom[].rewrite[].merge.strategy": map,
  "spec.dataFrom[].rewrite[].transform": map,
  "spec.dataFrom[].rewrite[].transform.template": map,
  "spec.dataFrom[].sourceRef": map,
  ...storeRefRules("spec.dataFrom[].sourceRef.storeRef"),
  "spec.dataFrom[].sourceRef.generatorRef": map,
  // ESO refuses any other group; refsync's own is written out (applyExternalSecretDefaults).
  "spec.dataFrom[].sourceRef.generatorRef.apiVersion": only(ESO_GENERATORS_API_VERSION),
  "spec.dataFrom[].sourceRef.generatorRef.kind": map,
  "spec.dataFrom[].sourceRef.generatorRef.name": map,
};

/** A ClusterExternalSecret's own fields; its spec.externalSecretSpec follows EXTERNAL_SECRET's rules. */
const CLUSTER_EXTERNAL_SECRET: Record<string, Rule> = {
  spec: map,
  "spec.externalSecretName": map,
  "spec.externalSecretMetadata": map,
  "spec.externalSecretMetadata.labels": subtree,
  "spec.externalSecretMetadata.annotations": subtree,
  // Deprecated in ESO, ORed with namespaceSelectors: it becomes their first entry.
  "spec.namespaceSelector": subtree,
  "spec.namespaceSelectors": subtree,
  "spec.namespaces": subtree,
  "spec.refreshTime": map,
};
const EMBEDDED_SPEC = "spec.externalSecretSpec";

const STORE: Record<string, Rule> = {
  spec: map,
  "spec.controller": map,
  "spec.provider": map,
  "spec.retrySettings": subtree,
  "spec.refreshInterval": map,
  "spec.conditions": map,
  "spec.conditions[]": map,
  "spec.conditions[].namespaces": subtree,
  "spec.conditions[].namespaceSelector": subtree,
  "spec.conditions[].namespaceRegexes": subtree,
};

const P = "spec.provider";
const PROVIDERS: Record<string, Record<string, Rule>> = {
  vault: {
    [`${P}.vault`]: map,
    [`${P}.vault.server`]: map,
    [`${P}.vault.path`]: map,
    [`${P}.vault.version`]: map,
    [`${P}.vault.namespace`]: map,
    [`${P}.vault.caBundle`]: map,
    [`${P}.vault.caProvider`]: subtree,
    [`${P}.vault.tls`]: map,
    [`${P}.vault.tls.certSecretRef`]: subtree,
    [`${P}.vault.tls.keySecretRef`]: subtree,
    [`${P}.vault.readYourWrites`]: map,
    [`${P}.vault.forwardInconsistent`]: map,
    [`${P}.vault.headers`]: subtree,
    [`${P}.vault.checkAndSet`]: pushOnly,
    [`${P}.vault.auth`]: map,
    [`${P}.vault.auth.namespace`]: map,
    [`${P}.vault.auth.tokenSecretRef`]: subtree,
    [`${P}.vault.auth.appRole`]: map,
    [`${P}.vault.auth.appRole.path`]: map,
    [`${P}.vault.auth.appRole.roleId`]: map,
    [`${P}.vault.auth.appRole.roleRef`]: subtree,
    [`${P}.vault.auth.appRole.secretRef`]: subtree,
    [`${P}.vault.auth.kubernetes`]: map,
    [`${P}.vault.auth.kubernetes.mountPath`]: map,
    [`${P}.vault.auth.kubernetes.role`]: map,
    [`${P}.vault.auth.kubernetes.serviceAccountRef`]: subtree,
    [`${P}.vault.auth.kubernetes.secretRef`]: subtree,
    [`${P}.vault.auth.jwt`]: map,
    [`${P}.vault.auth.jwt.path`]: map,
    [`${P}.vault.auth.jwt.role`]: map,
    [`${P}.vault.auth.jwt.secretRef`]: subtree,
    [`${P}.vault.auth.jwt.kubernetesServiceAccountToken`]: map,
    [`${P}.vault.auth.jwt.kubernetesServiceAccountToken.serviceAccountRef`]: subtree,
    [`${P}.vault.auth.jwt.kubernetesServiceAccountToken.audiences`]: subtree,
    [`${P}.vault.auth.jwt.kubernetesServiceAccountToken.expirationSeconds`]: map,
    [`${P}.vault.auth.ldap`]: map,
    [`${P}.vault.auth.ldap.path`]: map,
    [`${P}.vault.auth.ldap.username`]: map,
    [`${P}.vault.auth.ldap.secretRef`]: subtree,
    [`${P}.vault.auth.userPass`]: map,
    [`${P}.vault.auth.userPass.path`]: map,
    [`${P}.vault.auth.userPass.username`]: map,
    [`${P}.vault.auth.userPass.secretRef`]: subtree,
    [`${P}.vault.auth.cert`]: map,
    [`${P}.vault.auth.cert.path`]: map,
    [`${P}.vault.auth.cert.vaultRole`]: map,
    [`${P}.vault.auth.cert.clientCert`]: subtree,
    [`${P}.vault.auth.cert.secretRef`]: subtree,
    [`${P}.vault.auth.iam`]: map,
    [`${P}.vault.auth.iam.path`]: map,
    [`${P}.vault.auth.iam.region`]: map,
    [`${P}.vault.auth.iam.role`]: map,
    [`${P}.vault.auth.iam.vaultRole`]: map,
    [`${P}.vault.auth.iam.externalID`]: map,
    [`${P}.vault.auth.iam.vaultAwsIamServerID`]: map,
    [`${P}.vault.auth.iam.secretRef`]: subtree,
    [`${P}.vault.auth.iam.jwt`]: subtree,
    [`${P}.vault.auth.gcp`]: refuse(),
  },
  aws: {
    [`${P}.aws`]: map,
    [`${P}.aws.service`]: only("SecretsManager"),
    [`${P}.aws.region`]: map,
    [`${P}.aws.role`]: map,
    [`${P}.aws.externalID`]: map,
    [`${P}.aws.prefix`]: map,
    [`${P}.aws.auth`]: map,
    [`${P}.aws.auth.jwt`]: map,
    [`${P}.aws.auth.jwt.serviceAccountRef`]: subtree,
    [`${P}.aws.auth.secretRef`]: subtree,
    [`${P}.aws.additionalRoles`]: subtree,
    [`${P}.aws.sessionTags`]: map,
    [`${P}.aws.sessionTags[]`]: map,
    [`${P}.aws.sessionTags[].key`]: map,
    [`${P}.aws.sessionTags[].value`]: map,
    [`${P}.aws.transitiveTagKeys`]: subtree,
    [`${P}.aws.sessionTagsPolicy`]: refuse(),
    [`${P}.aws.customSessionTags`]: refuse(),
    [`${P}.aws.secretsManager`]: pushOnly,
  },
  gcpsm: {
    [`${P}.gcpsm`]: map,
    [`${P}.gcpsm.projectID`]: map,
    [`${P}.gcpsm.location`]: map,
    [`${P}.gcpsm.secretVersionSelectionPolicy`]: map,
    [`${P}.gcpsm.auth`]: map,
    [`${P}.gcpsm.auth.secretRef`]: subtree,
    [`${P}.gcpsm.auth.workloadIdentity`]: map,
    [`${P}.gcpsm.auth.workloadIdentity.serviceAccountRef`]: subtree,
    [`${P}.gcpsm.auth.workloadIdentity.clusterLocation`]: map,
    [`${P}.gcpsm.auth.workloadIdentity.clusterName`]: map,
    [`${P}.gcpsm.auth.workloadIdentity.clusterProjectID`]: map,
    [`${P}.gcpsm.auth.workloadIdentityFederation`]: map,
    [`${P}.gcpsm.auth.workloadIdentityFederation.serviceAccountRef`]: subtree,
    [`${P}.gcpsm.auth.workloadIdentityFederation.audience`]: map,
    [`${P}.gcpsm.auth.workloadIdentityFederation.gcpServiceAccountEmail`]: map,
    [`${P}.gcpsm.auth.workloadIdentityFederation.credConfig`]: refuse(),
    [`${P}.gcpsm.auth.workloadIdentityFederation.awsSecurityCredentials`]: refuse(),
    [`${P}.gcpsm.auth.workloadIdentityFederation.externalTokenEndpoint`]: refuse(),
  },
  azurekv: {
    [`${P}.azurekv`]: map,
    [`${P}.azurekv.vaultUrl`]: map,
    [`${P}.azurekv.tenantId`]: map,
    [`${P}.azurekv.environmentType`]: map,
    [`${P}.azurekv.authType`]: map,
    [`${P}.azurekv.authSecretRef`]: subtree,
    [`${P}.azurekv.serviceAccountRef`]: subtree,
    [`${P}.azurekv.identityId`]: map,
    // Which Go client ESO uses: no meaning for refsync, whose one client serves every cloud.
    [`${P}.azurekv.useAzureSDK`]: only(true, false),
    [`${P}.azurekv.customCloudConfig`]: map,
    [`${P}.azurekv.customCloudConfig.activeDirectoryEndpoint`]: map,
    [`${P}.azurekv.customCloudConfig.keyVaultDNSSuffix`]: map,
    // ESO's Key Vault clients take the vault from vaultUrl and the token's resource from the vault's
    // authentication challenge, as refsync's do; ESO puts these in its cloud configuration but reads neither.
    [`${P}.azurekv.customCloudConfig.keyVaultEndpoint`]: drop(
      "no effect, in ESO as in refsync: the vault is vaultUrl and the token's resource the one the vault's challenge names",
    ),
    [`${P}.azurekv.customCloudConfig.resourceManagerEndpoint`]: drop(
      "no effect, in ESO as in refsync: reading Key Vault makes no Resource Manager call",
    ),
  },
  kubernetes: {
    [`${P}.kubernetes`]: map,
    [`${P}.kubernetes.remoteNamespace`]: map,
    [`${P}.kubernetes.server`]: map,
    [`${P}.kubernetes.server.url`]: map,
    [`${P}.kubernetes.server.caBundle`]: map,
    [`${P}.kubernetes.server.caProvider`]: subtree,
    [`${P}.kubernetes.auth`]: map,
    [`${P}.kubernetes.auth.serviceAccount`]: subtree,
    [`${P}.kubernetes.auth.token`]: subtree,
    [`${P}.kubernetes.auth.cert`]: subtree,
    [`${P}.kubernetes.authRef`]: subtree,
  },
  fake: {
    [`${P}.fake`]: map,
    [`${P}.fake.data`]: map,
    [`${P}.fake.data[]`]: map,
    [`${P}.fake.data[].key`]: map,
    [`${P}.fake.data[].value`]: map,
    [`${P}.fake.data[].version`]: map,
    /** v1beta1 only. */
    [`${P}.fake.data[].valueMap`]: subtree,
    [`${P}.fake.validationResult`]: refuse(),
  },
};

/** ESO's generator kinds refsync has none of (yet), refused by name. */
const ESO_GENERATORS_NOT_IMPLEMENTED: Record<string, string> = {
  ACRAccessToken: "acrAccessTokenSpec",
  BeyondtrustWorkloadCredentialsDynamicSecret: "beyondtrustWorkloadCredentialsDynamicSecretSpec",
  CloudsmithAccessToken: "cloudsmithAccessTokenSpec",
  ECRAuthorizationToken: "ecrAuthorizationTokenSpec",
  GCRAccessToken: "gcrAccessTokenSpec",
  GithubAccessToken: "githubAccessTokenSpec",
  GitlabDeployToken: "gitlabDeployTokenSpec",
  Grafana: "grafanaSpec",
  MFA: "mfaSpec",
  QuayAccessToken: "quayAccessTokenSpec",
  SSHKey: "sshKeySpec",
  STSSessionToken: "stsSessionTokenSpec",
  Webhook: "webhookSpec",
};
const GENERATOR_NOT_IMPLEMENTED = (kind: string) =>
  `refsync has no ${kind} generator yet; it has ${[...Object.keys(GENERATOR_KINDS), "ClusterGenerator"].join(", ")}`;
/**
 * A VaultDynamicSecret's `provider` (ESO's Vault provider spec) under `at`: a Vault store's rules,
 * but for the mount and KV version, which the generator never reads (it calls its spec.path).
 */
function vaultProviderRules(at: string): Record<string, Rule> {
  const store = `${P}.vault`;
  const noMount = drop(
    "no effect: a VaultDynamicSecret calls its spec.path, whatever the mount and KV version",
  );
  return Object.fromEntries(
    Object.entries(PROVIDERS.vault ?? {}).map(([pattern, rule]) => {
      const field = pattern.slice(store.length);
      return [`${at}${field}`, field === ".path" || field === ".version" ? noMount : rule];
    }),
  );
}

/** One generator spec's fields under `at` (`spec`, or `spec.generator.passwordSpec` in a ClusterGenerator). */
function generatorSpecRules(kind: string, at: string): Record<string, Rule> {
  if (kind === "VaultDynamicSecret")
    return {
      [at]: map,
      ...Object.fromEntries(
        ["path", "method", "resultType", "allowEmptyResponse"].map((f) => [`${at}.${f}`, map]),
      ),
      [`${at}.parameters`]: subtree,
      [`${at}.getParameters`]: subtree,
      [`${at}.retrySettings`]: subtree,
      // Its controller class: an ExternalSecret that uses it is another class's (controller-class.ts).
      [`${at}.controller`]: map,
      ...vaultProviderRules(`${at}.provider`),
    };
  if (kind === "Password")
    return {
      [at]: map,
      ...Object.fromEntries(
        ["length", "digits", "symbols", "symbolCharacters", "noUpper", "allowRepeat", "encoding"].map((f) => [
          `${at}.${f}`,
          map,
        ]),
      ),
      [`${at}.secretKeys`]: subtree,
    };
  if (kind === "Fake") return { [at]: map, [`${at}.data`]: subtree, [`${at}.controller`]: map };
  return { [at]: map }; // UUID: an empty spec
}

const GENERATORS: Record<string, Record<string, Rule>> = {
  ...Object.fromEntries(Object.keys(GENERATOR_KINDS).map((kind) => [kind, generatorSpecRules(kind, "spec")])),
  ClusterGenerator: {
    spec: map,
    "spec.kind": map,
    "spec.generator": map,
    ...Object.fromEntries(
      Object.entries(ESO_GENERATORS_NOT_IMPLEMENTED).map(([kind, key]) => [
        `spec.generator.${key}`,
        refuse(`(${GENERATOR_NOT_IMPLEMENTED(kind)})`),
      ]),
    ),
    ...Object.assign(
      {},
      ...Object.entries(GENERATOR_KINDS).map(([kind, { specKey }]) =>
        generatorSpecRules(kind, `spec.generator.${specKey}`),
      ),
    ),
  },
};

/** The rule for one ESO field path (`spec.data[].remoteRef.key`) of a kind, if the table has one. */
export function esoRule(kind: string, pattern: string): Rule | undefined {
  if (Object.hasOwn(GENERATORS, kind)) return GENERATORS[kind]?.[pattern];
  if (kind === "ExternalSecret") return EXTERNAL_SECRET[pattern];
  if (kind === "ClusterExternalSecret") {
    return pattern === EMBEDDED_SPEC || pattern.startsWith(`${EMBEDDED_SPEC}.`)
      ? EXTERNAL_SECRET[`spec${pattern.slice(EMBEDDED_SPEC.length)}`]
      : CLUSTER_EXTERNAL_SECRET[pattern];
  }
  if (kind !== "SecretStore" && kind !== "ClusterSecretStore") return undefined;
  const provider = /^spec\.provider\.([^.[]+)/.exec(pattern)?.[1];
  if (provider !== undefined) return PROVIDERS[provider]?.[pattern];
  return STORE[pattern];
}

/** Every field path the table knows for a kind, with its rule (for tests and docs). */
export function esoRules(kind: "ExternalSecret" | "SecretStore"): [string, Rule][] {
  if (kind === "ExternalSecret") return Object.entries(EXTERNAL_SECRET);
  return [...Object.entries(STORE), ...Object.values(PROVIDERS).flatMap((p) => Object.entries(p))];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Go's zero values: ESO omits them (omitempty) and reads them as unset. */
const isZero = (v: unknown): boolean =>
  v === null ||
  v === false ||
  v === "" ||
  (Array.isArray(v) && v.length === 0) ||
  (isRecord(v) && Object.keys(v).length === 0);

const DROP = Symbol("drop");

/** What converting one object found: fields refused, and fields dropped for having no effect. */
interface Findings {
  problems: string[];
  dropped: EsoDropped[];
}

function walk(kind: string, node: unknown, pattern: string, path: string, findings: Findings): unknown {
  if (node === null || node === undefined) return DROP;
  const { problems } = findings;
  const rule = esoRule(kind, pattern);
  if (rule?.kind === "drop") {
    findings.dropped.push({ path, why: rule.why });
    return DROP;
  }
  if (!rule || rule.kind === "refuse") {
    if (isZero(node)) return DROP;
    const provider = /^spec\.provider\.([^.[]+)$/.exec(pattern)?.[1];
    if (!rule && provider !== undefined && !PROVIDERS[provider]) {
      problems.push(`${path}: refsync has no ${provider} provider`);
    } else {
      const why = rule?.kind === "refuse" && rule.why ? ` ${rule.why}` : "";
      problems.push(`${path}: refsync does not implement this ESO field${why}`);
    }
    return DROP;
  }
  if (rule.kind === "only") {
    if (rule.values.includes(node)) return DROP;
    const allowed = rule.values.map((v) => JSON.stringify(v)).join(" or ");
    problems.push(`${path}: refsync implements only ${allowed} here, not ${JSON.stringify(node)}`);
    return DROP;
  }
  if (rule.kind === "subtree") return structuredClone(node);
  if (Array.isArray(node)) {
    return node.map((item, i) => {
      const out = walk(kind, item, `${pattern}[]`, `${path}[${i}]`, findings);
      return out === DROP ? null : out;
    });
  }
  if (isRecord(node)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      const converted = walk(kind, value, `${pattern}.${key}`, `${path}.${key}`, findings);
      if (converted !== DROP) out[key] = converted;
    }
    return out;
  }
  return node;
}

/** A field of the ESO object left out of the converted one although set: where, and why that keeps ESO's meaning. */
export interface EsoDropped {
  path: string;
  why: string;
}

export type EsoConversion =
  | { ok: true; object: Record<string, unknown>; dropped: EsoDropped[] }
  | { ok: false; problems: string[] };

/** True for an object of the external-secrets.io API groups (any version or kind, generators too). */
export function isEsoObject(value: unknown): value is Record<string, unknown> {
  return (
    isRecord(value) &&
    typeof value.apiVersion === "string" &&
    /^([a-z0-9-]+\.)?external-secrets\.io\//.test(value.apiVersion)
  );
}

const KINDS = new Set(["ExternalSecret", "SecretStore", "ClusterSecretStore", "ClusterExternalSecret"]);
const TOP_LEVEL = new Set(["apiVersion", "kind", "metadata", "spec", "status"]);

/**
 * One ESO object as the refsync object of the same kind; or every problem,
 * `path: message` each (never a value read from a secret: ESO manifests hold
 * none, but problems quote only enum-like values of the spec).
 */
export function convertEsoObject(value: Record<string, unknown>): EsoConversion {
  const apiVersion = String(value.apiVersion);
  const kind = typeof value.kind === "string" ? value.kind : "";
  if (apiVersion === ESO_GENERATORS_API_VERSION) return convertEsoGenerator(value, kind);
  if (!ESO_VERSIONS.some((v) => apiVersion === `${ESO_GROUP}/${v}`)) {
    return {
      ok: false,
      problems: [
        `apiVersion: refsync converts only ${ESO_VERSIONS.map((v) => `${ESO_GROUP}/${v}`).join(" and ")}, not ${apiVersion}`,
      ],
    };
  }
  if (!KINDS.has(kind)) {
    return {
      ok: false,
      problems: [
        `kind: refsync has no ${kind || "(unset)"} kind yet; it converts ExternalSecret, SecretStore, ClusterSecretStore and ClusterExternalSecret`,
      ],
    };
  }
  const findings: Findings = { problems: [], dropped: [] };
  const { problems, dropped } = findings;
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL.has(key)) problems.push(`${key}: refsync does not implement this ESO field`);
  }
  if (kind === "SecretStore" || kind === "ClusterSecretStore")
    problems.push(...esoStoreValidation(value.spec));
  if (kind === "ExternalSecret") problems.push(...esoGeneratorRefProblems(value.spec, "spec"));
  if (kind === "ClusterExternalSecret" && isRecord(value.spec))
    problems.push(...esoGeneratorRefProblems(value.spec.externalSecretSpec, EMBEDDED_SPEC));
  const spec = walk(kind, value.spec ?? {}, "spec", "spec", findings);
  if (problems.length) return { ok: false, problems };
  const converted = (spec === DROP ? {} : spec) as Record<string, unknown>;
  if (kind === "ExternalSecret") applyExternalSecretDefaults(converted);
  else if (kind === "ClusterExternalSecret") applyClusterExternalSecretDefaults(converted);
  else applyStoreDefaults(converted, dropped);
  const metadata = isRecord(value.metadata) ? structuredClone(value.metadata) : {};
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  metadata.annotations = { ...annotations, [ANNOTATION_CONVERTED_FROM]: apiVersion };
  // status is the ESO controller's, not the user's: a refsync object starts without one.
  return { ok: true, object: { apiVersion: API_VERSION, kind, metadata, spec: converted }, dropped };
}

/** An ESO generator as refsync's generator of the same kind (generators.refsync.dev/v1alpha1). */
function convertEsoGenerator(value: Record<string, unknown>, kind: string): EsoConversion {
  if (kind === "GeneratorState")
    return {
      ok: false,
      problems: [
        "kind: GeneratorState is ESO's controller's record of generated values, for their cleanup; refsync's generators create nothing to clean up and keep none: leave it out",
      ],
    };
  if (!Object.hasOwn(GENERATORS, kind)) {
    const known = Object.hasOwn(ESO_GENERATORS_NOT_IMPLEMENTED, kind);
    return {
      ok: false,
      problems: [
        `kind: ${known ? GENERATOR_NOT_IMPLEMENTED(kind) : `ESO has no ${kind || "(unset)"} generator`}`,
      ],
    };
  }
  const findings: Findings = { problems: [], dropped: [] };
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL.has(key)) findings.problems.push(`${key}: refsync does not implement this ESO field`);
  }
  const spec = isRecord(value.spec) ? value.spec : {};
  if (
    kind === "ClusterGenerator" &&
    typeof spec.kind === "string" &&
    Object.hasOwn(ESO_GENERATORS_NOT_IMPLEMENTED, spec.kind)
  )
    findings.problems.push(`spec.kind: ${GENERATOR_NOT_IMPLEMENTED(spec.kind)}`);
  const converted = walk(kind, spec, "spec", "spec", findings);
  if (findings.problems.length) return { ok: false, problems: findings.problems };
  const vault = vaultDynamicSecretSpec(kind, converted);
  if (vault && isRecord(vault.spec.provider))
    applyVaultAuthDefaults(vault.spec.provider, `${vault.at}.provider`, findings.dropped);
  const metadata = isRecord(value.metadata) ? structuredClone(value.metadata) : {};
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  metadata.annotations = { ...annotations, [ANNOTATION_CONVERTED_FROM]: ESO_GENERATORS_API_VERSION };
  return {
    ok: true,
    object: { apiVersion: GENERATORS_API_VERSION, kind, metadata, spec: converted === DROP ? {} : converted },
    dropped: findings.dropped,
  };
}

/** A converted VaultDynamicSecret's spec, or a ClusterGenerator's vaultDynamicSecretSpec, with its path. */
function vaultDynamicSecretSpec(
  kind: string,
  spec: unknown,
): { spec: Record<string, unknown>; at: string } | undefined {
  if (!isRecord(spec)) return undefined;
  if (kind === "VaultDynamicSecret") return { spec, at: "spec" };
  const inner = isRecord(spec.generator) ? spec.generator.vaultDynamicSecretSpec : undefined;
  return isRecord(inner) ? { spec: inner, at: "spec.generator.vaultDynamicSecretSpec" } : undefined;
}

/** The generatorRefs of an ESO ExternalSecret's dataFrom, with their field paths under `root`. */
function generatorRefs(spec: unknown, root: string): [string, Record<string, unknown>][] {
  const dataFrom = isRecord(spec) && Array.isArray(spec.dataFrom) ? (spec.dataFrom as unknown[]) : [];
  return dataFrom.flatMap((entry, i) => {
    const ref = isRecord(entry) && isRecord(entry.sourceRef) ? entry.sourceRef.generatorRef : undefined;
    return isRecord(ref) ? [[`${root}.dataFrom[${i}].sourceRef.generatorRef`, ref] as const] : [];
  });
}

/** A generatorRef naming a generator kind refsync has not. */
function esoGeneratorRefProblems(spec: unknown, root: string): string[] {
  return generatorRefs(spec, root).flatMap(([at, ref]) =>
    typeof ref.kind === "string" && Object.hasOwn(ESO_GENERATORS_NOT_IMPLEMENTED, ref.kind)
      ? [`${at}.kind: ${GENERATOR_NOT_IMPLEMENTED(ref.kind)}`]
      : [],
  );
}

/** ESO's defaults written out, so the object means in refsync what it meant in ESO. */
function applyExternalSecretDefaults(spec: Record<string, unknown>): void {
  spec.refreshInterval ??= "1h";
  // ESO's generators group (its default) is refsync's generators group.
  for (const [, ref] of generatorRefs(spec, "spec")) ref.apiVersion = GENERATORS_API_VERSION;
  // ESO converts keys a Secret cannot hold (Default: each bad character to _) without a rewrite, and
  // the fake, kubernetes and gcpsm finds before it; refsync's unset conversionStrategy refuses them.
  for (const entry of Array.isArray(spec.dataFrom) ? spec.dataFrom : []) {
    if (!isRecord(entry)) continue;
    const source = isRecord(entry.extract) ? entry.extract : isRecord(entry.find) ? entry.find : undefined;
    if (source) source.conversionStrategy ??= "Default";
  }
  const sourceRefs = [spec.dataFrom, spec.data].flatMap((list) =>
    (Array.isArray(list) ? list : []).map((entry) => (isRecord(entry) ? entry.sourceRef : undefined)),
  );
  for (const ref of [spec.secretStoreRef, ...sourceRefs.map((s) => (isRecord(s) ? s.storeRef : undefined))])
    if (isRecord(ref)) ref.kind ??= "SecretStore";
  const target = (isRecord(spec.target) ? spec.target : (spec.target = {})) as Record<string, unknown>;
  target.creationPolicy ??= "Owner";
  target.deletionPolicy ??= "Retain";
  if (isRecord(target.template)) {
    target.template.engineVersion = "v2";
    // ESO reads templateFrom targets case-insensitively, "" as Data (its default).
    const from = Array.isArray(target.template.templateFrom)
      ? (target.template.templateFrom as unknown[])
      : [];
    for (const item of from.filter(isRecord)) {
      if (typeof item.target !== "string") continue;
      const canonical = ["Data", "Annotations", "Labels"].find(
        (t) => t.toLowerCase() === (item.target as string).toLowerCase(),
      );
      if (item.target === "") delete item.target;
      else if (canonical) item.target = canonical;
    }
  }
}

function applyClusterExternalSecretDefaults(spec: Record<string, unknown>): void {
  // ESO's controller re-evaluates every hour unless refreshTime says otherwise.
  spec.refreshTime ??= "1h";
  if (isRecord(spec.externalSecretSpec)) applyExternalSecretDefaults(spec.externalSecretSpec);
  if (spec.namespaceSelector !== undefined) {
    const rest = Array.isArray(spec.namespaceSelectors) ? spec.namespaceSelectors : [];
    spec.namespaceSelectors = [spec.namespaceSelector, ...rest];
    delete spec.namespaceSelector;
  }
}

/**
 * What ESO's store validation refuses around the fields that the conversion
 * drops (ESO's aws ValidateDeleteSecretInput, vault's CAS check, azurekv's
 * customCloudConfig without the new SDK): such a store never worked in ESO,
 * so it is not converted either.
 */
function esoStoreValidation(spec: unknown): string[] {
  const provider = isRecord(spec) && isRecord(spec.provider) ? spec.provider : {};
  const problems: string[] = [];
  const sm =
    isRecord(provider.aws) && isRecord(provider.aws.secretsManager) ? provider.aws.secretsManager : {};
  const window = typeof sm.recoveryWindowInDays === "number" ? sm.recoveryWindowInDays : 0;
  const at = `${P}.aws.secretsManager`;
  if (window !== 0 && (window < 7 || window > 30))
    problems.push(`${at}.recoveryWindowInDays: ESO refuses this store: it must be between 7 and 30`);
  if (window !== 0 && sm.forceDeleteWithoutRecovery === true)
    problems.push(
      `${at}: ESO refuses this store: forceDeleteWithoutRecovery conflicts with recoveryWindowInDays`,
    );
  const interval = isRecord(spec) ? spec.refreshInterval : undefined;
  if (typeof interval === "number" && (interval < 0 || !Number.isInteger(interval)))
    problems.push(
      "spec.refreshInterval: ESO refuses this store: seconds must be a whole number, not negative",
    );
  const azure = isRecord(provider.azurekv) ? provider.azurekv : {};
  if (azure.customCloudConfig !== undefined && azure.useAzureSDK !== true)
    problems.push(`${P}.azurekv.customCloudConfig: ESO refuses this store: it requires useAzureSDK: true`);
  const vault = isRecord(provider.vault) ? provider.vault : {};
  if (isRecord(vault.checkAndSet) && vault.checkAndSet.required === true && vault.version === "v1")
    problems.push(
      `${P}.vault.checkAndSet.required: ESO refuses this store: check-and-set needs KV version v2`,
    );
  return problems;
}

/** Of two fields ESO allows together, it reads `kept`: `other` is dropped with a note, as ESO ignores it. */
function keepAsEso(
  section: Record<string, unknown>,
  at: string,
  kept: string,
  other: string,
  dropped: EsoDropped[],
): void {
  if (section[kept] === undefined || section[other] === undefined) return;
  delete section[other];
  dropped.push({ path: `${at}.${other}`, why: `ESO uses ${kept} when both are set and ignores ${other}` });
}

/** ESO's Vault logins, as its provider reads them, in a store's or a VaultDynamicSecret's `vault` (at `at`). */
function applyVaultAuthDefaults(vault: Record<string, unknown>, at: string, dropped: EsoDropped[]): void {
  const auth = isRecord(vault.auth) ? vault.auth : {};
  if (isRecord(auth.jwt))
    keepAsEso(auth.jwt, `${at}.auth.jwt`, "secretRef", "kubernetesServiceAccountToken", dropped);
  if (isRecord(auth.kubernetes))
    keepAsEso(auth.kubernetes, `${at}.auth.kubernetes`, "serviceAccountRef", "secretRef", dropped);
  // ESO requests a JWT for the audience "vault" (after serviceAccountRef's) unless told otherwise.
  const saToken = isRecord(auth.jwt) ? auth.jwt.kubernetesServiceAccountToken : undefined;
  if (isRecord(saToken)) saToken.audiences ??= ["vault"];
}

function applyStoreDefaults(spec: Record<string, unknown>, dropped: EsoDropped[]): void {
  const provider = isRecord(spec.provider) ? spec.provider : {};
  const vault = provider.vault;
  if (isRecord(vault)) {
    vault.version ??= "v2";
    applyVaultAuthDefaults(vault, `${P}.vault`, dropped);
    // ESO appends KV v2's `/data` to the mount unless the path has it; refsync's path is the mount alone.
    if (vault.version === "v2" && typeof vault.path === "string" && vault.path.endsWith("/data")) {
      vault.path = vault.path.slice(0, -"/data".length);
    }
  }
  const azure = provider.azurekv;
  if (isRecord(azure)) {
    azure.authType ??= "ServicePrincipal";
    // ESO reads an Azure Stack vault at vaultUrl, whatever its domain; refsync's AzureStackCloud spells
    // out that domain (keyVaultDNSSuffix), which is then vaultUrl's host after the vault's name.
    const custom = azure.customCloudConfig;
    const host =
      typeof azure.vaultUrl === "string" && URL.canParse(azure.vaultUrl)
        ? new URL(azure.vaultUrl).hostname
        : "";
    const dot = host.indexOf(".");
    if (azure.environmentType === "AzureStackCloud" && isRecord(custom) && dot > 0) {
      custom.keyVaultDNSSuffix ??= host.slice(dot);
    }
  }
  // ESO's int-or-string: seconds, or a Go duration; 0 means the controller's default, as unset does.
  if (typeof spec.refreshInterval === "number") spec.refreshInterval = `${spec.refreshInterval}s`;
  const interval = spec.refreshInterval;
  if (
    interval === "0" ||
    (typeof interval === "string" && DURATION.test(interval) && durationMs(interval) === 0)
  )
    delete spec.refreshInterval;
  // ESO's server without a url is the cluster ESO runs in, with that cluster's CA (kube-root-ca.crt in
  // ESO's guide): refsync's default, the controller's own cluster, which it already trusts.
  const kubernetes = provider.kubernetes;
  if (isRecord(kubernetes) && isRecord(kubernetes.server) && kubernetes.server.url === undefined) {
    delete kubernetes.server;
  }
}
