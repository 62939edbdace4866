/**
 * The refsync.dev/v1alpha1 specs, written once: these zod schemas validate
 * (src/api/validate.ts), give the TypeScript types (src/api/v1alpha1.ts,
 * `z.infer`) and generate the CRDs (src/api/crds.ts, `npm run crds`), whose
 * field descriptions, from `.describe()` here, are what `kubectl explain`
 * shows. Every object is strict: an unknown field is an error, never dropped.
 * Defaults are applied in code (`defaults` in v1alpha1.ts), never in the
 * schemas, so the API server sets none and Argo CD sees no drift.
 */
import { z } from "zod";
import { compileGoRegexp } from "./go-regexp.ts";
import { DURATION, durationMs } from "./duration.ts";
import { GENERATOR_KINDS, GENERATORS_API_VERSION, type GeneratorKind } from "./generators.ts";
import { retrySettingsSchema } from "./retry-settings.ts";
import { parseSchedule } from "./sync-windows.ts";

/**
 * Go-style durations of at least one second (`1h`, `15m`, `1h30m`, `30s`: hours, minutes and
 * seconds, one component with a whole number of at least 1), or zero (`0`, `0s`: no periodic
 * refresh). A shorter interval (`1ms`) would sync and write status about once a second per
 * object. RE2 and JavaScript alike (no lookahead), so the CRD's pattern enforces it too.
 */
export const REFRESH_INTERVAL =
  /^(0|(0+(\.0+)?[hms])+|([0-9]+(\.[0-9]+)?[hms])*[0-9]*[1-9][0-9]*(\.[0-9]+)?[hms]([0-9]+(\.[0-9]+)?[hms])*)$/;

/** The documented minimum of a non-zero refreshInterval. */
export const MIN_REFRESH_INTERVAL = "1s";

const regexp = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, "not a valid regular expression");

const decodingStrategy = z
  .enum(["None", "Base64", "Base64URL", "Auto"])
  .describe(
    "How to decode the value read: None (the default) keeps it as is; Base64 and Base64URL decode it; Auto decodes it when it is valid base64.",
  );

const conversionStrategy = z
  .enum(["Default", "Unicode"])
  .describe(
    "Without a rewrite, how keys holding characters a Secret key cannot hold are converted, as ESO does: Default replaces each with _; Unicode with _UXXXX_ (its code point in hex). Unset: such a key is an error.",
  );

const nullBytePolicy = z
  .enum(["Ignore", "Fail"])
  .describe(
    "Ignore (the default) writes values holding NUL bytes as they are; Fail refuses them (text that was meant to be PEM or base64, for instance).",
  );

const remoteRef = z.strictObject({
  key: z
    .string()
    .min(1)
    .describe(
      "The secret's key in the store: a Vault path under the store's mount (team-a/db), an AWS secret name or ARN, a Secret's name for the kubernetes provider.",
    ),
  property: z
    .string()
    .optional()
    .describe(
      "A property inside the secret: a key of its JSON object, or a path such as /a/b. Unset: the whole secret.",
    ),
  version: z
    .string()
    .optional()
    .describe(
      "The version to read (Vault KV version, AWS VersionId or VersionStage). Unset: the current one.",
    ),
  decodingStrategy: decodingStrategy.optional(),
  metadataPolicy: z
    .enum(["None", "Fetch"])
    .optional()
    .describe(
      "None (the default) reads the secret's value; Fetch reads its metadata instead, as ESO does: AWS tags, Vault KV v2 metadata (custom_metadata and created_time, current_version, delete_version_after), GCP and Kubernetes labels and annotations, Azure tags and attributes. property selects one entry.",
    ),
  nullBytePolicy: nullBytePolicy.optional(),
});

/** dataFrom.extract: a remote reference whose keys become the Secret's, so they may be converted. */
const extractRef = remoteRef.extend({ conversionStrategy: conversionStrategy.optional() });

const stringMap = z.record(z.string(), z.string());
/** Object names such as a Secret's, checked as the API server does (IsDNS1123Subdomain). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MESSAGE =
  "must be a lowercase RFC 1123 subdomain (lower case alphanumerics, '-' or '.', starting and ending with an alphanumeric, like 'db-credentials')";
/** Kubernetes Secret data keys. */
const secretKey = z
  .string()
  .regex(/^[-._a-zA-Z0-9]+$/, "must consist of alphanumerics, '-', '_' or '.'")
  .max(253);

