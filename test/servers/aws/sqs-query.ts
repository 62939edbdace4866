// SQS in the query protocol (form-encoded `Action=<Op>&Version=2012-11-05`
// in, XML out), which SQS still serves and which clients from before its
// JSON protocol (November 2023) speak, Debian's AWS CLI 2.9 among them. The
// operations are those of sqs.ts; only the encoding differs.
import { AwsError } from "./errors.ts";
import { sqsQueryCode } from "./sqs.ts";

const NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/";

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

/** The operation and its input as sqs.ts takes them, from the form parameters. */
export function sqsQueryRequest(params: URLSearchParams): { operation: string; input: Input } {
  const operation = params.get("Action") ?? "";
  const input: Input = {};
  const attributeNames: string[] = [];
  for (const [name, value] of params) {
    if (name === "Action" || name === "Version") continue;
    if (/^(AttributeName|MessageSystemAttributeName)(\.\d+)?$/.test(name)) attributeNames.push(value);
    else if (/^(MaxNumberOfMessages|WaitTimeSeconds|VisibilityTimeout)$/.test(name))
      input[name] = integer(name, value);
    else input[name] = value;
  }
  if (attributeNames.length > 0) input["AttributeNames"] = attributeNames;
  return { operation, input };
}

/** `<OpResponse><OpResult>…</OpResult><ResponseMetadata/></OpResponse>`. */
export function sqsQueryResponse(operation: string, output: Output, requestId: string): string {
  const result = Object.entries(output)
    .map(([name, value]) => element(name, value))
    .join("");
  return (
    `<${operation}Response xmlns="${NAMESPACE}">` +
    (result === "" ? "" : `<${operation}Result>${result}</${operation}Result>`) +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`
  );
}

export function sqsQueryError(e: AwsError, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${e.status >= 500 ? "Receiver" : "Sender"}</Type>` +
    `<Code>${escape(sqsQueryCode(e.type))}</Code><Message>${escape(e.message)}</Message><Detail/></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

/** Lists flatten (`Messages` → `<Message>`…), attribute maps become `<Attribute><Name/><Value/></Attribute>`. */
function element(name: string, value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => element(name.replace(/s$/, ""), v)).join("");
  if (name === "Attributes" && typeof value === "object" && value !== null) {
    return Object.entries(value)
      .map(([k, v]) => `<Attribute><Name>${escape(k)}</Name><Value>${escape(String(v))}</Value></Attribute>`)
      .join("");
  }
  if (typeof value === "object" && value !== null) {
    const inner = Object.entries(value)
      .map(([k, v]) => element(k, v))
      .join("");
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escape(String(value))}</${name}>`;
}

function escape(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/\r/g, "&#xD;");
}

function integer(name: string, value: string): number {
  if (!/^-?\d+$/.test(value))
    throw new AwsError("InvalidParameterValue", `Value ${value} for parameter ${name} is invalid.`);
  return Number(value);
}
