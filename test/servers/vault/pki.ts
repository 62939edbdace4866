/**
 * The PKI secrets engine's issue endpoint (`POST /v1/<mount>/issue/<role>`),
 * as Vault documents it: a new RSA key and an X.509 certificate for the
 * request's common_name, alt_names and ip_sans, signed by the mount's own CA
 * (made on first use), answered with certificate, issuing_ca, ca_chain,
 * private_key, private_key_type, serial_number and expiration. A role with
 * generate_lease (Vault's default: false) also gets a lease for the
 * certificate's TTL, not renewable, as Vault makes it; without it the answer
 * has no lease_id and lease_duration 0. This is the endpoint ESO's
 * VaultDynamicSecret snippet calls.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import type Forge from "node-forge";
import { badRequest } from "./http-error.ts";

const forge = createRequire(import.meta.url)("node-forge") as typeof Forge;

export interface PkiRole {
  /** The certificate's TTL in seconds, when the request sets none. */
  ttl: number;
  /** The longest TTL a request may ask for (Vault caps, it does not refuse); unset: ttl. */
  maxTtl?: number;
  /** Vault's generate_lease: issue a lease with the certificate. */
  generateLease?: boolean;
}

/** The fields of an issue answer's data, sorted (what a Secret filled from it holds). */
export const PKI_ISSUE_FIELDS = [
  "ca_chain",
  "certificate",
  "expiration",
  "issuing_ca",
  "private_key",
  "private_key_type",
  "serial_number",
];

export interface IssuedCertificate {
  data: {
    certificate: string;
    issuing_ca: string;
    ca_chain: string[];
    private_key: string;
    private_key_type: "rsa";
    serial_number: string;
    expiration: number;
  };
  /** Seconds the certificate is valid for (the lease's duration, with generate_lease). */
  ttl: number;
}

interface Ca {
  certificate: Forge.pki.Certificate;
  key: Forge.pki.rsa.PrivateKey;
  pem: string;
}

function rsaKey(): { pem: string; key: Forge.pki.rsa.PrivateKey; publicKey: Forge.pki.rsa.PublicKey } {
  // node:crypto makes the key (native, fast); node-forge builds and signs the certificates.
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }) as string;
  const key = forge.pki.privateKeyFromPem(pem) as Forge.pki.rsa.PrivateKey;
  return { pem, key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

/** A positive serial (first byte below 0x80) as hex, and as Vault prints it: colon-separated pairs. */
function newSerial(): { hex: string; vault: string } {
  const bytes = randomBytes(20);
  bytes[0] = bytes[0]! & 0x7f;
  const hex = bytes.toString("hex");
  return { hex, vault: hex.match(/../g)!.join(":") };
}

/** A comma-separated list parameter (alt_names, ip_sans), or its JSON array form. */
function listField(body: Record<string, unknown>, field: string): string[] {
  const value = body[field];
  if (value === undefined || value === null || value === "") return [];
  const items = Array.isArray(value)
    ? value.map(String)
    : typeof value === "string"
      ? value.split(",")
      : null;
  if (items === null) throw badRequest(`error parsing ${field}: not a list`);
  return items.map((item) => item.trim()).filter((item) => item !== "");
}

export class PkiEngine {
  readonly roles = new Map<string, PkiRole>();
  private ca: Ca | undefined;
  /** Serial numbers issued so far (Vault's colon form), for assertions. */
  readonly issued: string[] = [];

  /** The mount's CA certificate (PEM), made on first use. */
  caPem(): string {
    return this.authority().pem;
  }

  private authority(): Ca {
    if (this.ca) return this.ca;
    const { key, publicKey } = rsaKey();
    const certificate = forge.pki.createCertificate();
    certificate.publicKey = publicKey;
    certificate.serialNumber = newSerial().hex;
    certificate.validity.notBefore = new Date(Date.now() - 60_000);
    certificate.validity.notAfter = new Date(Date.now() + 86_400_000);
    const subject = [{ name: "commonName", value: "refsync-vault-test-pki" }];
    certificate.setSubject(subject);
    certificate.setIssuer(subject);
    certificate.setExtensions([
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    ]);
    certificate.sign(key, forge.md.sha256.create());
    this.ca = { certificate, key, pem: forge.pki.certificateToPem(certificate) };
    return this.ca;
  }

  /** A new key and certificate for `role`, from the request body of pki/issue/<role>. */
  issue(roleName: string, body: Record<string, unknown>, ttlSeconds: number | undefined): IssuedCertificate {
    const role = this.roles.get(roleName);
    if (!role) throw badRequest(`unknown role: ${roleName}`);
    const commonName = typeof body.common_name === "string" ? body.common_name : "";
    if (commonName === "")
      throw badRequest(
        'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false',
      );
    const ttl = Math.min(ttlSeconds ?? role.ttl, role.maxTtl ?? role.ttl);
    const ca = this.authority();
    const { pem, publicKey } = rsaKey();
    const serial = newSerial();
    const certificate = forge.pki.createCertificate();
    certificate.publicKey = publicKey;
    certificate.serialNumber = serial.hex;
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 30_000);
    const notAfter = new Date(notBefore.getTime() + 30_000 + ttl * 1000);
    certificate.validity.notBefore = notBefore;
    certificate.validity.notAfter = notAfter;
    certificate.setSubject([{ name: "commonName", value: commonName }]);
    certificate.setIssuer(ca.certificate.subject.attributes);
    const dnsNames = [commonName, ...listField(body, "alt_names")];
    const ips = listField(body, "ip_sans");
    certificate.setExtensions([
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true, clientAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          ...[...new Set(dnsNames)].map((value) => ({ type: 2, value })),
          ...ips.map((ip) => ({ type: 7, ip })),
        ],
      },
    ]);
    certificate.sign(ca.key, forge.md.sha256.create());
    this.issued.push(serial.vault);
    return {
      data: {
        certificate: forge.pki.certificateToPem(certificate).trim(),
        issuing_ca: ca.pem.trim(),
        ca_chain: [ca.pem.trim()],
        private_key: pem.trim(),
        private_key_type: "rsa",
        serial_number: serial.vault,
        expiration: Math.floor(notAfter.getTime() / 1000),
      },
      ttl,
    };
  }
}