/** A ConfigMap or Secret of the ExternalSecret's namespace whose keys are templates. */
const templateRef = (kind: string) =>
  z
    .strictObject({
      name: z
        .string()
        .max(253)
        .regex(DNS1123_SUBDOMAIN, DNS1123_SUBDOMAIN_MESSAGE)
        .describe(`Name of the ${kind}, in the ExternalSecret's namespace.`),
      items: z
        .array(
          z
            .strictObject({
              key: secretKey.describe(`A key of the ${kind}: its value is the template.`),
              templateAs: z
                .enum(["Values", "KeysAndValues"])
                .optional()
                .describe(
                  "Values (the default): the template renders the value of the key of the same name; KeysAndValues: it renders YAML, a map whose every entry becomes a key.",
                ),
            })
            .describe(`One key of the ${kind}.`),
        )
        .describe(`The keys of the ${kind} to use, each a template.`),
    })
    .describe(`Templates from the keys of a ${kind} in the ExternalSecret's namespace.`);

/** Standard templateFrom targets; anything else is a path into a target.manifest object. */
export const TEMPLATE_TARGETS = ["Data", "Annotations", "Labels"] as const;
const TEMPLATE_TARGET = /^[A-Za-z0-9_-]+(\[\d+\])*(\.[A-Za-z0-9_-]+(\[\d+\])*)*$/;

const templateFrom = z
  .strictObject({
    configMap: templateRef("ConfigMap").optional(),
    secret: templateRef("Secret").optional(),
    literal: z
      .string()
      .optional()
      .describe("A template that renders YAML: a map whose every entry becomes a key (as KeysAndValues)."),
    target: z
      .string()
      .regex(
        TEMPLATE_TARGET,
        "must be Data, Annotations, Labels or a path such as spec.database or spec.rules[0].from",
      )
      .optional()
      .describe(
        "Where the rendered keys go: Data (the default), Annotations or Labels of the Secret; with target.manifest, also a path into the object (a literal only), such as spec.database or spec.rules[0].from, as ESO.",
      ),
    valuesDecodingStrategy: decodingStrategy
      .optional()
      .describe(
        "How to decode each rendered value: None (the default) keeps it; Base64, Base64URL, or Auto (when it is valid base64).",
      ),
  })
  .describe(
    "One source of templates: configMap, secret or literal (each set one is applied, in that order).",
  );

/** ESO's target.manifest: the kind of object to write instead of a Secret (a "generic target"). */
const manifestReference = z
  .strictObject({
    apiVersion: z
      .string()
      .min(1)
      .regex(/^([a-z0-9.-]+\/)?v[0-9a-z]+$/, "must be an apiVersion such as v1 or example.com/v1")
      .describe("apiVersion of the object to write, such as v1 (ConfigMap) or example.com/v1."),
    kind: z.string().min(1).describe("Kind of the object to write, such as ConfigMap; a namespaced kind."),
  })
  .refine((m) => !(m.apiVersion === "v1" && m.kind === "Secret"), {
    message: "names a Secret, which is the default target: leave manifest out",
  })
  .describe(
    "Writes an object of this kind instead of a Secret (ESO's generic targets): a ConfigMap or a custom resource, in the ExternalSecret's namespace. Needs the controller flag --unsafe-allow-generic-targets and RBAC on that kind. Not encrypted at rest as Secrets may be: for values that are not secret.",
  );

/**
 * Fields a manifest target cannot honour, refused rather than ignored (ESO's
 * controller ignores them on such a target): the Secret's type, immutability
 * and finalizers, the read values merged in by mergePolicy Merge, and a
 * template that renders no key (ESO then writes an empty object).
 */
