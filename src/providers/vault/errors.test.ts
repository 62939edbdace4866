import assert from "node:assert/strict";
import { test } from "node:test";
import { AccessDeniedError, InvalidSpecError } from "../../errors.ts";
import { toTypedError } from "./errors.ts";

const vaultError = (statusCode: number, errors: string[]) => ({ response: { statusCode, body: { errors } } });

void test("Vault's multierror text becomes one line: a policy denial, several errors", () => {
  const denied = toTypedError(
    vaultError(403, ["1 error occurred:\n\t* permission denied\n\n"]),
    "store: read x",
  );
  assert.ok(denied instanceof AccessDeniedError);
  assert.equal(denied.message, "store: read x: permission denied (403): permission denied");
  const several = toTypedError(
    vaultError(400, ["2 errors occurred:\n\t* missing role\n\t* bad\tjwt\n\n"]),
    "store: login",
  );
  assert.ok(several instanceof InvalidSpecError);
  assert.equal(several.message, "store: login: Vault rejected the request (400): missing role; bad jwt");
  const plain = toTypedError(vaultError(403, ["permission denied"]), "store: read x");
  assert.equal(plain.message, "store: read x: permission denied (403): permission denied");
});
