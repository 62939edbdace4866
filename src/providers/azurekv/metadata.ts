/**
 * ESO's `metadataPolicy: Fetch` on Azure Key Vault: an object's tags plus its
 * attributes (`attribute.created`, `attribute.updated`, `attribute.expires`,
 * `attribute.notBefore`, RFC 3339 in UTC, whole seconds), as ESO reads them.
 */
import { goMetadataJson } from "../extract.ts";
import type { SecretValue } from "../types.ts";

export interface AzureObjectProperties {
  tags?: Record<string, string>;
  createdOn?: Date;
  updatedOn?: Date;
  expiresOn?: Date;
  notBefore?: Date;
}

/** Go's time.Format(time.RFC3339) of a UTC time with whole seconds. */
const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * The metadata read of object `name`: its value is the JSON of tags and attributes; dataFrom.extract
 * reads ESO's flattened map instead (`NAME_TAG`, a tag holding a JSON object of strings as
 * `NAME_TAG_KEY` each, `NAME_attribute.created`…).
 */
export function azureMetadata(name: string, properties: AzureObjectProperties): SecretValue {
  const attributes: [string, Date | undefined][] = [
    ["attribute.expires", properties.expiresOn],
    ["attribute.created", properties.createdOn],
    ["attribute.updated", properties.updatedOn],
    ["attribute.notBefore", properties.notBefore],
  ];
  const tags = properties.tags ?? {};
  const all: Record<string, string> = { ...tags };
  const extract: Record<string, string> = {};
  for (const [tag, value] of Object.entries(tags)) {
    const flat = flatStrings(value);
    if (flat === undefined) extract[`${name}_${tag}`] = value;
    else for (const [k, v] of Object.entries(flat)) extract[`${name}_${tag}_${k}`] = v;
  }
  for (const [key, date] of attributes) {
    if (date === undefined) continue;
    all[key] = rfc3339(date);
    extract[`${name}_${key}`] = rfc3339(date);
  }
  return { data: goMetadataJson(all, true), metadata: { shape: "tags", escapeHtml: true, extract } };
}

/** A tag value that is a JSON object of strings (Go: json.Unmarshal into map[string]string); else undefined. */
function flatStrings(value: string): Record<string, string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (parsed === null) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
  const entries = Object.entries(parsed as Record<string, unknown>);
  return entries.every(([, v]) => typeof v === "string" || v === null)
    ? Object.fromEntries(entries.map(([k, v]) => [k, (v as string | null) ?? ""]))
    : undefined;
}
