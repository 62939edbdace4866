/** An AWS error response: the `__type` (JSON protocols) or `Code` (query protocol), HTTP status and message. */
export class AwsError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

export const notFound = (what = "secret"): AwsError =>
  new AwsError("ResourceNotFoundException", `Secrets Manager can't find the specified ${what}.`);

export const invalidParameter = (message: string): AwsError =>
  new AwsError("InvalidParameterException", message);
