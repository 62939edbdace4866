/**
 * Attribution at the backend: what refsync tells a backend about itself and
 * whom a call is for, so the backend's own audit log (CloudTrail, a Vault
 * audit device) can be joined with refsync's audit stream (docs/audit.md).
 */
import { createRequire } from "node:module";

/** refsync's version (src/providers/ and dist/providers/ are both two levels below package.json). */
export const REFSYNC_VERSION = (createRequire(import.meta.url)("../../package.json") as { version: string })
  .version;

/** The header a Vault audit device can be told to log (sys/config/auditing/request-headers). */
export const SUBJECT_HEADER = "X-Refsync-Subject";

/** `refsync/<version> ns/<namespace>`: the AWS user-agent suffix and the Vault subject header. */
export function attribution(namespace: string | undefined): string {
  return `refsync/${REFSYNC_VERSION}${namespace ? ` ns/${namespace.replace(/[^\w.-]/g, "-")}` : ""}`;
}

/** The AWS SDK's customUserAgent pairs for the same. */
export function awsUserAgent(namespace: string | undefined): [string, string][] {
  return [
    ["refsync", REFSYNC_VERSION],
    ...(namespace ? [["ns", namespace.replace(/[^\w.-]/g, "-")] as [string, string]] : []),
  ];
}

/**
 * ` es/ns/a es/ns/b…`: whom the call serves (ProviderContext.subject), characters outside
 * header-safe ones replaced, cut to at most `room` characters with ` +N more`.
 */
export function subjectSuffix(subjects: readonly string[], room: number): string {
  let out = "";
  for (const [i, s] of subjects.entries()) {
    const next = ` ${s.replace(/[^\w./:-]/g, "-")}`;
    const more = ` +${subjects.length - i} more`;
    if (out.length + next.length > room - more.length) return out + more;
    out += next;
  }
  return out;
}
