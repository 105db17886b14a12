/**
 * What the pipeline needs to route and account for a package, read once through the edXML
 * reader (which enforces the limits and validates the structure). The parse is kept, so that the
 * signature check runs on the very DOM the facts came from instead of parsing the bytes again.
 */
import type { Limits } from '../limits';
import { readParsedPackage } from '../edxml/reader';
import { parseXml, type ParsedXml } from '../edxml/safe-xml';
import type { EdxmlPackage } from '../edxml/model';
import { readSpooledPackage, type SpooledPackage } from '../edxml/spooled-package';

export interface PackageFacts {
  kind: 'edoc' | 'status';
  documentId: string;
  fromOrganId: string;
  /** edoc: every To/OrganId; status: the counterpart in ResponseFor/OrganId. */
  recipients: string[];
  statusCode?: string;
  package: EdxmlPackage;
  /**
   * The package's one reading (src/edxml/xml-encoding.ts): the bytes read, or their UTF-8
   * transcoding when they were UTF-16. What is verified, signed and delivered. In memory only.
   */
  bytes?: Buffer;
  /** The parse of `parsedFrom` under `parsedWith` (attachment text left out of the DOM). */
  parsed?: ParsedXml;
  parsedFrom?: Buffer;
  parsedWith?: Limits;
  /** A large package read from its file; `parsed` is then the parse of its skeleton. */
  spooled?: SpooledPackage;
}

export function readPackageFacts(bytes: Buffer, limits: Limits): PackageFacts {
  const parsed = parseXml(bytes, limits, { omitAttachmentText: true });
  // A transcoded package parses to the same DOM as its transcoding: the parse is of those bytes too.
  const reading = parsed.scan.transcodedFrom ? parsed.scan.bytes : bytes;
  return { ...factsOf(parsed, limits), bytes: reading, parsedFrom: reading, parsedWith: limits };
}

/** The same for a large package in a file: memory does not grow with its size (src/edxml/spooled-package.ts). */
export async function readSpooledPackageFacts(path: string, limits: Limits): Promise<PackageFacts & { spooled: SpooledPackage }> {
  const spooled = await readSpooledPackage(path, limits);
  return { ...factsOf(spooled.parsed, limits), parsedWith: limits, spooled };
}

function factsOf(parsed: ParsedXml, limits: Limits): PackageFacts {
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
  };
}

/**
 * The kept parse, when it is of exactly these bytes under these limits (else the caller parses).
 * A spooled package has no bytes in memory to parse again: its parse, of its file, is the one.
 */
export function reusableParse(facts: PackageFacts | undefined, bytes: Buffer, limits: Limits): ParsedXml | undefined {
  if (facts?.spooled) return facts.parsed;
  if (!facts?.parsed || facts.parsedFrom !== bytes || !facts.parsedWith) return undefined;
  const same = facts.parsedWith === limits || (Object.keys(limits) as Array<keyof Limits>).every((k) => facts.parsedWith![k] === limits[k]);
  return same ? facts.parsed : undefined;
}
