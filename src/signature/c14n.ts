/**
 * Canonical XML 1.0 and Exclusive XML Canonicalization 1.0, both without comments, over the
 * @xmldom/xmldom DOM the package was parsed into: of a whole document (what `Reference URI=""`
 * digests, XMLDSig §4.3.3.3: processing instructions outside the root included, comments not) or
 * of one element's subtree as a document subset (SignedInfo).
 *
 * The connector canonicalizes itself rather than through xml-crypto's C14N classes, which (6.3.2,
 * the latest release) render a processing instruction as its data text, so that `<?x Không?> đồng
 * ý` digests like "Không đồng ý" while every reader sees "đồng ý"; drop every attribute whose name
 * starts with "xmlns" (such as `xmlnsX="…"` or `xmlnsp:href`) from the signed form; repeat
 * `xmlns=""` on the children of an element that undeclares the default namespace; sort namespace
 * declarations with `localeCompare` rather than by code point; canonicalize only elements, never
 * the document; and throw an untyped error on an empty processing instruction. docs/SECURITY.md
 * ("Known differences from xmlsec1", the upstream report) has the details; the differential
 * tests hold this file equal to libxml2's canonicalization through xmlsec1.
 */
import type { Attr, Document, Element, Node, ProcessingInstruction } from '@xmldom/xmldom';
import { Rejection } from '../errors';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
const PROCESSING_INSTRUCTION_NODE = 7;
const COMMENT_NODE = 8;
const DOCUMENT_NODE = 9;
const DOCUMENT_TYPE_NODE = 10;

export interface C14nOptions {
  /** Exclusive C14N (a namespace is rendered where it is visibly used) instead of inclusive. */
  exclusive: boolean;
  /** Exclusive only: the InclusiveNamespaces PrefixList, `#default` for the default namespace. */
  inclusivePrefixes?: readonly string[];
  /**
   * Prefixes the reader declared on the root element because the package uses them undeclared
   * (SPEC §15: the SDK's `xlink:href`, `edXML:` outside the envelope; `XmlScan.undeclaredPrefixes`).
   * Those declarations are not in the bytes, so they are not canonical content: names with such a
   * prefix are rendered unbound, as libxml2 (and so xmlsec1) reads them.
   */
  repairedPrefixes?: readonly string[];
}

/** Prefix → namespace name; the default namespace under '', '' when undeclared. */
type Bindings = ReadonlyMap<string, string>;
const NO_BINDINGS: Bindings = new Map();

/** The canonical form of a document, or of an element's subtree with its ancestors' context. */
export function canonicalXml(node: Document | Element, options: C14nOptions): string {
  const c = new Canonicalizer(options);
  if (node.nodeType === DOCUMENT_NODE) return c.document(node as Document);
  const apex = node as Element;
  return c.element(apex, c.namespacesAbove(apex), NO_BINDINGS, options.exclusive ? [] : xmlAttributesAbove(apex));
}

class Canonicalizer {
  private readonly exclusive: boolean;
  private readonly inclusivePrefixes: readonly string[];
  private readonly repaired: ReadonlySet<string>;

  constructor(options: C14nOptions) {
    this.exclusive = options.exclusive;
    this.inclusivePrefixes = (options.inclusivePrefixes ?? []).map((p) => (p === '#default' ? '' : p));
    this.repaired = new Set(options.repairedPrefixes ?? []);
  }

  /** A namespace declaration the reader added (on the root only), not one the package carries. */
  private isRepair(attr: Attr, owner: Element): boolean {
    return this.repaired.size > 0 && attr.prefix === 'xmlns' && this.repaired.has(attr.localName!) && owner.parentNode?.nodeType === DOCUMENT_NODE;
  }

  /** Namespaces in scope at `el`'s parent: every ancestor's declarations, the nearest winning. */
  namespacesAbove(el: Element): Bindings {
    const scope = new Map<string, string>();
    for (let node = el.parentNode as Node | null; node && node.nodeType === ELEMENT_NODE; node = node.parentNode) {
      const attrs = (node as Element).attributes;
      for (let k = 0; k < attrs.length; k++) {
        const attr = attrs[k]!;
        if (attr.namespaceURI !== XMLNS_NS || this.isRepair(attr, node as Element)) continue;
        const prefix = attr.prefix ? attr.localName! : '';
        if (!scope.has(prefix)) scope.set(prefix, attr.value);
      }
    }
    return scope;
  }

