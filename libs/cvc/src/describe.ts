/** A readable summary of a CVC or authenticated request, for CLIs and logs (public data only). */

import { toHex } from "@hsmkit/tlv";
import type { AuthenticatedRequest } from "./authenticated-request.ts";
import type { CvCertificate } from "./certificate.ts";
import { isCertificateRequest } from "./certificate.ts";
import { chatHolderType } from "./chat.ts";
import { ecCurveName } from "./ec-domain.ts";
import { bytesToBigInt } from "./encoding.ts";
import { oidName } from "./oid.ts";
import type { CvcPublicKey } from "./public-key.ts";

/** Plain-data summary; `toString()` renders it as indented text, `JSON.stringify` as JSON. */
export class CvcDescription {
  readonly type: "certificate" | "request" | "authenticated request";
  readonly fields: ReadonlyArray<readonly [string, string]>;

  constructor(type: CvcDescription["type"], fields: ReadonlyArray<readonly [string, string]>) {
    this.type = type;
    this.fields = fields;
  }

  toJSON(): Record<string, string> {
    return { type: this.type, ...Object.fromEntries(this.fields) };
  }

  toString(): string {
    const width = Math.max(...this.fields.map(([label]) => label.length));
    return [`CV ${this.type}`, ...this.fields.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join("\n");
  }
}

/** Describes a decoded certificate, request or authenticated request. */
export function describeCvc(target: CvCertificate | AuthenticatedRequest): CvcDescription {
  if (target.kind === "authenticated-request") {
    const inner = describeCertificateFields(target.request);
    return new CvcDescription("authenticated request", [
      ...inner,
      ["outer CAR", target.outerCar],
      ["outer signature", `${target.outerSignature.length} bytes`],
    ]);
  }
  return new CvcDescription(isCertificateRequest(target) ? "request" : "certificate", describeCertificateFields(target));
}

function describeCertificateFields(certificate: CvCertificate): Array<[string, string]> {
  const { body } = certificate;
  const fields: Array<[string, string]> = [];

  if (body.car !== undefined) fields.push(["CAR", body.car]);
  fields.push(["CHR", body.chr]);
  fields.push(...describePublicKey(body.publicKey));
  if (body.chat !== undefined) fields.push(["CHAT", `${oidName(body.chat.role)} ${chatHolderType(body.chat)}, rights ${toHex(body.chat.rights)}`]);
  if (body.effectiveDate !== undefined) fields.push(["effective", body.effectiveDate.toISOString().slice(0, 10)]);
  if (body.expirationDate !== undefined) fields.push(["expires", body.expirationDate.toISOString().slice(0, 10)]);
  for (const extension of body.extensions ?? []) {
    const objects = extension.objects.map((item) => `${item.tag.toString(16).toUpperCase()}=${toHex(item.value)}`).join(" ");
    fields.push(["extension", `${oidName(extension.oid)} ${objects}`.trim()]);
  }
  fields.push(["signature", `${certificate.signature.length} bytes`]);
  return fields;
}

function describePublicKey(key: CvcPublicKey): Array<[string, string]> {
  switch (key.kind) {
    case "rsa": {
      const bits = bytesToBigInt(key.modulus).toString(2).length;
      return [["public key", `RSA ${bits} bits, e = ${bytesToBigInt(key.exponent)}, ${oidName(key.oid)}`]];
    }
    case "ec": {
      const curve = key.domain === undefined ? "curve from issuer" : (ecCurveName(key.domain) ?? `${key.domain.p.toString(2).length}-bit curve`);
      return [
        ["public key", `EC ${curve}, ${oidName(key.oid)}`],
        ["point", toHex(key.point)],
      ];
    }
    default:
      return [
        ["public key", `${key.kind}, ${oidName(key.oid)}`],
        ["point", toHex(key.publicKey)],
      ];
  }
}
