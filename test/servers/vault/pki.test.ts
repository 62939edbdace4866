// The Vault test server's PKI issue endpoint, driven by node-vault: a key
// and certificate signed by the mount's CA for the names asked, Vault's
// response fields, a lease only with generate_lease, and the policy check.
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { after, before, it } from "node:test";
import createVaultClient from "node-vault";
import { startVaultServer, type VaultTestServer } from "./index.ts";
import { PKI_ISSUE_FIELDS, type PkiEngine } from "./pki.ts";

let vault: VaultTestServer;
let pki: PkiEngine;
let issuer: string;

before(async () => {
  vault = await startVaultServer();
  pki = vault.root.mountPki("pki");
  vault.root.addPkiRole("example-dot-com", { ttl: 3600, maxTtl: 7200 });
  vault.root.addPkiRole("leased", { ttl: 600, generateLease: true });
  vault.root.writePolicy("issuer", [{ path: "pki/issue/example-dot-com", capabilities: ["update"] }]);
  issuer = vault.root.createToken({ policies: ["issuer"], ttl: 3600 });
});
after(() => vault.stop());

const client = (token: string) => createVaultClient({ endpoint: vault.url, token, debug: () => undefined });

interface IssueResponse {
  lease_id: string;
  lease_duration: number;
  renewable: boolean;
  data: Record<string, unknown>;
}

void it("issues a key and a certificate signed by the mount's CA, for the names asked", async () => {
  const answer = (await client(issuer).write("pki/issue/example-dot-com", {
    common_name: "localhost",
    ip_sans: "127.0.0.1,127.0.0.11",
  })) as IssueResponse;
  const data = answer.data;
  assert.deepEqual(Object.keys(data).sort(), PKI_ISSUE_FIELDS);
  assert.equal(answer.lease_id, "", "no lease without generate_lease, as Vault");
  assert.equal(answer.lease_duration, 0);
  const cert = new X509Certificate(String(data.certificate));
  const ca = new X509Certificate(String(data.issuing_ca));
  assert.equal(data.issuing_ca, pki.caPem().trim());
  assert.deepEqual(data.ca_chain, [data.issuing_ca]);
  assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), "signed by the mount's CA");
  assert.ok(cert.checkPrivateKey(createPrivateKey(String(data.private_key))), "the key matches");
  assert.equal(data.private_key_type, "rsa");
  assert.equal(cert.subject, "CN=localhost");
  assert.equal(cert.subjectAltName, "DNS:localhost, IP Address:127.0.0.1, IP Address:127.0.0.11");
  assert.match(String(data.serial_number), /^[0-9a-f]{2}(:[0-9a-f]{2}){19}$/);
  assert.equal(String(data.serial_number).replaceAll(":", "").toUpperCase(), cert.serialNumber);
  assert.equal(data.expiration, Math.floor(Date.parse(cert.validTo) / 1000));
  assert.deepEqual(pki.issued, [data.serial_number]);

  const again = (await client(issuer).write("pki/issue/example-dot-com", {
    common_name: "localhost",
    ttl: "3h",
  })) as IssueResponse;
  assert.notEqual(again.data.private_key, data.private_key, "a new key each time");
  const capped = new X509Certificate(String(again.data.certificate));
  const seconds = (Date.parse(capped.validTo) - Date.parse(capped.validFrom)) / 1000;
  assert.ok(seconds <= 7200 + 30 && seconds > 3600, `ttl capped at the role's max_ttl, got ${seconds}s`);
});

void it("leases the certificate (not renewable) when the role has generate_lease", async () => {
  const answer = (await client(vault.rootToken).write("pki/issue/leased", {
    common_name: "svc.example.com",
    alt_names: "a.example.com",
  })) as IssueResponse;
  assert.match(answer.lease_id, /^pki\/issue\/leased\//);
  assert.equal(answer.lease_duration, 600);
  assert.equal(answer.renewable, false);
  const lease = vault.root.leases().find((l) => l.id === answer.lease_id);
  assert.equal(lease?.live, true);
  assert.deepEqual(lease.data, { serial_number: answer.data.serial_number });
  const cert = new X509Certificate(String(answer.data.certificate));
  assert.equal(cert.subjectAltName, "DNS:svc.example.com, DNS:a.example.com");
});

void it("refuses what Vault refuses: no common_name, unknown role, no policy, a read", async () => {
  await assert.rejects(
    client(issuer).write("pki/issue/example-dot-com", {}),
    (err: Error & { response?: { statusCode: number } }) =>
      err.response?.statusCode === 400 && /common_name field is required/.test(err.message),
  );
  await assert.rejects(
    client(vault.rootToken).write("pki/issue/nope", { common_name: "x" }),
    (err: Error & { response?: { statusCode: number } }) =>
      err.response?.statusCode === 400 && /unknown role: nope/.test(err.message),
  );
  await assert.rejects(
    client(issuer).write("pki/issue/leased", { common_name: "x" }),
    (err: Error & { response?: { statusCode: number } }) => err.response?.statusCode === 403,
  );
  await assert.rejects(
    client(issuer).read("pki/issue/example-dot-com"),
    (err: Error & { response?: { statusCode: number } }) => err.response?.statusCode === 404,
  );
});
