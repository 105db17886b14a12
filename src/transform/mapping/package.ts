/**
 * Logical values ⇄ edXML bytes, with attachments as plain files. The bridge every mapped
 * profile (flat-xml, json, legacy-csv) uses, so they differ only in how they parse and print.
 */
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

export function writePackage(kind: PackageKind, values: LogicalValues, attachments: VendorAttachment[]): Buffer {
  if (kind === 'status') return writeStatus(statusModelFromValues(values));
  return writeEdoc(
    edocModelFromValues(
      values,
      attachments.map((a) => ({ attachmentName: a.name, contentType: a.contentType, description: a.description, data: a.data })),
    ),
  );
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