function manifestTargetProblems(
  target: {
    manifest?: unknown;
    immutable?: boolean | undefined;
    template?: {
      type?: string | undefined;
      mergePolicy?: string | undefined;
      metadata?: { finalizers?: string[] | undefined } | undefined;
      data?: Record<string, string> | undefined;
      templateFrom?: { target?: string | undefined; configMap?: unknown; secret?: unknown }[] | undefined;
    };
  },
  ctx: z.RefinementCtx,
): void {
  for (const [i, item] of (target.template?.templateFrom ?? []).entries()) {
    if (item.target === undefined || (TEMPLATE_TARGETS as readonly string[]).includes(item.target)) continue;
    const at = ["template", "templateFrom", i, "target"];
    if (target.manifest === undefined)
      ctx.addIssue({
        code: "custom",
        path: at,
        message: "a Secret target takes Data, Annotations or Labels; a path needs target.manifest",
      });
    else if (item.configMap !== undefined || item.secret !== undefined)
      ctx.addIssue({
        code: "custom",
        path: at,
        message: "a path target takes a literal only, not configMap or secret",
      });
  }
  if (target.manifest === undefined) return;
  const refuse = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message: `${message} (target.manifest is set)` });
  const template = target.template;
  if (target.immutable !== undefined) refuse(["immutable"], "applies only to a Secret target");
  if (template?.type !== undefined) refuse(["template", "type"], "applies only to a Secret target");
  if (template?.metadata?.finalizers !== undefined)
    refuse(["template", "metadata", "finalizers"], "applies only to a Secret target");
  if (template?.mergePolicy === "Merge")
    refuse(["template", "mergePolicy"], "Merge applies only to a Secret target; use Replace");
  if (template && Object.keys(template.data ?? {}).length === 0 && !template.templateFrom?.length)
    refuse(["template"], "a template without data or templateFrom would write no key");
}

/** ESO's sync-window schedules: five cron fields, or a descriptor (`@daily`, `@every 1h`). */
export const SYNC_WINDOW_SCHEDULE =
  /^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|@every [^\s]+.*|[^\s]+( [^\s]+){4})$/;

const syncWindows = z
  .strictObject({
    kind: z
      .enum(["allow", "deny"])
      .describe(
        "allow: periodic refreshes only while a window is open; deny: no periodic refresh while a window is open.",
      ),
    windows: z
      .array(
        z
          .strictObject({
            schedule: z
              .string()
              .regex(
                SYNC_WINDOW_SCHEDULE,
                "must be 5 cron fields (minute hour day month weekday) or @daily, @every 1h…",
              )
              .superRefine((schedule, ctx) => {
                try {
                  parseSchedule(schedule);
                } catch (err) {
                  ctx.addIssue({
                    code: "custom",
                    message: `not a valid schedule: ${(err as Error).message}`,
                  });
                }
              })
              .describe(
                "When each window opens: a 5-field cron expression in UTC (0 22 * * 1-5), or @yearly, @monthly, @weekly, @daily, @hourly, @every <duration>.",
              ),
            duration: z
              .string()
              .regex(DURATION, "must be a duration like 8h, 30m or 1h30m")
              .describe("How long each window stays open after it opens, such as 8h or 30m."),
          })
          .describe("A window: a cron schedule and a duration."),
      )
      .min(1)
      .describe("The windows; kind applies to each."),
  })
  .describe(
    "When periodic refreshes may run (refreshPolicy Periodic only), in UTC: a refresh due outside an allowed window, or inside a denied one, waits until the window allows it. A new spec, a forced sync or a missing Secret sync at once.",
  );

/** ESO's rewrite.merge: the values, each a JSON object, merged into one map. */
const rewriteMerge = z
  .strictObject({
    into: z
      .string()
      .optional()
      .describe("strategy JSON only: the key that receives the merged object (the other keys stay)."),
    priority: z
      .array(z.string())
      .optional()
      .describe(
        "Keys merged last, in this order, so their entries win; the others are merged first, in key order.",
      ),
    priorityPolicy: z
      .enum(["Strict", "IgnoreNotFound"])
      .optional()
      .describe(
        "Strict (the default): a priority key that is not there is an error; IgnoreNotFound skips it.",
      ),
    conflictPolicy: z
      .enum(["Error", "Ignore"])
      .optional()
      .describe(
        "Error (the default): an entry that two values both hold is an error; Ignore: the later one wins.",
      ),
    strategy: z
      .enum(["Extract", "JSON"])
      .optional()
      .describe(
        "Extract (the default): the merged entries replace the keys; JSON: the merged object, as JSON, is written into the key `into`.",
      ),
  })
  .describe("Merges the values (each a JSON object) into one map, as ESO does.");

