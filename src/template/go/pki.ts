/**
 * ESO's certificate and key functions (pkcs12key/cert and their Pass forms,
 * filterCertChain, rsaDecrypt), on template strings (bytes as a binary
 * string), as ESO's runtime/template/v2 does them. PKCS#12 archives are read
 * with node-forge (its PBES2, legacy PKCS#12 PBE and MAC support), keys and
 * certificates then re-read with node:crypto so that every key type ESO
 * reads (RSA, ECDSA, Ed25519) comes out as Go writes it.
 */
import {
  constants,
  createCipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  pbkdf2Sync,
  privateDecrypt,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import type Forge from "node-forge";
import { forge } from "../forge.ts";
import { TemplateFuncError } from "./errors.ts";
import { subjectString } from "./dn.ts";
import { pemDecode, pemEncode } from "./pem.ts";

const fail = (msg: string): never => {
  throw new TemplateFuncError(msg);
};

const OID_SKI = "2.5.29.14";
const OID_AKI = "2.5.29.35";

/** ESO's parsePrivateKey: PKCS #1, then PKCS #8, then SEC 1. */
function parsePrivateKey(der: Buffer): KeyObject {
  for (const type of ["pkcs1", "pkcs8", "sec1"] as const) {
    try {
      return createPrivateKey({ key: der, format: "der", type });
    } catch {
      // the next form
    }
  }
  return fail("unable to parse private key type");
}

/** rsaDecrypt SCHEME HASH ciphertext privateKeyPEM: RSA-OAEP (or None, the input as it is). */
export function rsaDecrypt(scheme: string, hash: string, input: string, privateKey: string): string {
  if (scheme === "None") return input;
  if (scheme !== "RSA-OAEP") return fail(`decryption scheme ${scheme} is not supported`);
  const [block] = pemDecode(privateKey);
  if (!block) return fail("failed to decode PEM block");
  let key: KeyObject;
  try {
    key = parsePrivateKey(Buffer.from(block.bytes, "latin1"));
  } catch (e) {
    return fail(`could not parse private key: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== "rsa") return fail("could not parse RSA private key");
  const oaepHash = hash === "SHA1" ? "sha1" : hash === "SHA512" ? "sha512" : "sha256";
  try {
    return privateDecrypt(
      { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
      Buffer.from(input, "latin1"),
    ).toString("latin1");
  } catch {
    return fail("error decrypting data with RSA: crypto/rsa: decryption error");
  }
}

interface Cert {
  raw: string;
  /** Key identifiers; undefined where the extension (or its keyIdentifier) is absent, as Go's nil. */
  aki: string | undefined;
  ski: string | undefined;
}

/** x509.ParseCertificate, as far as chain ordering needs it: the DER and its key identifiers. */
function parseCertificate(der: string): Cert {
  try {
    new X509Certificate(Buffer.from(der, "latin1"));
  } catch {
    return fail("x509: malformed certificate");
  }
  const tbs = (forge().asn1.fromDer(der).value as Forge.asn1.Asn1[])[0];
  const fields = (tbs?.value ?? []) as Forge.asn1.Asn1[];
  const extensions = fields.find((f) => f.tagClass === forge().asn1.Class.CONTEXT_SPECIFIC && f.type === 3);
  let aki: string | undefined;
  let ski: string | undefined;
  for (const ext of ((extensions?.value as Forge.asn1.Asn1[] | undefined)?.[0]?.value ??
    []) as Forge.asn1.Asn1[]) {
    const parts = ext.value as Forge.asn1.Asn1[];
    const oid = forge().asn1.derToOid(parts[0]?.value as string);
    const inner = forge().asn1.fromDer(parts[parts.length - 1]?.value as string);
    if (oid === OID_SKI) ski = inner.value as string;
    if (oid === OID_AKI) {
      const id = (inner.value as Forge.asn1.Asn1[]).find(
        (f) => f.tagClass === forge().asn1.Class.CONTEXT_SPECIFIC && f.type === 0,
      );
      if (id) aki = id.value as string;
    }
  }
  return { raw: der, aki, ski };
}

/** Go's bytes.Equal: nil and empty are equal. */
const sameId = (a: string | undefined, b: string | undefined): boolean => (a ?? "") === (b ?? "");

/** ESO's fetchX509CertChains: every PEM block a certificate, ordered leaf → intermediates → root by key identifiers. */
function orderChain(input: string): Cert[] {
  const nodes: { cert: Cert; parent?: number; isParent: boolean }[] = [];
  let rest = input;
  for (;;) {
    const [block, next] = pemDecode(rest);
    if (!block) break;
    rest = next;
    nodes.push({ cert: parseCertificate(block.bytes), isParent: false });
  }
  nodes.forEach((node, i) => {
    const j = nodes.findIndex((other, k) => k !== i && sameId(node.cert.aki, other.cert.ski));
    if (j >= 0) {
      nodes[j]!.isParent = true;
      node.parent = j;
    }
  });
  const leaves = nodes.flatMap((n, i) => (n.isParent ? [] : [i]));
  if (leaves.length > 1) return fail("found multiple leaf or disjunct certificates");
  if (leaves.length === 0) return fail("no leaf certificate found");
  const chain: Cert[] = [];
  for (let at: number | undefined = leaves[0]; at !== undefined; at = nodes[at]!.parent) {
    if (chain.length === nodes.length) return fail("constructing chain resulted in cycle");
    chain.push(nodes[at]!.cert);
  }
  return chain;
}

const isRoot = (c: Cert): boolean => c.aki === undefined || sameId(c.aki, c.ski);

/** filterCertChain leaf|intermediate|root: those certificates of an ordered chain, as PEM. */
export function filterCertChain(certType: string, input: string): string {
  const chain = orderChain(input);
  const first = chain[0]!;
  const last = chain[chain.length - 1]!;
  if (certType === "leaf")
    return first.aki !== undefined && !sameId(first.aki, first.ski)
      ? pemEncode("CERTIFICATE", first.raw)
      : "";
  if (certType === "intermediate") {
    let out = "";
    for (const c of chain.slice(1)) {
      if (isRoot(c)) break;
      out += pemEncode("CERTIFICATE", c.raw);
    }
    return out;
  }
  if (certType === "root") return isRoot(last) ? pemEncode("CERTIFICATE", last.raw) : "";
  return "";
}

/** go-pkcs12's DecodeChain: the one private key (PKCS #8 DER) and the certificates, in bag order. */
function decodeChain(input: string, password: string, what: string): { key: string; certs: string[] } {
  if (/[^\x20-\x7e]/.test(password))
    return fail(`${what}: passwords other than printable ASCII are not supported`);
  let p12: Forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge().pkcs12.pkcs12FromAsn1(forge().asn1.fromDer(input), false, password);
  } catch (e) {
    const message = (e as Error).message;
    return fail(
      `${what}: pkcs12: ${/MAC could not be verified|Invalid password|wrong password/i.test(message) ? "decryption password incorrect" : message}`,
    );
  }
  const keys: string[] = [];
  const certs: string[] = [];
  for (const contents of p12.safeContents) {
    for (const bag of contents.safeBags) {
      const asn1 = (bag as { asn1?: Forge.asn1.Asn1 }).asn1;
      if (bag.type === forge().pki.oids.certBag) {
        const cert = asn1 ?? (bag.cert ? forge().pki.certificateToAsn1(bag.cert) : undefined);
        if (cert) certs.push(forge().asn1.toDer(cert).getBytes());
      } else if (bag.type === forge().pki.oids.pkcs8ShroudedKeyBag || bag.type === forge().pki.oids.keyBag) {
        const key =
          asn1 ??
          (bag.key ? forge().pki.wrapRsaPrivateKey(forge().pki.privateKeyToAsn1(bag.key)) : undefined);
        if (key) keys.push(forge().asn1.toDer(key).getBytes());
      }
    }
  }
  if (keys.length > 1) return fail(`${what}: pkcs12: expected exactly one key bag`);
  if (keys.length === 0) return fail(`${what}: pkcs12: private key missing`);
  if (certs.length === 0) return fail(`${what}: pkcs12: certificate missing`);
  return { key: keys[0]!, certs };
}

/** pkcs12keyPass: the archive's private key as PKCS #8 PEM. */
export function pkcs12keyPass(password: string, input: string): string {
  const { key } = decodeChain(input, password, "unable to decode pkcs12 with password");
  const pem = parsePrivateKey(Buffer.from(key, "latin1")).export({ type: "pkcs8", format: "pem" });
  return pem.toString();
}

/** pkcs12certPass: the certificates as PEM, ordered leaf → root when they form one chain, else as stored. */
export function pkcs12certPass(password: string, input: string): string {
  const { certs } = decodeChain(input, password, "unable to decode pkcs12 certificate with password");
  const pem = certs.map((c) => pemEncode("CERTIFICATE", c)).join("");
  try {
    return orderChain(pem)
      .map((c) => pemEncode("CERTIFICATE", c.raw))
      .join("");
  } catch (e) {
    if (e instanceof TemplateFuncError) return pem;
    throw e;
  }
}

// ---- writing PKCS #12 archives as go-pkcs12's Modern encoder does

const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSHA256: "1.2.840.113549.2.9",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  sha256: "2.16.840.1.101.3.4.2.1",
  keyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  localKeyId: "1.2.840.113549.1.9.21",
  friendlyName: "1.2.840.113549.1.9.20",
  javaTrustStore: "2.16.840.1.113894.746875.1.1",
  anyExtendedKeyUsage: "2.5.29.37.0",
};
const ITERATIONS = 2048;
const seq = (...v: Forge.asn1.Asn1[]) =>
  forge().asn1.create(forge().asn1.Class.UNIVERSAL, forge().asn1.Type.SEQUENCE, true, v);
const set = (...v: Forge.asn1.Asn1[]) =>
  forge().asn1.create(forge().asn1.Class.UNIVERSAL, forge().asn1.Type.SET, true, v);
const oid = (o: string) =>
  forge().asn1.create(
    forge().asn1.Class.UNIVERSAL,
    forge().asn1.Type.OID,
    false,
    forge().asn1.oidToDer(o).getBytes(),
  );
const octets = (b: Buffer | string) =>
  forge().asn1.create(
    forge().asn1.Class.UNIVERSAL,
    forge().asn1.Type.OCTETSTRING,
    false,
    typeof b === "string" ? b : b.toString("latin1"),
  );
const int = (n: number) =>
  forge().asn1.create(
    forge().asn1.Class.UNIVERSAL,
    forge().asn1.Type.INTEGER,
    false,
    forge().asn1.integerToDer(n).getBytes(),
  );
const explicit = (v: Forge.asn1.Asn1) =>
  forge().asn1.create(forge().asn1.Class.CONTEXT_SPECIFIC, 0, true, [v]);
const der = (v: Forge.asn1.Asn1): Buffer => Buffer.from(forge().asn1.toDer(v).getBytes(), "latin1");

/**
 * Salts and IVs: go-pkcs12 draws them at random, so ESO writes a new archive at every refresh and
 * restarts its consumers. Here they are derived from the archive's contents (HMAC under a key the
 * inputs determine), so the archive changes only when the certificate, key or password does.
 */
function derived(seed: Buffer, label: string, size: number): Buffer {
  return createHmac("sha256", seed).update(label).digest().subarray(0, size);
}

/** PBES2 with PBKDF2-HMAC-SHA256 (2048 rounds) and AES-256-CBC: the AlgorithmIdentifier and the ciphertext. */
function pbes2(plain: Buffer, password: string, seed: Buffer, label: string): [Forge.asn1.Asn1, Buffer] {
  const salt = derived(seed, `${label} salt`, 16);
  const iv = derived(seed, `${label} iv`, 16);
  const key = pbkdf2Sync(Buffer.from(password, "latin1"), salt, ITERATIONS, 32, "sha256");
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  const algorithm = seq(
    oid(OID.pbes2),
    seq(
      seq(oid(OID.pbkdf2), seq(octets(salt), int(ITERATIONS), seq(oid(OID.hmacWithSHA256)))),
      seq(oid(OID.aes256Cbc), octets(iv)),
    ),
  );
  return [algorithm, encrypted];
}

const certBag = (c: Buffer, attributes: Forge.asn1.Asn1[]) => {
  const bag = [oid(OID.certBag), explicit(seq(oid(OID.x509Certificate), explicit(octets(c))))];
  // encoding/asn1 writes a SET OF sorted by the elements' DER, as X.690 asks
  const sorted = attributes.map(der).sort(Buffer.compare);
  if (sorted.length) bag.push(set(...sorted.map((a) => forge().asn1.fromDer(a.toString("latin1")))));
  return seq(...bag);
};

/** An EncryptedData ContentInfo holding the bags (PBES2). */
function encryptedBags(bags: Forge.asn1.Asn1[], password: string, seed: Buffer): Forge.asn1.Asn1 {
  const [alg, cipher] = pbes2(der(seq(...bags)), password, seed, "certificates");
  return seq(
    oid(OID.encryptedData),
    explicit(
      seq(
        int(0),
        seq(
          oid(OID.data),
          alg,
          forge().asn1.create(forge().asn1.Class.CONTEXT_SPECIFIC, 0, false, cipher.toString("latin1")),
        ),
      ),
    ),
  );
}

/** The PFX of an AuthenticatedSafe with its HMAC-SHA-256 MAC, base64-encoded. */
function pfxWithMac(contents: Forge.asn1.Asn1[], password: string, seed: Buffer): string {
  const authSafe = der(seq(...contents));
  const macSalt = derived(seed, "mac salt", 16);
  const saltBuffer = forge().util.createBuffer(macSalt.toString("latin1"));
  const macKey = forge().pkcs12.generateKey(
    password,
    saltBuffer,
    3,
    ITERATIONS,
    32,
    forge().md.sha256.create(),
  );
  const mac = createHmac("sha256", Buffer.from(macKey.getBytes(), "latin1")).update(authSafe).digest();
  const pfx = seq(
    int(3),
    seq(oid(OID.data), explicit(octets(authSafe))),
    seq(seq(seq(oid(OID.sha256)), octets(mac)), octets(macSalt), int(ITERATIONS)),
  );
  return der(pfx).toString("base64");
}

const seedOf = (parts: Buffer[], password: string) => {
  const h = createHash("sha256").update("refsync pkcs12\0");
  for (const p of parts) h.update(p);
  return h.update(password, "latin1").digest();
};

/** go-pkcs12 Modern.Encode: the archive, base64-encoded. */
function encodePkcs12(key: Buffer, certs: Buffer[], password: string): string {
  const seed = seedOf([key, Buffer.concat(certs)], password);
  const leafId = createHash("sha1")
    .update(certs[0] ?? "")
    .digest();
  const localKeyId = (id: Buffer) => set(seq(oid(OID.localKeyId), set(octets(id))));
  const certBags = certs.map((c, i) =>
    certBag(c, i === 0 ? [seq(oid(OID.localKeyId), set(octets(leafId)))] : []),
  );
  const contents = [encryptedBags(certBags, password, seed)];
  const [keyAlg, keyCipher] = pbes2(key, password, seed, "key");
  const keyBag = seq(oid(OID.keyBag), explicit(seq(keyAlg, octets(keyCipher))), localKeyId(leafId));
  contents.push(seq(oid(OID.data), explicit(octets(der(seq(keyBag))))));
  return pfxWithMac(contents, password, seed);
}

/** go-pkcs12's bmpString (UCS-2; node-forge writes a BMPString's UTF-16 code units big-endian). */
function bmpString(text: string): string {
  for (const ch of text)
    if (ch.codePointAt(0)! > 0xffff)
      fail("pkcs12: string contains characters that cannot be encoded in UCS-2");
  return text;
}

/**
 * go-pkcs12 Modern.EncodeTrustStore: one encrypted SafeContents of
 * certificate bags, each marked trusted for any purpose (the Java trust
 * store attribute) and named by its subject, base64-encoded.
 */
function encodeTrustStore(certs: Buffer[], password: string): string {
  const seed = seedOf([Buffer.from("truststore"), ...certs], password);
  const bags = certs.map((c) =>
    certBag(c, [
      seq(oid(OID.javaTrustStore), set(oid(OID.anyExtendedKeyUsage))),
      seq(
        oid(OID.friendlyName),
        set(
          forge().asn1.create(
            forge().asn1.Class.UNIVERSAL,
            forge().asn1.Type.BMPSTRING,
            false,
            bmpString(subjectString(c.toString("latin1"))),
          ),
        ),
      ),
    ]),
  );
  return pfxWithMac([encryptedBags(bags, password, seed)], password, seed);
}

/** Every PEM block of `input` as a certificate's DER (Go's parseCaCerts: anything else is an error). */
function certificates(input: string): Buffer[] {
  const out: Buffer[] = [];
  let rest = input;
  while (rest.length > 0) {
    const [block, next] = pemDecode(rest);
    if (!block) return fail("failed to decode PEM block");
    parseCertificate(block.bytes);
    out.push(Buffer.from(block.bytes, "latin1"));
    rest = next;
  }
  return out;
}

function firstBlock(input: string): Buffer {
  const [block] = pemDecode(input);
  return block ? Buffer.from(block.bytes, "latin1") : fail("failed to decode PEM block");
}

/** The key as Go's x509.MarshalPKCS8PrivateKey writes it. */
function pkcs8(keyPem: string): Buffer {
  return parsePrivateKey(firstBlock(keyPem)).export({ type: "pkcs8", format: "der" });
}

function checkPassword(password: string): void {
  if (/[^\x20-\x7e]/.test(password)) fail("passwords other than printable ASCII are not supported");
}

/** pemToPkcs12Pass cert key password: the first certificate and the key. */
export function pemToPkcs12Pass(cert: string, key: string, password: string): string {
  checkPassword(password);
  const leaf = firstBlock(cert);
  parseCertificate(leaf.toString("latin1"));
  return encodePkcs12(pkcs8(key), [leaf], password);
}

/** fullPemToPkcs12Pass cert key password: the first certificate, the key, and the rest of the chain. */
export function fullPemToPkcs12Pass(cert: string, key: string, password: string): string {
  checkPassword(password);
  const [leaf] = pemDecode(cert);
  if (!leaf) return fail("failed to decode PEM block");
  parseCertificate(leaf.bytes);
  const rest = pemDecode(cert)[1];
  return encodePkcs12(pkcs8(key), [Buffer.from(leaf.bytes, "latin1"), ...certificates(rest)], password);
}

/** pemTruststoreToPKCS12Pass certs password: every certificate of the PEM bundle as a Java trust store. */
export function pemTruststoreToPKCS12Pass(cert: string, password: string): string {
  checkPassword(password);
  return encodeTrustStore(certificates(cert), password);
}
