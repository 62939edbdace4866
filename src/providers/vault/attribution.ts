/**
 * Attribution of Vault requests: every request carries X-Refsync-Subject
 * (refsync's version, the acting namespace and whom the call serves), which a
 * Vault audit device logs once told to (sys/config/auditing/request-headers),
 * and every response that names a token accessor (a login, a renewal) tells
 * the session which token it now uses and the request id that issued it,
 * for the audit record.
 *
 * node-vault builds each request's options from one shared `requestOptions`
 * object and sets headers on it in place, so a per-call header is never put
 * there: each request gets its own copy of the options and of the headers.
 */
import type NodeVault from "node-vault";
import { attribution, SUBJECT_HEADER, subjectSuffix } from "../attribution.ts";
import type { ProviderContext } from "../types.ts";

/** Longest header value sent; a long list of subjects is cut and says how many were left out. */
const MAX_HEADER = 1024;

/** `refsync/<v> ns/<namespace> es/<ns>/<name>…`: whom the request under way is for. */
export function subjectHeader(context: Pick<ProviderContext, "namespace" | "subject">): string {
  const head = attribution(context.namespace);
  return head + subjectSuffix(context.subject?.() ?? [], MAX_HEADER - head.length);
}

/**
 * Sends X-Refsync-Subject with every request of `client`, computed when the
 * request is made (so concurrent calls each name their own subjects), and
 * reports the token accessor and request id of responses that carry an
 * `auth` block (a login, a token renewal).
 */
export function attributeRequests(
  client: NodeVault.client,
  context: () => Pick<ProviderContext, "namespace" | "subject">,
  onAuth: (auth: { accessor: string; requestId?: string }) => void,
): void {
  const send = client.request.bind(client);
  client.request = async (options: NodeVault.RequestOption) => {
    const headers = { ...(options.headers as Record<string, string> | undefined) };
    headers[SUBJECT_HEADER] = subjectHeader(context());
    const response = (await send({ ...options, headers })) as {
      request_id?: unknown;
      auth?: { accessor?: unknown };
    } | null;
    const accessor = response?.auth?.accessor;
    if (typeof accessor === "string" && accessor) {
      const requestId = response?.request_id;
      onAuth({ accessor, ...(typeof requestId === "string" && requestId && { requestId }) });
    }
    return response;
  };
}