  document(doc: Document): string {
    let out = '';
    let afterRoot = false;
    for (let child = doc.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === ELEMENT_NODE) {
        out += this.element(child as Element, NO_BINDINGS, NO_BINDINGS, []);
        afterRoot = true;
      } else if (child.nodeType === PROCESSING_INSTRUCTION_NODE) {
        const pi = child as ProcessingInstruction;
        if (pi.target === 'xml') continue; // the XML declaration (the pre-scan refuses the target anywhere else)
        out += afterRoot ? `\n${processingInstruction(pi)}` : `${processingInstruction(pi)}\n`;
      } else if (child.nodeType !== COMMENT_NODE && child.nodeType !== TEXT_NODE && child.nodeType !== DOCUMENT_TYPE_NODE) {
        throw new Error(`cannot canonicalize a document child of type ${child.nodeType}`);
      }
    }
    return out;
  }

  /**
   * `parentScope`: namespaces in scope at the parent; `rendered`: what output ancestors rendered
   * (nearest binding per prefix); `inheritedXml`: xml:* attributes an inclusive apex takes over.
   */
  element(el: Element, parentScope: Bindings, rendered: Bindings, inheritedXml: readonly Attr[]): string {
    const attrs = el.attributes;
    let scope = parentScope;
    const plain: Attr[] = [];
    let declared: string[] | undefined;
    for (let k = 0; k < attrs.length; k++) {
      const attr = attrs[k]!;
      if (attr.namespaceURI === XMLNS_NS) {
        if (this.isRepair(attr, el)) continue;
        assertAbsoluteUri(attr);
        const prefix = attr.prefix ? attr.localName! : '';
        if (scope === parentScope) scope = new Map(parentScope);
        (scope as Map<string, string>).set(prefix, attr.value);
        (declared ??= []).push(prefix);
      } else {
        plain.push(attr);
      }
    }

    const render: Array<[string, string]> = [];
    // The binding in scope, from the declarations (for a namespace-well-formed package, the DOM's
    // namespaceURI); undefined for a prefix only a repair declared: it stays unbound.
    const bound = (prefix: string): string | undefined => scope.get(prefix) ?? (prefix === '' ? '' : undefined);
    const consider = (prefix: string, uri: string | undefined): void => {
      if (prefix === 'xml' || uri === undefined) return;
      if ((rendered.get(prefix) ?? (prefix === '' ? '' : undefined)) === uri) return;
      if (render.some(([p]) => p === prefix)) return;
      render.push([prefix, uri]);
    };
    if (this.exclusive) {
      consider(el.prefix ?? '', bound(el.prefix ?? ''));
      for (const attr of plain) if (attr.prefix && attr.prefix !== 'xml') consider(attr.prefix, bound(attr.prefix));
      for (const prefix of this.inclusivePrefixes) consider(prefix, bound(prefix));
    } else if (rendered === NO_BINDINGS) {
      for (const [prefix, uri] of scope) consider(prefix, uri); // the apex renders every namespace in scope
    } else if (declared) {
      for (const prefix of declared) consider(prefix, scope.get(prefix)!);
    }

    let out = `<${el.tagName}`;
    let childRendered = rendered;
    if (render.length > 0) {
      render.sort((a, b) => compareCodePoints(a[0], b[0]));
      const next = new Map(rendered);
      for (const [prefix, uri] of render) {
        out += prefix ? ` xmlns:${prefix}="${escapeAttribute(uri)}"` : ` xmlns="${escapeAttribute(uri)}"`;
        next.set(prefix, uri);
      }
      childRendered = next;
    } else if (rendered === NO_BINDINGS && !this.exclusive) {
      childRendered = new Map(); // past the apex: only changes render
    }

    const attributes = inheritedXml.length > 0 ? [...plain, ...inheritedXml.filter((x) => !el.hasAttributeNS(XML_NS, x.localName!))] : plain;
    if (attributes.length > 1) {
      // An attribute with an unbound (repaired) prefix sorts as libxml2 has it: no namespace, its qualified name as local name.
      const key = (a: Attr): [string, string] => (a.prefix && a.prefix !== 'xml' && !scope.has(a.prefix) ? ['', a.name] : [a.namespaceURI ?? '', a.localName ?? a.name]);
      attributes.sort((a, b) => {
        const [nsA, localA] = key(a);
        const [nsB, localB] = key(b);
        return compareCodePoints(nsA, nsB) || compareCodePoints(localA, localB);
      });
    }
    for (const attr of attributes) out += ` ${attr.name}="${escapeAttribute(attr.value)}"`;
    out += '>';

    for (let child = el.firstChild; child; child = child.nextSibling) {
      switch (child.nodeType) {
        case TEXT_NODE:
        case CDATA_SECTION_NODE:
          out += escapeText((child as unknown as { data: string }).data);
          break;
        case ELEMENT_NODE:
          out += this.element(child as Element, scope, childRendered, []);
          break;
        case PROCESSING_INSTRUCTION_NODE:
          out += processingInstruction(child as ProcessingInstruction);
          break;
        case COMMENT_NODE:
          break;
        default:
          throw new Error(`cannot canonicalize a node of type ${child.nodeType}`);
      }
    }
    return `${out}</${el.tagName}>`;
  }
}