/** A store by kind and name: spec.secretStoreRef, and an entry's own sourceRef.storeRef. */
const storeRef = z.strictObject({
  name: z.string().min(1).max(253).describe("Name of the SecretStore or ClusterSecretStore."),
  kind: z
    .enum(["SecretStore", "ClusterSecretStore"])
    .optional()
    .describe(
      "SecretStore (the default: a store in this namespace) or ClusterSecretStore (a cluster-wide store).",
    ),
});

/**
 * Where one data entry reads from, instead of spec.secretStoreRef (ESO's StoreSourceRef). ESO's
 * deprecated `generatorRef` here is not implemented by ESO either: the ESO conversion refuses it.
 */
const dataSourceRef = z
  .strictObject({
    storeRef: storeRef.describe("The store this value is read from, instead of spec.secretStoreRef."),
  })
  .describe("Where this value is read from, instead of spec.secretStoreRef.");

/** A generator (generators.refsync.dev, src/api/generators.ts) by kind and name, as ESO's GeneratorRef. */
const generatorRef = z
  .strictObject({
    apiVersion: z
      .literal(GENERATORS_API_VERSION)
      .optional()
      .describe(`The generator's apiVersion: ${GENERATORS_API_VERSION} (the default).`),
    kind: z
      .enum([...(Object.keys(GENERATOR_KINDS) as GeneratorKind[]), "ClusterGenerator"])
      .describe(`The generator's kind: ${[...Object.keys(GENERATOR_KINDS), "ClusterGenerator"].join(", ")}.`),
    name: z
      .string()
      .min(1)
      .max(253)
      .refine((s) => DNS1123_SUBDOMAIN.test(s), DNS1123_SUBDOMAIN_MESSAGE)
      .describe("The generator's name: in this namespace, or a ClusterGenerator's."),
  })
  .describe(
    "A generator whose new values become keys of the Secret, generated at every sync (docs/generators.md).",
  );

/** Where one dataFrom entry reads from, instead of spec.secretStoreRef (ESO's StoreGeneratorSourceRef). */
const dataFromSourceRef = z
  .strictObject({
    storeRef: storeRef
      .optional()
      .describe("The store these secrets are read from, instead of spec.secretStoreRef."),
    generatorRef: generatorRef.optional(),
  })
  .refine(
    (s) => (s.storeRef === undefined) !== (s.generatorRef === undefined),
    "set exactly one of storeRef and generatorRef",
  )
  .describe(
    "Where these secrets are read from, instead of spec.secretStoreRef: another store, or a generator.",
  );

