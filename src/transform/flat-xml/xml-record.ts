/**
 * A flat vendor XML document ⇄ a vendor record: an element with only text becomes a string, one
 * with children an object, repeated names a list. Attributes and namespaces carry no data in
 * these exports and are ignored. Parsing goes through the project's safe parser (no DTDs,
 * entity or depth bombs).
 */
import type { Element } from '@xmldom/xmldom';
import { parseXmlDocument } from '../../edxml/safe-xml';
import type { VendorRecord, VendorValue } from '../mapping';
import { isRecord } from '../mapping';

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_NODE = 4;

export function parseXmlRecord(bytes: Buffer): { root: string; record: VendorRecord } {
  const doc = parseXmlDocument(bytes);
  const root = doc.documentElement!;
  const value = elementValue(root);
  return { root: root.localName ?? root.nodeName, record: isRecord(value) ? value : {} };
}

function elementValue(el: Element): VendorValue {
  const children: Element[] = [];
  let text = '';
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE) children.push(n as Element);
    else if (n.nodeType === TEXT_NODE || n.nodeType === CDATA_NODE) text += n.nodeValue ?? '';
  }
  if (children.length === 0) return text.trim();
  const record: VendorRecord = {};
  for (const child of children) {
    const name = child.localName ?? child.nodeName;
    const value = elementValue(child);
    const existing = record[name];
    if (existing === undefined) record[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else record[name] = [existing, value];
  }
  return record;
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

const NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;

export function printXmlRecord(root: string, record: VendorRecord): Buffer {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  writeElement(lines, root, record, 0);
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}

function writeElement(lines: string[], name: string, value: VendorValue, depth: number): void {
  if (!NAME.test(name)) throw new Error(`${JSON.stringify(name)} cannot be an XML element name`);
  const pad = '  '.repeat(depth);
  if (Array.isArray(value)) {
    for (const item of value) writeElement(lines, name, item, depth);
    return;
  }
  if (isRecord(value)) {
    lines.push(`${pad}<${name}>`);
    for (const [k, v] of Object.entries(value)) writeElement(lines, k, v, depth + 1);
    lines.push(`${pad}</${name}>`);
    return;
  }
  const text = value === null ? '' : String(value);
  lines.push(text === '' ? `${pad}<${name}/>` : `${pad}<${name}>${escape(text)}</${name}>`);
}