/**
 * RFC 3986 characters outside `%XX` escapes: unreserved, sub-delims, and the general delimiters
 * but `[`, `]`; and without `&`, which libxml2 renders in a namespace name as `&#38;` where C14N
 * says `&amp;` (docs/SECURITY.md, "Known differences from xmlsec1"): rather than pick one.
 */
const URI_BODY = /^(?:[A-Za-z0-9\-._~!$'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;
const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * C14N 1.0 §2 (and Exclusive C14N by reference): a document with a relative namespace URI is a
 * processing failure. libxml2 also fails on a namespace name that is not a URI by RFC 3986 (an
 * IRI with non-ASCII characters, a space), so such a package could not be verified by xmlsec1
 * either: it is refused (`xmlns=""` excepted), as is one with `&` (see URI_BODY).
 */
function assertAbsoluteUri(declaration: Attr): void {
  const uri = declaration.value;
  if (uri === '' && !declaration.prefix) return;
  const hash = uri.indexOf('#');
  const valid = URI_SCHEME.test(uri) && URI_BODY.test(hash < 0 ? uri : uri.slice(0, hash)) && (hash < 0 || URI_BODY.test(uri.slice(hash + 1)));
  if (!valid) {
    throw new Rejection('malformed-xml', `${declaration.name}="${uri.slice(0, 100)}" is not an absolute URI: canonical XML is not defined for the package`);
  }
}

function processingInstruction(pi: ProcessingInstruction): string {
  return pi.data ? `<?${pi.target} ${pi.data}?>` : `<?${pi.target}?>`;
}

/** Canonical XML 1.0 §2.4: an apex inherits the xml:* attributes of its ancestors (the nearest wins). */
function xmlAttributesAbove(el: Element): Attr[] {
  const found = new Map<string, Attr>();
  for (let node = el.parentNode as Node | null; node && node.nodeType === ELEMENT_NODE; node = node.parentNode) {
    const attrs = (node as Element).attributes;
    for (let k = 0; k < attrs.length; k++) {
      const attr = attrs[k]!;
      if (attr.namespaceURI === XML_NS && !found.has(attr.localName!)) found.set(attr.localName!, attr);
    }
  }
  return [...found.values()];
}

/** Lexicographic order of Unicode code points (JavaScript's `<` compares UTF-16 units, which differs past U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    const x = a.charCodeAt(k);
    const y = b.charCodeAt(k);
    if (x === y) continue;
    const surrogateX = x >= 0xd800 && x <= 0xdfff;
    const surrogateY = y >= 0xd800 && y <= 0xdfff;
    if (surrogateX !== surrogateY) return surrogateX ? 1 : -1; // a supplementary code point is above U+E000–U+FFFF
    return x - y;
  }
  return a.length - b.length;
}

const TEXT_SPECIAL = /[&<>\r]/;
const ATTRIBUTE_SPECIAL = /[&<"\t\n\r]/;

function escapeText(text: string): string {
  if (!TEXT_SPECIAL.test(text)) return text;
  return text.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#xD;'));
}

function escapeAttribute(value: string): string {
  if (!ATTRIBUTE_SPECIAL.test(value)) return value;
  return value.replace(/[&<"\t\n\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '"' ? '&quot;' : c === '\t' ? '&#x9;' : c === '\n' ? '&#xA;' : '&#xD;',
  );
}