export const externalSecretSpecSchema = z
  .strictObject({
    secretStoreRef: storeRef
      .optional()
      .describe(
        "The store to read the values from: every entry of data and dataFrom that names no store of its own (sourceRef.storeRef).",
      ),
    refreshInterval: z
      .string()
      .regex(
        REFRESH_INTERVAL,
        "must be a duration of at least 1s like 1h, 15m or 30s (units h, m, s; 0 disables periodic refresh)",
      )
      .optional()
      .describe(
        "How often to read the values again (refreshPolicy Periodic), as a duration such as 1h, 15m or 30s; at least 1s (units h, m and s); 0 never refreshes by time. Defaults to 1h.",
      ),
    refreshPolicy: z
      .enum(["Periodic", "OnChange", "CreatedOnce"])
      .optional()
      .describe(
        "When to read the values again: Periodic (the default) every refreshInterval; OnChange only when this spec changes; CreatedOnce only when the Secret is created (or deleted and recreated).",
      ),
    syncWindows: syncWindows.optional(),
    target: z
      .strictObject({
        name: z
          .string()
          .max(253)
          .refine((s) => s === "" || DNS1123_SUBDOMAIN.test(s), DNS1123_SUBDOMAIN_MESSAGE)
          .optional()
          .describe("Name of the Secret to write. Defaults to the ExternalSecret's name."),
        creationPolicy: z
          .enum(["Owner", "Merge", "Orphan", "CreateOrMerge"])
          .optional()
          .describe(
            "Owner (the default) creates the Secret and owns it; Merge adds the keys to a Secret that must already exist, leaving its other keys alone; Orphan creates the Secret without an owner; CreateOrMerge creates the Secret without an owner when it is missing (again if it is deleted) and otherwise merges like Merge.",
          ),
        immutable: z
          .boolean()
          .optional()
          .describe(
            "true creates the Secret immutable: once it exists its data is never rewritten (changes read later are not written; delete the Secret to have it created again with the current values).",
          ),
        deletionPolicy: z
          .enum(["Retain", "Delete"])
          .optional()
          .describe(
            "What becomes of the Secret when the ExternalSecret is deleted: Retain (the default) leaves a Merge or Orphan Secret in place (an Owner Secret follows its owner); Delete deletes it (Merge: removes only the keys written).",
          ),
        template: z
          .strictObject({
            type: z
              .string()
              .optional()
              .describe("The Secret's type, such as kubernetes.io/tls. Defaults to Opaque."),
            metadata: z
              .strictObject({
                labels: stringMap.optional().describe("Labels to put on the Secret."),
                annotations: stringMap.optional().describe("Annotations to put on the Secret."),
                finalizers: z
                  .array(z.string().min(1).max(253))
                  .optional()
                  .describe(
                    "Finalizers to add to the Secret (never removed by refsync: whoever handles a finalizer removes it).",
                  ),
              })
              .optional()
              .describe("Labels, annotations and finalizers of the Secret."),
            mergePolicy: z
              .enum(["Replace", "Merge"])
              .optional()
              .describe(
                "Replace (the default) writes only the keys the templates produce (data and templateFrom); Merge writes the values read as well, the templates' keys taking precedence.",
              ),
            engineVersion: z
              .enum(["v1", "v2"])
              .optional()
              .describe(
                "The template language of data: v1 (the default) is Handlebars ({{password}}); v2 is Go's text/template with Sprig's and ESO's functions, as ESO's engine v2 ({{ .password | b64enc }}).",
              ),
            data: z
              .record(secretKey, z.string())
              .optional()
              .describe(
                "Templates, one per key of the Secret, in the language engineVersion names; the values read by data and dataFrom are their variables ({{password}} in v1, {{ .password }} in v2).",
              ),
            templateFrom: z
              .array(templateFrom)
              .optional()
              .describe(
                "Templates kept elsewhere, applied in order before data (whose keys take precedence): keys of ConfigMaps and Secrets of this namespace, or literal text.",
              ),
          })
          .optional()
          .describe("The Secret's type, metadata and templated keys."),
        manifest: manifestReference.optional(),
      })
      .refine((t) => !(t.creationPolicy === "CreateOrMerge" && t.deletionPolicy === "Delete"), {
        message: "deletionPolicy Delete needs a Secret refsync owns: not with creationPolicy CreateOrMerge",
        path: ["deletionPolicy"],
      })
      .superRefine(manifestTargetProblems)
      .optional()
      .describe("The Secret to write and how."),
    data: z
      .array(
        z
          .strictObject({
            secretKey: secretKey.describe("The key of the Secret that receives the value."),
            remoteRef: remoteRef.describe("Where the value lives in the store."),
            sourceRef: dataSourceRef.optional(),
          })
          .describe("One value read from the store into one key of the Secret."),
      )
      .optional()
      .describe("Values to read, one key of the Secret each."),
    dataFrom: z
      .array(
        z
          .strictObject({
            extract: extractRef
              .optional()
              .describe("One secret: each property of it becomes a key of the Secret."),
            find: z
              .strictObject({
                path: z
                  .string()
                  .optional()
                  .describe("Only secrets under this path (a prefix of their names)."),
                name: z
                  .strictObject({
                    regexp: regexp.describe("Regular expression the secret's name must match."),
                  })
                  .optional()
                  .describe("Match secrets by name."),
                tags: stringMap
                  .optional()
                  .describe("Tags (AWS) or custom metadata (Vault) every matching secret must carry."),
                decodingStrategy: decodingStrategy.optional(),
                conversionStrategy: conversionStrategy.optional(),
                nullBytePolicy: nullBytePolicy.optional(),
              })
              .optional()
              .describe("Every secret whose name (and tags) match: each becomes a key of the Secret."),
            rewrite: z
              .array(
                z
                  .strictObject({
                    regexp: z
                      .strictObject({
                        source: regexp.describe("Regular expression matched against each key."),
                        target: z
                          .string()
                          .describe("What replaces each match; $1, $2… are the source's groups."),
                      })
                      .optional()
                      .describe("Rewrites the keys by regular expression."),
                    merge: rewriteMerge.optional(),
                    transform: z
                      .strictObject({
                        template: z
                          .string()
                          .min(1)
                          .describe(
                            "A Go template (as target.template engine v2) rendering each key's new name; {{ .value }} is the key.",
                          ),
                      })
                      .optional()
                      .describe("Renames each key with a Go template, as ESO does."),
                  })
                  .refine(
                    (r) => [r.regexp, r.merge, r.transform].filter((x) => x !== undefined).length === 1,
                    "set exactly one of regexp, merge and transform",
                  )
                  .describe("One rewrite step: set exactly one of regexp, merge and transform."),
              )
              .optional()
              .describe("Rewrites of the keys found, applied in order, before they are written."),
            sourceRef: dataFromSourceRef.optional(),
          })
          .refine(
            (d) => [d.extract, d.find, d.sourceRef?.generatorRef].filter((x) => x !== undefined).length === 1,
            "set exactly one of extract, find and sourceRef.generatorRef",
          )
          .describe("One source of many keys: set exactly one of extract, find and sourceRef.generatorRef."),
      )
      .optional()
      .describe("Whole secrets to read, each of their keys becoming a key of the Secret."),
    rollout: z
      .strictObject({
        enabled: z
          .boolean()
          .optional()
          .describe(
            "true restarts every workload of the namespace that reads the Secret when a key it reads changes; false turns restarts off for this ExternalSecret. Unset: only workloads labelled refsync.dev/reload=true and the targets.",
          ),
        targets: z
          .array(
            z
              .strictObject({
                kind: z
                  .enum(["Deployment", "StatefulSet", "DaemonSet", "Rollout"])
                  .describe("Deployment, StatefulSet, DaemonSet or (Argo) Rollout."),
                name: z.string().min(1).describe("Name of the workload, in this namespace."),
              })
              .describe("A workload to restart."),
          )
          .optional()
          .describe("Workloads to restart when the Secret's data changes."),
      })
      .optional()
      .describe("Restarts of the workloads that read the Secret when its data changes."),
  })
  .refine((spec) => !(spec.target?.manifest && spec.rollout), {
    message:
      "restarts follow a Secret's data only: not with target.manifest (restart the workloads reading it otherwise)",
    path: ["rollout"],
  })
  .describe(
    "Which values to read from a store and how to write them into a Secret. Set data, dataFrom, target.template.data or target.template.templateFrom.",
  );

