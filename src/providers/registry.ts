/**
 * Every provider, by the name references use (`ref+vault://`) and by the key
 * of its section in a store's `spec.provider`. Add a provider with one import
 * and one entry in `factories`.
 */
import type { StoreProviderSpec } from "../api/v1alpha1.ts";
import { InvalidSpecError } from "../errors.ts";
import { awsProvider } from "./aws/index.ts";
import { azureKvProvider } from "./azurekv/index.ts";
import { fakeProvider } from "./fake/index.ts";
import { gcpsmProvider } from "./gcpsm/index.ts";
import { kubernetesProvider } from "./kubernetes/index.ts";
import { vaultProvider } from "./vault/index.ts";
import type { ProviderClient, ProviderContext, ProviderFactory } from "./types.ts";
import type { ProviderName } from "../refs/reference.ts";

const factories: ProviderFactory[] = [
  fakeProvider,
  kubernetesProvider,
  awsProvider,
  vaultProvider,
  gcpsmProvider,
  azureKvProvider,
];

const byName = new Map<string, ProviderFactory>(factories.map((f) => [f.name, f]));
const bySpecKey = new Map<string, ProviderFactory>(factories.map((f) => [f.specKey, f]));

/** Every provider, e.g. for checks that must cover each one's spec. */
export function allProviders(): readonly ProviderFactory[] {
  return factories;
}

export function providerByName(name: ProviderName | string): ProviderFactory | undefined {
  return byName.get(name);
}

export function providerBySpecKey(specKey: string): ProviderFactory | undefined {
  return bySpecKey.get(specKey);
}

/** The factory for a store's `spec.provider`, which must set exactly one known key. */
export function providerForSpec(spec: StoreProviderSpec | undefined): {
  factory: ProviderFactory;
  spec: unknown;
} {
  const keys = Object.entries(spec ?? {})
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k]) => k);
  if (keys.length !== 1) {
    const known = [...bySpecKey.keys()].join(", ");
    throw new InvalidSpecError(
      `spec.provider: set exactly one of ${known} (found ${keys.length ? keys.join(", ") : "none"})`,
    );
  }
  const key = keys[0] as string;
  const factory = bySpecKey.get(key);
  if (!factory) throw new InvalidSpecError(`spec.provider.${key}: unknown provider`);
  return { factory, spec: (spec as Record<string, unknown>)[key] };
}

/** Builds a client for a store's `spec.provider`. */
export function createProviderClient(
  spec: StoreProviderSpec | undefined,
  context: ProviderContext,
): ProviderClient {
  const found = providerForSpec(spec);
  return found.factory.create(found.spec, context);
}
