/**
 * multipart/form-data, both ways, for a body with files beside it (a JSON document with its
 * attachments as parts, a flat XML export with its files). The body is the part named
 * `document`, or else the first part; every other part is a side file named by its filename.
 */
import { randomBytes } from 'node:crypto';
import type { SideFile } from '../types';

export interface MultipartBody {
  body: Buffer;
  bodyContentType: string;
  fileName?: string;
  sideFiles: SideFile[];
}

export function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

interface Part {
  headers: Record<string, string>;
  data: Buffer;
}

function splitParts(raw: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = raw.indexOf(delimiter);
  if (pos < 0) throw new Error('no multipart boundary found in the body');
  for (;;) {
    pos += delimiter.length;
    if (raw.subarray(pos, pos + 2).toString() === '--') break;
    if (raw.subarray(pos, pos + 2).toString() === '\r\n') pos += 2;
    const next = raw.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), pos);
    if (next < 0) throw new Error('multipart body is not terminated');
    const part = raw.subarray(pos, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) throw new Error('multipart part without headers');
    const headers: Record<string, string> = {};
    for (const line of part.subarray(0, headerEnd).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, data: part.subarray(headerEnd + 4) });
    pos = next + 2;
  }
  return parts;
}

function dispositionParam(disposition: string | undefined, name: string): string | undefined {
  if (!disposition) return undefined;
  const star = new RegExp(`;\\s*${name}\\*=(?:UTF-8|utf-8)''([^;]+)`).exec(disposition);
  if (star) return decodeURIComponent(star[1]!);
  const m = new RegExp(`;\\s*${name}="([^"]*)"|;\\s*${name}=([^;\\s]+)`).exec(disposition);
  return m ? (m[1] ?? m[2]) : undefined;
}

export function parseMultipart(raw: Buffer, contentType: string): MultipartBody {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new Error('multipart Content-Type without a boundary');
  const parts = splitParts(raw, boundary);
  if (parts.length === 0) throw new Error('multipart body without parts');
  const named = (p: Part) => dispositionParam(p.headers['content-disposition'], 'name');
  const main = parts.find((p) => named(p) === 'document') ?? parts[0]!;
  return {
    body: Buffer.from(main.data),
    bodyContentType: main.headers['content-type'] ?? 'application/octet-stream',
    fileName: dispositionParam(main.headers['content-disposition'], 'filename'),
    sideFiles: parts
      .filter((p) => p !== main)
      .map((p, i) => ({ name: dispositionParam(p.headers['content-disposition'], 'filename') ?? named(p) ?? `part-${i + 1}`, bytes: Buffer.from(p.data) })),
  };
}

function quoted(s: string): string {
  return s.replace(/["\\\r\n]/g, '_');
}

function disposition(name: string, fileName: string): string {
  const ascii = /^[\x20-\x7e]*$/.test(fileName);
  return `form-data; name="${quoted(name)}"; filename="${quoted(ascii ? fileName : fileName.normalize('NFKD').replace(/[^\x20-\x7e]/g, '_'))}"${ascii ? '' : `; filename*=UTF-8''${encodeURIComponent(fileName)}`}`;
}

export function buildMultipart(body: Buffer, bodyContentType: string, fileName: string, sideFiles: SideFile[]): { contentType: string; bytes: Buffer } {
  const frame = multipartFrame(bodyContentType, fileName, sideFiles);
  return { contentType: frame.contentType, bytes: Buffer.concat([frame.head, body, frame.tail]) };
}

/**
 * The multipart body around its document part: `head`, then the document's bytes, then `tail`
 * (the side files and the closing boundary). Lets a large document be streamed from a file.
 */
export function multipartFrame(bodyContentType: string, fileName: string, sideFiles: SideFile[]): { contentType: string; head: Buffer; tail: Buffer } {
  const boundary = `vdxp-${randomBytes(12).toString('hex')}`;
  const partHead = (name: string, file: string, type: string) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition(name, file)}\r\nContent-Type: ${type}\r\n\r\n`, 'utf8');
  const tail: Buffer[] = [Buffer.from('\r\n')];
  for (const f of sideFiles) tail.push(partHead('file', f.name, 'application/octet-stream'), f.bytes, Buffer.from('\r\n'));
  tail.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, head: partHead('document', fileName, bodyContentType), tail: Buffer.concat(tail) };
}
