/**
 * Logical values ⇄ edXML bytes, with attachments as plain files. The bridge every mapped
 * profile (flat-xml, json, legacy-csv) uses, so they differ only in how they parse and print.
 */
import { createHash } from 'node:crypto';
import { readPackage } from '../../edxml/reader';
import { writeEdoc, writeStatus } from '../../edxml/writer';
import { attachmentSource } from '../../edxml/attachments';
import type { EdxmlPackage } from '../../edxml/model';
import { edocModelFromValues, statusModelFromValues, valuesFromPackage, type LogicalValues } from './fields';
import type { PackageKind } from './engine';

export interface VendorAttachment {
  name: string;
  contentType?: string;
  description?: string;
  data: Buffer;
}

/**
 * Deterministic: the same values and attachments always give the same bytes, so a vendor that
 * sends the same document again (after a 503 or a lost answer) produces the same package, the same
 * content hash and so the same idempotency key downstream (DESIGN.md §4 rule 2).
 */
export function writePackage(kind: PackageKind, values: LogicalValues, attachments: VendorAttachment[]): Buffer {
  if (kind === 'status') return writeStatus(statusModelFromValues(values));
  return writeEdoc(
    edocModelFromValues(
      values,
      attachments.map((a, i) => ({ contentId: contentIdOf(a, i), attachmentName: a.name, contentType: a.contentType, description: a.description, data: a.data })),
    ),
  );
}

/**
 * A ContentId derived from the attachment itself (position, name, bytes) instead of a random one:
 * unique within the package, the same every time the same attachment is converted.
 */
export function contentIdOf(a: VendorAttachment, index: number): string {
  const hash = createHash('sha256').update(`${index}\0${a.name}\0`).update(a.data).digest('hex');
  return `cid:${hash.slice(0, 32)}`;
}

export interface ReadForVendor {
  kind: PackageKind;
  pkg: EdxmlPackage;
  values: LogicalValues;
  attachments: VendorAttachment[];
}

/**
 * A package's values and attachment files. A zipped attachment (SPEC §9.3) is handed over as the
 * zip it is, under its AttachmentName: the legacy system receives exactly the bytes the sender sent.
 */
export function readForVendor(edxml: Buffer): ReadForVendor {
  const pkg = readPackage(edxml);
  const attachments: VendorAttachment[] =
    pkg.kind === 'edoc'
      ? pkg.attachments.map((att, i) => {
          const src = attachmentSource(att);
          return {
            name: safeFileName(att.attachmentName, i),
            contentType: att.contentType ?? att.mimeType,
            description: att.description,
            data: Buffer.from(src.decodeRange(0, src.size)),
          };
        })
      : [];
  return { kind: pkg.kind, pkg, values: valuesFromPackage(pkg), attachments };
}

/** An attachment name as a plain file name: no folders, no leading dots, never empty. */
export function safeFileName(name: string | undefined, index: number): string {
  const base = (name ?? '').split(/[\\/]/).pop()!.replace(/[\u0000-\u001f]/g, '').replace(/^\.+/, '').trim();
  return base || `attachment-${index + 1}`;
}