/** A Kubernetes label selector of namespaces (ClusterSecretStore conditions, ClusterExternalSecret). */
const namespaceSelector = z.strictObject({
  matchLabels: stringMap.optional().describe("Labels a namespace must carry, all of them."),
  matchExpressions: z
    .array(
      z
        .strictObject({
          key: z.string().describe("The label's key."),
          operator: z
            .enum(["In", "NotIn", "Exists", "DoesNotExist"])
            .describe("In, NotIn, Exists or DoesNotExist."),
          values: z.array(z.string()).optional().describe("The label's values, for In and NotIn."),
        })
        .describe("A requirement on one label."),
    )
    .optional()
    .describe("Requirements on a namespace's labels, all of them."),
});

/** `spec.provider`'s description and bounds, the same in validation and in the CRDs. */
export const providerMeta = {
  description:
    "The backend the store reads from: set exactly one of vault, aws, gcpsm, azurekv, kubernetes, fake. Each provider checks its own section.",
  minProperties: 1,
  maxProperties: 1,
};

/** A key of a Secret holding a shared secret of an event source (the webhook's signing secret). */
const eventSecretRef = z.strictObject({
  name: z.string().min(1).max(253).describe("Name of the Secret."),
  key: secretKey.describe("The key in the Secret's data."),
  namespace: z
    .string()
    .min(1)
    .max(63)
    .optional()
    .describe(
      "Namespace of the Secret: a SecretStore's own (the default; it may name no other); required for a ClusterSecretStore.",
    ),
});

/**
 * `spec.events`: where the store hears that a key changed in its backend, so the ExternalSecrets
 * reading that key refresh at once instead of at their next slot (periodic refresh stays the safety
 * net). The sources live in src/controller/events/ (see source.ts there).
 */
