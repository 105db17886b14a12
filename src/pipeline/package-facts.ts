/**
 * What the pipeline needs to route and account for a package, read once through the edXML
 * reader (which enforces the limits and validates the structure). The parse is kept, so that the
 * signature check runs on the very DOM the facts came from instead of parsing the bytes again.
 */
import type { Limits } from '../limits';
import { readParsedPackage } from '../edxml/reader';
import { parseXml, type ParsedXml } from '../edxml/safe-xml';
import type { EdxmlPackage } from '../edxml/model';

export interface PackageFacts {
  kind: 'edoc' | 'status';
  documentId: string;
  fromOrganId: string;
  /** edoc: every To/OrganId; status: the counterpart in ResponseFor/OrganId. */
  recipients: string[];
  statusCode?: string;
  package: EdxmlPackage;
  /** The parse of `parsedFrom` under `parsedWith` (attachment text left out of the DOM). */
  parsed?: ParsedXml;
  parsedFrom?: Buffer;
  parsedWith?: Limits;
}

export function readPackageFacts(bytes: Buffer, limits: Limits): PackageFacts {
  const parsed = parseXml(bytes, limits, { omitAttachmentText: true });
  const pkg = readParsedPackage(parsed, limits);
  const recipients = pkg.kind === 'edoc' ? [...new Set(pkg.to.map((t) => t.organId))] : [pkg.responseFor.organId];
  return {
    kind: pkg.kind,
    documentId: pkg.documentId,
    fromOrganId: pkg.from.organId,
    recipients,
    statusCode: pkg.kind === 'status' ? pkg.statusCode : undefined,
    package: pkg,
    parsed,
    parsedFrom: bytes,
    parsedWith: limits,
  };
}

/** The kept parse, when it is of exactly these bytes under these limits (else the caller parses). */
export function reusableParse(facts: PackageFacts | undefined, bytes: Buffer, limits: Limits): ParsedXml | undefined {
  if (!facts?.parsed || facts.parsedFrom !== bytes || !facts.parsedWith) return undefined;
  const same = facts.parsedWith === limits || (Object.keys(limits) as Array<keyof Limits>).every((k) => facts.parsedWith![k] === limits[k]);
  return same ? facts.parsed : undefined;
}
