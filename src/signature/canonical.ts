/**
 * Canonicalization on the one DOM the package was parsed into, with xml-crypto's C14N 1.0 and
 * exclusive C14N implementations. Calling them directly (rather than `SignedXml.checkSignature`,
 * which re-parses the document from a string and then clones it) is what keeps verification to a
 * single parse of the package.
 */
import type { Element, Node } from '@xmldom/xmldom';
import { C14nCanonicalization, ExclusiveCanonicalization } from 'xml-crypto';
import { C14N_EXCLUSIVE, C14N_INCLUSIVE } from './algorithms';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface NamespaceBinding {
  prefix: string;
  namespaceURI: string;
}

/**
 * Namespace declarations in scope at `element` that its own attributes do not redeclare, nearest
 * ancestor first, undeclarations dropped: what inclusive C14N of a subtree must import.
 */
export function inheritedNamespaces(element: Element): NamespaceBinding[] {
  const declaredHere = new Set<string>([element.prefix ?? '']);
  for (const attr of Array.from(element.attributes)) {
    if (attr.namespaceURI === XMLNS_NS) declaredHere.add(attr.prefix ? attr.localName ?? '' : '');
  }
  const seen = new Set<string>();
  const result: NamespaceBinding[] = [];
  for (let node = element.parentNode as Node | null; node && node.nodeType === node.ELEMENT_NODE; node = node.parentNode) {
    for (const attr of Array.from((node as Element).attributes)) {
      if (attr.namespaceURI !== XMLNS_NS) continue;
      const prefix = attr.prefix ? attr.localName ?? '' : '';
      if (seen.has(prefix)) continue;
      seen.add(prefix);
      if (attr.value !== '' && !declaredHere.has(prefix)) result.push({ prefix, namespaceURI: attr.value });
    }
  }
  return result;
}

/**
 * Canonical form of `element` under `algorithm` (inclusive or exclusive C14N 1.0, comments
 * dropped). `ancestors` are the in-scope declarations to import (inclusive) or to draw the
 * InclusiveNamespaces PrefixList from (exclusive).
 */
export function canonicalize(
  element: Element,
  algorithm: string,
  ancestors: NamespaceBinding[] = [],
  inclusivePrefixes: string[] = [],
): string {
  if (algorithm === C14N_EXCLUSIVE) {
    return new ExclusiveCanonicalization().process(element as never, {
      ancestorNamespaces: ancestors,
      inclusiveNamespacesPrefixList: inclusivePrefixes,
    });
  }
  if (algorithm === C14N_INCLUSIVE) {
    return new C14nCanonicalization().process(element as never, { ancestorNamespaces: ancestors });
  }
  throw new Error(`canonicalization ${algorithm} is not supported`);
}
