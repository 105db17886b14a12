/**
 * Issue 16 point 15: docs/VENDOR-GUIDE.md has each profile's default field paths in one table, and
 * says which fields a package cannot be sent without. The table is rendered here from the
 * profiles' *_DEFAULTS and from the one rule set (a field is "needed" when the reference package
 * without it is refused), and must appear in the guide exactly: a changed default or rule fails
 * this test until the guide says so too.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIELDS, type FieldName } from '../../../src/transform/mapping/fields';
import type { MappingDefaults } from '../../../src/transform/mapping/spec';
import { referencePackages, setPath, getPath, type VendorRecord } from '../../../src/transform/mapping';
import { FLAT_XML_DEFAULTS } from '../../../src/transform/flat-xml';
import { JSON_DEFAULTS, jsonProfile } from '../../../src/transform/json';
import { LEGACY_CSV_DEFAULTS } from '../../../src/transform/legacy-csv';
import { validateRead } from '../../../src/edxml/validate';
import { readPackage } from '../../../src/edxml/reader';
import { isRejection } from '../../../src/errors';
import { REPO_ROOT } from '../../support/paths';

const PROFILES: Array<[string, MappingDefaults]> = [
  ['flat-xml', FLAT_XML_DEFAULTS],
  ['json', JSON_DEFAULTS],
  ['legacy-csv', LEGACY_CSV_DEFAULTS],
];
const CTX = { ownOrganId: '000.00.00.H41', options: {} };

function shown(rule: MappingDefaults['fields'][FieldName]): string {
  if (rule === undefined) return '—';
  if (typeof rule === 'string') return `\`${rule}\``;
  const item = rule.item ? ` (items: id \`${rule.item.id}\`${rule.item.name ? `, name \`${rule.item.name}\`` : ''})` : '';
  return `\`${rule.path}\`${item}`;
}

/** Whether the reference package, with this field removed on the vendor side, can still be sent. */
function needed(field: FieldName): boolean {
  if (field === 'from.organId') return false; // defaults to the agency's own OrganId
  const kind = FIELDS[field].applies === 'status' ? 'status' : 'edoc';
  const reference = referencePackages().find((p) => (kind === 'edoc' ? p.name.includes('document') : p.name.includes('03')))!;
  const vendor = jsonProfile.fromEdxml(reference.bytes, CTX);
  const record = JSON.parse(vendor.body.toString('utf8')) as VendorRecord;
  const rule = JSON_DEFAULTS.fields[field]!;
  const at = typeof rule === 'string' ? rule : rule.path;
  if (getPath(record, at) === undefined) return false;
  setPath(record, at, undefined as never);
  try {
    const edxml = jsonProfile.toEdxml({ ...vendor, body: Buffer.from(JSON.stringify(record)) }, CTX);
    const pkg = readPackage(edxml);
    // The one rule set, and the send pipeline's own: a document must name a recipient.
    return !validateRead(pkg).ok || (pkg.kind === 'edoc' && pkg.to.length === 0);
  } catch (err) {
    if (isRejection(err)) return true;
    throw err;
  }
}

export function renderDefaultsTable(): string {
  const rows = [
    `| Logical field | Needed to send | ${PROFILES.map(([name]) => `\`${name}\``).join(' | ')} |`,
    `|---|---|${PROFILES.map(() => '---').join('|')}|`,
  ];
  for (const field of Object.keys(FIELDS) as FieldName[]) {
    rows.push(`| \`${field}\` | ${needed(field) ? 'yes' : ''} | ${PROFILES.map(([, d]) => shown(d.fields[field])).join(' | ')} |`);
  }
  rows.push(`| *dateFormat* | | ${PROFILES.map(([, d]) => `\`${d.dateFormat}\``).join(' | ')} |`);
  rows.push(`| *timestampFormat* | | ${PROFILES.map(([, d]) => `\`${d.timestampFormat}\``).join(' | ')} |`);
  return rows.join('\n');
}

describe('the guide lists every default field path of every profile (issue 16 point 15)', () => {
  it('docs/VENDOR-GUIDE.md holds the table rendered from the code', () => {
    const guide = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'VENDOR-GUIDE.md'), 'utf8');
    const table = renderDefaultsTable();
    assert.ok(guide.includes(table), `the table in docs/VENDOR-GUIDE.md (Default field paths) differs from the code; it should read:\n\n${table}\n`);
  });

  it('marks as needed what vdxp validate requires, and not what it does not', () => {
    const table = renderDefaultsTable();
    const neededFields = [...table.matchAll(/^\| `([^`]+)` \| yes \|/gm)].map((m) => m[1]);
    for (const f of ['code.number', 'code.notation', 'promulgation.date', 'documentType.type', 'documentType.name', 'subject', 'priority', 'steeringType', 'to', 'status.code', 'status.timestamp']) {
      assert.ok(neededFields.includes(f), f);
    }
    for (const f of ['content', 'signer.fullName', 'from.organName', 'status.description']) assert.ok(!neededFields.includes(f), f);
  });
});