export const storeEventsSchema = z
  .strictObject({
    webhook: z
      .strictObject({
        secretRef: eventSecretRef.describe(
          "The Secret key holding the HMAC-SHA256 signing secret of the requests (at least 32 bytes).",
        ),
      })
      .optional()
      .describe(
        "Signed HTTP requests naming changed keys, to POST /api/v1/events/{namespace}/{store} (ClusterSecretStore: /api/v1/events/cluster/{store}) on the controller's --metrics-addr server.",
      ),
    awsSqs: z
      .strictObject({
        queueUrl: z
          .string()
          .regex(/^https:\/\/\S+$/, "must be an https:// SQS queue URL")
          .describe(
            "The SQS queue that an EventBridge rule feeds with Secrets Manager's CloudTrail events, long-polled with the store's own AWS identity.",
          ),
        waitTimeSeconds: z
          .number()
          .int()
          .min(1)
          .max(20)
          .optional()
          .describe("Long-poll wait of each ReceiveMessage, 1 to 20 seconds. Defaults to 20."),
      })
      .optional()
      .describe("AWS Secrets Manager changes through EventBridge and an SQS queue (provider aws only)."),
    vault: z
      .strictObject({
        eventTypes: z
          .array(z.string().min(1))
          .min(1)
          .optional()
          .describe("Vault event types to subscribe to. Defaults to the KV v2 and KV v1 writes and deletes."),
      })
      .optional()
      .describe(
        "Vault event notifications (sys/events/subscribe over a websocket) of KV writes and deletes, with the store's own Vault token (provider vault only).",
      ),
    gcpPubSub: z
      .strictObject({
        subscription: z
          .string()
          .regex(
            /^projects\/[^/]+\/subscriptions\/[^/]+$/,
            "must be projects/{project}/subscriptions/{subscription}",
          )
          .describe(
            "The Pub/Sub subscription (projects/{project}/subscriptions/{name}) of the topic Secret Manager notifies, pulled with the store's own identity.",
          ),
      })
      .optional()
      .describe("Google Secret Manager notifications through Pub/Sub (provider gcpsm only)."),
    azureEventGrid: z
      .strictObject({
        secretRef: eventSecretRef.describe(
          "The Secret key holding the shared secret that Event Grid sends as the `code` query parameter of the endpoint URL (at least 32 bytes).",
        ),
      })
      .optional()
      .describe(
        "Azure Key Vault events delivered by an Event Grid webhook subscription to the same endpoint as webhook (provider azurekv only).",
      ),
  })
  .refine((e) => Object.values(e).some((v) => v !== undefined), "set at least one event source")
  .describe(
    "Event sources that report changed keys, so that the ExternalSecrets reading a key refresh within seconds of its change, with one backend read; periodic refresh stays. A source that is down shows as EventsReady=False and leaves the store to its refreshInterval.",
  );

/** A regular expression as Go's regexp package compiles it (RE2: no lookaround, no backreferences). */
const goRegexp = z.string().superRefine((pattern, ctx) => {
  try {
    compileGoRegexp(pattern);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `not a Go regular expression: ${(err as Error).message}` });
  }
});

