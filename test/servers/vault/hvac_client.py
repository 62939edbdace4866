"""Drives the Vault protocol test server with hvac (Debian's python3-hvac).

Reads {"url", "token", "verify"?, "actions": [[name, *args], ...]} as JSON on stdin and
prints one JSON result per action: {"ok": <hvac's answer>} or
{"error": <hvac exception class>, "errors": [...]}; health answers carry the
HTTP status too. Used by hvac.test.ts; no value is ever printed elsewhere.
"""

import json
import sys

import hvac


def health(client, params):
    answer = client.sys.read_health_status(method="GET", **params)
    # hvac returns 200 answers as dicts and anything else as the raw response.
    if isinstance(answer, dict):
        return {"status": 200, "body": answer}
    return {"status": answer.status_code, "body": answer.json() if answer.content else None}


ACTIONS = {
    "kv2_read": lambda c, path, mount: c.secrets.kv.v2.read_secret_version(path=path, mount_point=mount),
    "kv1_read": lambda c, path, mount: c.secrets.kv.v1.read_secret(path=path, mount_point=mount),
    "read": lambda c, path: c.read(path),
    "lookup_self": lambda c: c.auth.token.lookup_self(),
    "renew_self": lambda c, increment: c.auth.token.renew_self(increment=increment),
    "health": health,
    "seal_status": lambda c: c.sys.read_seal_status(),
    "is_sealed": lambda c: c.sys.is_sealed(),
    "read_lease": lambda c, lease_id: c.sys.read_lease(lease_id=lease_id),
    "renew_lease": lambda c, lease_id, increment: c.sys.renew_lease(lease_id=lease_id, increment=increment),
    "pki_issue": lambda c, role, common_name, extra, mount: c.secrets.pki.generate_certificate(
        name=role, common_name=common_name, extra_params=extra, mount_point=mount
    ),
    "userpass_login": lambda c, user, password, mount: c.auth.userpass.login(
        username=user, password=password, mount_point=mount
    ),
    "ldap_login": lambda c, user, password, mount: c.auth.ldap.login(
        username=user, password=password, mount_point=mount
    ),
    # hvac signs sts:GetCallerIdentity with botocore for the region; Vault sends it to STS.
    "aws_iam_login": lambda c, access_key, secret_key, role, region, header, mount: c.auth.aws.iam_login(
        access_key, secret_key, header_value=header, role=role, region=region, mount_point=mount
    ),
    # Paths of PEM files: hvac presents the certificate in the TLS handshake (Vault's CA: "verify").
    "cert_login": lambda c, name, cert, key, mount: c.auth.cert.login(
        name=name, cert_pem=cert, key_pem=key, mount_point=mount
    ),
}


def main():
    request = json.load(sys.stdin)
    client = hvac.Client(url=request["url"], token=request["token"], verify=request.get("verify", True))
    results = []
    for name, *args in request["actions"]:
        try:
            results.append({"ok": ACTIONS[name](client, *args)})
        except hvac.exceptions.VaultError as error:
            results.append({"error": type(error).__name__, "errors": error.errors})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
