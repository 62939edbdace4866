/**
 * Which keys of which Secrets a pod template reads, and how: env
 * `valueFrom.secretKeyRef` names one key; `envFrom` and a whole-Secret volume
 * read every key; a volume or projected source with `items` reads only those.
 * Env readers hold the value from container start, so only they go stale.
 */

/** Every key of the Secret. */
export const ALL_KEYS = "*";

export interface SecretUsage {
  /** Key names, or ALL_KEYS. */
  keys: Set<string>;
  /** Read through environment variables (fixed at container start). */
  env: boolean;
}

interface Container {
  env?: { name?: string; valueFrom?: { secretKeyRef?: { name?: string; key?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
}

interface SecretProjection {
  name?: string;
  secretName?: string;
  items?: { key: string; path?: string }[];
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: {
    name?: string;
    secret?: SecretProjection;
    projected?: { sources?: { secret?: SecretProjection }[] };
  }[];
}

/** Secret name → what the pod spec reads of it. */
export function secretUsage(spec: PodSpec | undefined): Map<string, SecretUsage> {
  const usage = new Map<string, SecretUsage>();
  const use = (name: string | undefined, keys: string[] | undefined, env: boolean) => {
    if (!name) return;
    const u = usage.get(name) ?? { keys: new Set<string>(), env: false };
    for (const k of keys ?? [ALL_KEYS]) u.keys.add(k);
    u.env ||= env;
    usage.set(name, u);
  };
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref?.key) use(ref.name, [ref.key], true);
    }
    for (const e of c.envFrom ?? []) use(e.secretRef?.name, undefined, true);
  }
  const itemKeys = (p: SecretProjection) => p.items?.map((i) => i.key);
  for (const v of spec?.volumes ?? []) {
    if (v.secret) use(v.secret.secretName, itemKeys(v.secret), false);
    for (const s of v.projected?.sources ?? []) if (s.secret) use(s.secret.name, itemKeys(s.secret), false);
  }
  return usage;
}

/** The changed keys this usage reads (all of them for a whole-Secret reader); `changed` undefined means every key changed. */
export function keysRead(usage: SecretUsage, changed: readonly string[] | undefined): string[] {
  if (changed === undefined) return usage.keys.has(ALL_KEYS) ? [ALL_KEYS] : [...usage.keys].sort();
  if (usage.keys.has(ALL_KEYS)) return [...changed];
  return changed.filter((k) => usage.keys.has(k));
}
