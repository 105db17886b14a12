/**
 * Where the signature-relevant parts of an edXML package sit, read straight from the DOM by local
 * name (SPEC §3, §8) so that signatures do not depend on the edXML reader: the header the
 * signature belongs in, the sender's OrganId it must be bound to, every XMLDSig `Signature`
 * anywhere in the document, and the field's placeholder signatures.
 */
import type { Document, Element, Node } from '@xmldom/xmldom';
import { Rejection } from '../errors';
import { DSIG_NS } from './algorithms';

/**
 * The values every SDK-made sample carries (SPEC §8): identical across different content, so
 * they sign nothing. A `Signature` carrying them is the placeholder even in the XMLDSig namespace.
 */
const PLACEHOLDER_DIGEST_VALUE = 'FwgIqsSYJshUS2+wlOM61L+q7Aw=';
const PLACEHOLDER_CERTIFICATE = 'MIIFqTCCBJG';
const PLACEHOLDER_SIGNATURE_VALUE =
  'GbVb8n9+qFxz466Ag0sbpVdLPs2R0+9JBekp12UyarAZjoG0W/kPZZJ1auRZDcNcrSwzgkQMpqrjwxcy3ejzbY/ON5USUPgoYNYM8p4wsgQpEAeQaZ+EWLkkEBxYjb+iWEiAjYuJI7gtJoOyENcOK4fO050SXp2ctOc32LJMA5eEI6Hw7sxhc2LAgcPiynJHdDW2Z+eut6QZiUsbIF9+S3T6u/tfLImw39dgSlCxupwLPHepxuiLOqyd08HeJGCZufg9WqRBVyLFM76uCIaPRP5wwAdx72GVjPcG2kh+2jjrt7fqtJOufJzCObtQgPgBqIvDiZCGoOM41OQMiqtF3w==';
const PLACEHOLDER_VALUES: Readonly<Record<string, string>> = {
  DigestValue: PLACEHOLDER_DIGEST_VALUE,
  X509Certificate: PLACEHOLDER_CERTIFICATE,
  SignatureValue: PLACEHOLDER_SIGNATURE_VALUE,
};

export interface PackageLayout {
  header: Element | undefined;
  /** `From/OrganId` of the MessageHeader, trimmed; undefined when the package names none. */
  senderOrganId: string | undefined;
  /** XMLDSig signatures that could be real, anywhere in the document. */
  signatures: Element[];
  /** Header children that stand where a signature would: the SDK placeholder, `DigitalSignature`. */
  placeholders: Element[];
}

export function elementChildren(parent: Node, localName?: string, namespace?: string): Element[] {
  const out: Element[] = [];
  for (let child = parent.firstChild; child; child = child.nextSibling) {
    if (child.nodeType !== child.ELEMENT_NODE) continue;
    const el = child as Element;
    if (localName !== undefined && el.localName !== localName) continue;
    if (namespace !== undefined && el.namespaceURI !== namespace) continue;
    out.push(el);
  }
  return out;
}

/** Text content without comments or processing instructions: what canonical XML keeps. */
export function textOf(element: Element): string {
  let text = '';
  for (let child = element.firstChild; child; child = child.nextSibling) {
    if (child.nodeType === child.TEXT_NODE || child.nodeType === child.CDATA_SECTION_NODE) text += (child as unknown as { data: string }).data;
    else if (child.nodeType === child.ELEMENT_NODE) text += textOf(child as Element);
  }
  return text;
}

/** The single child by local name, undefined when absent; two of them make the package ambiguous. */
function onlyChild(parent: Element | undefined, localName: string, path: string): Element | undefined {
  if (!parent) return undefined;
  const found = elementChildren(parent, localName);
  if (found.length > 1) throw new Rejection('invalid-edxml', `${path}/${localName} appears ${found.length} times`);
  return found[0];
}

export function locatePackage(doc: Document): PackageLayout {
  const root = doc.documentElement ?? undefined;
  const envelope = onlyChild(root, 'edXMLEnvelope', 'edXML');
  const header = onlyChild(envelope, 'edXMLHeader', 'edXML/edXMLEnvelope');
  const messageHeader = onlyChild(header, 'MessageHeader', 'edXMLHeader');
  const from = onlyChild(messageHeader, 'From', 'MessageHeader');
  const organIdElement = onlyChild(from, 'OrganId', 'From');
  const organId = organIdElement ? textOf(organIdElement).trim() : '';

  const signatures: Element[] = [];
  const placeholders: Element[] = [];
  const all = doc.getElementsByTagNameNS(DSIG_NS, 'Signature');
  for (let i = 0; i < all.length; i++) {
    const sig = all.item(i)!;
    (isPlaceholderValues(sig) ? placeholders : signatures).push(sig);
  }
  if (header) {
    for (const child of elementChildren(header)) {
      const sdkStyle = child.localName === 'Signature' && child.namespaceURI !== DSIG_NS;
      if (sdkStyle || child.localName === 'DigitalSignature') placeholders.push(child);
    }
  }
  return { header, senderOrganId: organId === '' ? undefined : organId, signatures, placeholders };
}

function isPlaceholderValues(sig: Element): boolean {
  for (const [name, placeholder] of Object.entries(PLACEHOLDER_VALUES)) {
    const found = sig.getElementsByTagNameNS(DSIG_NS, name);
    for (let i = 0; i < found.length; i++) {
      if (textOf(found.item(i)!).replace(/\s+/g, '') === placeholder) return true;
    }
  }
  return false;
}

export function isLastElementChild(element: Element): boolean {
  for (let next = element.nextSibling; next; next = next.nextSibling) {
    if (next.nodeType === next.ELEMENT_NODE) return false;
  }
  return true;
}
