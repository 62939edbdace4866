/**
 * The fake provider: static data from the store spec or a local YAML file.
 * It is the store of the demo and of tests that need no backend, and it keeps
 * versions, so version pinning and inline-mode freshness can be shown.
 *
 *   spec.provider.fake:
 *     data:
 *       - key: team-a/db
 *         valueMap: { username: app, password: s3cret }   # structured secret
 *         version: "2"                                     # optional
 *       - key: team-a/token
 *         value: "opaque string or JSON document"          # blob secret
 *     file: ./demo-secrets.yaml   # optional: more entries, same shape as `data`
 *
 * A read without a version returns the last entry listed for the key; a read
 * with a version returns the entry with that version (entries without one are
 * numbered 1, 2, … in the order listed for their key). `write` adds a version.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { onFirstUse } from "../../api/on-first-use.ts";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import { parseProviderSpec } from "../spec.ts";
import type {
  FindQuery,
  ProviderClient,
  ProviderContext,
  ProviderFactory,
  ReadRequest,
  SecretValue,
  WriteResult,
} from "../types.ts";

const entrySchema = onFirstUse(() =>
  z
    .strictObject({
      key: z.string().min(1).describe("The secret's key, as remoteRef.key names it."),
      value: z.string().optional().describe("The secret as one string (or JSON document)."),
      valueMap: z
        .record(z.string(), z.unknown())
        .optional()
        .describe("The secret as a map of properties (any JSON values)."),
      version: z
        .union([z.string().min(1), z.number()])
        .optional()
        .describe("Its version (a string or number). Unset: 1, 2, … in the order listed for the key."),
      tags: z.record(z.string(), z.string()).optional().describe("Tags, for dataFrom.find."),
    })
    .refine(
      (e) => (e.value === undefined) !== (e.valueMap === undefined),
      "set exactly one of value and valueMap",
    )
    .describe("One version of one secret: set exactly one of value and valueMap."),
);

const specSchema = onFirstUse(() =>
  z
    .strictObject({
      data: z
        .array(entrySchema())
        .optional()
        .describe("The secrets; the last entry of a key is its current version."),
      file: z
        .string()
        .min(1)
        .optional()
        .describe("A YAML file of the controller's with more entries, shaped as data."),
    })
    .describe("Static secrets from the spec, for demos and tests."),
);

type Entry = z.output<ReturnType<typeof entrySchema>>;

interface Version {
  version: string;
  data: SecretValue["data"];
}

interface Secret {
  versions: Version[];
  tags: Record<string, string>;
}

function loadFile(file: string): Entry[] {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new InvalidSpecError(
      `spec.provider.fake.file: cannot read ${file}: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  const where = `fake.file(${file})`;
  if (Array.isArray(doc)) return parseProviderSpec(z.array(entrySchema()), doc, where);
  return parseProviderSpec(z.strictObject({ data: z.array(entrySchema()) }), doc, where).data;
}

function index(entries: Entry[]): Map<string, Secret> {
  const secrets = new Map<string, Secret>();
  for (const e of entries) {
    let secret = secrets.get(e.key);
    if (!secret) secrets.set(e.key, (secret = { versions: [], tags: {} }));
    const version = e.version === undefined ? String(secret.versions.length + 1) : String(e.version);
    secret.versions.push({ version, data: e.valueMap ?? e.value ?? "" });
    Object.assign(secret.tags, e.tags);
  }
  return secrets;
}

class FakeClient implements ProviderClient {
  readonly provider = "fake" as const;
  readonly #store: string;
  readonly #secrets: Map<string, Secret>;

  constructor(secrets: Map<string, Secret>, store: string) {
    this.#secrets = secrets;
    this.#store = store;
  }

  #find(request: ReadRequest): Version {
    if (request.metadata) {
      throw new InvalidSpecError(
        `${this.#store}: key "${request.key}": the fake provider holds no metadata (metadataPolicy Fetch)`,
      );
    }
    const versions = this.#secrets.get(request.key)?.versions ?? [];
    const found =
      request.version === undefined ? versions.at(-1) : versions.find((v) => v.version === request.version);
    if (!found) {
      const at = request.version === undefined ? "" : ` version "${request.version}"`;
      throw new SecretNotFoundError(`${this.#store}: key "${request.key}"${at} not found`);
    }
    return found;
  }

  async read(request: ReadRequest, signal?: AbortSignal): Promise<SecretValue> {
    signal?.throwIfAborted();
    const found = this.#find(request);
    // A copy, so a caller mutating what it read cannot change the store.
    return { data: structuredClone(found.data), version: found.version };
  }

  async list(query: FindQuery, signal?: AbortSignal): Promise<string[]> {
    signal?.throwIfAborted();
    const name = query.name ? new RegExp(query.name.regexp) : undefined;
    const keys = [...this.#secrets.entries()]
      .filter(([key, s]) => {
        if (query.path !== undefined && !key.startsWith(query.path)) return false;
        if (name && !name.test(key)) return false;
        return Object.entries(query.tags ?? {}).every(([k, v]) => s.tags[k] === v);
      })
      .map(([key]) => key);
    return keys.sort();
  }

  async currentVersion(request: ReadRequest, signal?: AbortSignal): Promise<string | undefined> {
    signal?.throwIfAborted();
    return this.#secrets.get(request.key)?.versions.at(-1)?.version;
  }

  async write(key: string, data: Record<string, string>, signal?: AbortSignal): Promise<WriteResult> {
    signal?.throwIfAborted();
    const secret = this.#secrets.get(key);
    const latest = secret?.versions.at(-1);
    if (latest && JSON.stringify(latest.data) === JSON.stringify(data)) {
      return { outcome: "unchanged", version: latest.version };
    }
    const target = secret ?? { versions: [], tags: {} };
    this.#secrets.set(key, target);
    const version = String(target.versions.length + 1);
    target.versions.push({ version, data: { ...data } });
    return { outcome: secret ? "updated" : "created", version };
  }

  validate(): Promise<{ status: "Ready" }> {
    return Promise.resolve({ status: "Ready" });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const fakeProvider: ProviderFactory = {
  name: "fake",
  specKey: "fake",
  specSchema,
  create(spec: unknown, context: ProviderContext): ProviderClient {
    const parsed = parseProviderSpec(specSchema(), spec ?? {}, "fake");
    const entries = [...(parsed.file === undefined ? [] : loadFile(parsed.file)), ...(parsed.data ?? [])];
    return new FakeClient(index(entries), context.storeName);
  },
};