export const storeSpecSchema = z
  .strictObject({
    controller: z
      .string()
      .optional()
      .describe(
        'The controller class that serves this store and the ExternalSecrets reading from it: a controller started with --controller-class X (default "default") handles only stores whose controller is empty or X, and leaves the others (and their ExternalSecrets) alone.',
      ),
    /** Each provider validates its own section (src/providers/registry.ts); the CRDs spell them out. */
    provider: z
      .strictObject({
        vault: z.unknown().optional(),
        aws: z.unknown().optional(),
        gcpsm: z.unknown().optional(),
        azurekv: z.unknown().optional(),
        kubernetes: z.unknown().optional(),
        fake: z.unknown().optional(),
      })
      .meta(providerMeta),
    rateLimit: z
      .strictObject({
        // 0 would be a store that can never read (client-go's "0 means the default" would surprise as much).
        qps: z
          .number()
          .positive("must be greater than 0 (omit rateLimit for the default of 50 reads/s, burst 100)")
          .optional()
          .describe("Backend reads per second, greater than 0. Defaults to 50."),
        burst: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe("Reads allowed at once above the rate. Defaults to 100."),
      })
      .optional()
      .describe(
        "A token bucket for the reads this store makes from its backend, shared by every ExternalSecret.",
      ),
    events: storeEventsSchema.optional(),
    retrySettings: retrySettingsSchema.optional(),
    refreshInterval: z
      .string()
      .regex(DURATION, "must be a duration like 1h, 5m or 30s (units h, m, s, ms)")
      .refine((v) => durationMs(v) > 0, "must be greater than 0 (omit it for the default, 5m)")
      .optional()
      .describe(
        "How often the controller validates the store again (login, path), as a duration such as 1h or 5m; greater than 0. Defaults to 5m.",
      ),
    conditions: z
      .array(
        z
          .strictObject({
            namespaces: z.array(z.string()).optional().describe("Namespaces allowed, by name."),
            namespaceSelector: namespaceSelector
              .optional()
              .describe("Namespaces allowed, by label (a Kubernetes label selector)."),
            namespaceRegexes: z
              .array(goRegexp)
              .optional()
              .describe(
                "Namespaces allowed, by regular expressions (Go's RE2 syntax) that match anywhere in the namespace's name: anchor with ^ and $ to match the whole name.",
              ),
          })
          .describe(
            "One condition: a namespace that its namespaces, namespaceSelector or namespaceRegexes match may use the store.",
          ),
      )
      .optional()
      .describe(
        "ClusterSecretStore only: the namespaces whose ExternalSecrets may use the store; any one condition suffices. Unset: every namespace.",
      ),
  })
  .describe("Where ExternalSecrets read from: one provider, and how fast.");

/** A SecretStore's spec as its CRD shows it: a SecretStore serves its own namespace, so no conditions. */
export const secretStoreSpecSchema = storeSpecSchema
  .omit({ conditions: true })
  .describe("Where the ExternalSecrets of this namespace read from: one provider, and how fast.");

/** A namespace's name, as the API server checks it (IsDNS1123Label). */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A ClusterExternalSecret's spec: ESO's ClusterExternalSecretSpec (external-secrets.io/v1). */
export const clusterExternalSecretSpecSchema = z
  .strictObject({
    externalSecretSpec: externalSecretSpecSchema.describe(
      "The spec of the ExternalSecret created in each selected namespace.",
    ),
    externalSecretName: z
      .string()
      .min(1)
      .max(253)
      .regex(DNS1123_SUBDOMAIN, DNS1123_SUBDOMAIN_MESSAGE)
      .optional()
      .describe("Name of the ExternalSecrets created. Defaults to the ClusterExternalSecret's name."),
    externalSecretMetadata: z
      .strictObject({
        labels: stringMap.optional().describe("Labels to put on each ExternalSecret."),
        annotations: stringMap.optional().describe("Annotations to put on each ExternalSecret."),
      })
      .optional()
      .describe("Labels and annotations of the ExternalSecrets created."),
    namespaceSelectors: z
      .array(namespaceSelector.describe("Namespaces by label (a Kubernetes label selector; {} selects all)."))
      .optional()
      .describe(
        "Namespaces to create the ExternalSecret in, by label; a namespace any one selector matches.",
      ),
    namespaces: z
      .array(
        z
          .string()
          .min(1)
          .max(63)
          .regex(DNS1123_LABEL, "must be a namespace name (lower case alphanumerics or '-')"),
      )
      .optional()
      .describe(
        "Namespaces to create the ExternalSecret in, by name, besides those namespaceSelectors select (deprecated in ESO in favour of namespaceSelectors).",
      ),
    refreshTime: z
      .string()
      .regex(
        REFRESH_INTERVAL,
        "must be a duration of at least 1s like 1h, 15m or 30s (units h, m, s; 0 disables periodic re-evaluation)",
      )
      .optional()
      .describe(
        "How often to select the namespaces again and restore their ExternalSecrets, besides on every change of a namespace or ExternalSecret; 0 only on changes. Defaults to 1h.",
      ),
  })
  .describe(
    "An ExternalSecret to create in every namespace that namespaceSelectors or namespaces select, kept in step and deleted from namespaces no longer selected.",
  );
