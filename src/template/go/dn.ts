/**
 * A certificate's subject as Go's pkix.Name.String() writes it (RFC 2253
 * style, last RDN first). The sequence is: the attributes Go has no field
 * for (as `OID=#hex` of their DER), then Go's fields C, ST, L, STREET,
 * POSTALCODE, O, OU, CN, SERIALNUMBER, each field's values in one RDN
 * joined by "+"; so the string starts with SERIALNUMBER/CN and ends with the
 * unnamed attributes. go-pkcs12 names each trust-store entry with it.
 */
import type Forge from "node-forge";
import { forge } from "../forge.ts";

const NAMES: Record<string, string> = {
  "2.5.4.6": "C",
  "2.5.4.8": "ST",
  "2.5.4.7": "L",
  "2.5.4.9": "STREET",
  "2.5.4.17": "POSTALCODE",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.3": "CN",
  "2.5.4.5": "SERIALNUMBER",
};
const FIELD_ORDER = ["2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.9", "2.5.4.17", "2.5.4.10", "2.5.4.11"];

/** An attribute value as Go's parseASN1String reads it, as UTF-8 bytes (a binary string). */
function asnString(v: Forge.asn1.Asn1): string {
  const raw = v.value as string;
  // node-forge reads a BMPString's code units into the string; the others stay bytes
  return v.type === forge().asn1.Type.BMPSTRING ? Buffer.from(raw, "utf8").toString("latin1") : raw;
}

/** DER of a Go string marshalled by encoding/asn1: PrintableString if it can be, else UTF8String. */
function marshalString(bin: string): string {
  const printable = /^[A-Za-z0-9'()+,\-./:=? ]*$/.test(bin);
  const node = forge().asn1.create(
    forge().asn1.Class.UNIVERSAL,
    printable ? forge().asn1.Type.PRINTABLESTRING : forge().asn1.Type.UTF8,
    false,
    bin,
  );
  return forge().asn1.toDer(node).getBytes();
}

/** RFC 2253 escaping as Go does it, on the value's runes. */
function escape(bin: string): string {
  const runes = Buffer.from(bin, "latin1").toString("utf8");
  let out = "";
  let k = 0;
  const lastByte = bin.length - 1;
  for (const c of runes) {
    let esc = false;
    if (',+"\\<>;'.includes(c)) esc = true;
    else if (c === " ") esc = k === 0 || k === lastByte;
    else if (c === "#") esc = k === 0;
    out += (esc ? "\\" : "") + c;
    k += Buffer.byteLength(c);
  }
  return out;
}

/** pkix.Name.String() of a certificate (DER as a binary string), as UTF-8 text. */
export function subjectString(certDer: string): string {
  const tbs = (forge().asn1.fromDer(certDer).value as Forge.asn1.Asn1[])[0]!;
  const fields = tbs.value as Forge.asn1.Asn1[];
  const offset = fields[0]?.tagClass === forge().asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const subject = fields[offset + 4]!;
  const extra: [string, string][] = [];
  const byField = new Map<string, string[]>();
  let cn = "";
  let serial = "";
  for (const rdn of subject.value as Forge.asn1.Asn1[]) {
    for (const atv of rdn.value as Forge.asn1.Asn1[]) {
      const [type, value] = atv.value as Forge.asn1.Asn1[];
      const oid = forge().asn1.derToOid(type!.value as string);
      const s = asnString(value!);
      if (oid === "2.5.4.3") cn = s;
      else if (oid === "2.5.4.5") serial = s;
      else if (FIELD_ORDER.includes(oid)) byField.set(oid, [...(byField.get(oid) ?? []), s]);
      else extra.push([oid, s]);
    }
  }
  const rdns: string[] = extra.map(
    ([oid, s]) => `${oid}=#${Buffer.from(marshalString(s), "latin1").toString("hex")}`,
  );
  const rdn = (oid: string, values: string[]) => values.map((v) => `${NAMES[oid]}=${escape(v)}`).join("+");
  for (const oid of FIELD_ORDER) {
    const values = byField.get(oid);
    if (values?.length) rdns.push(rdn(oid, values));
  }
  if (cn) rdns.push(rdn("2.5.4.3", [cn]));
  if (serial) rdns.push(rdn("2.5.4.5", [serial]));
  return rdns.reverse().join(",");
}
