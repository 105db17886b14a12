/**
 * Issue 16 point 10: `vdxp validate` and the ingest judge a package by one rule set, and the
 * worked examples of docs/VENDOR-GUIDE.md pass it. The examples are read from the guide itself,
 * converted with the profile files of config/profiles/, then judged by `vdxp validate` and by the
 * send pipeline (what the ingest, the file drop and the AMQP source run): both must agree.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { profileByName } from '../../../src/transform';
import { validatePackageDeep } from '../../../src/edxml/validate';
import { makeSendHandler } from '../../../src/pipeline/send';
import { Spool } from '../../../src/pipeline/spool';
import { withDefaults } from '../../../src/limits';
import { createLogger } from '../../../src/observability/log';
import type { Rejection } from '../../../src/errors';
import type { VendorMessage } from '../../../src/connectors/types';
import { main } from '../../../src/cli/main';
import { REPO_ROOT } from '../../support/paths';
import { blocksUnder } from '../../support/markdown';

const GUIDE = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'VENDOR-GUIDE.md'), 'utf8');
const PDF = Buffer.from('%PDF-1.4\n%%EOF\n');

function profileFile(name: string): { profile: string; organId: string; profileOptions: Record<string, unknown> } {
  return YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'config', 'profiles', name), 'utf8'));
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const [stdout, stderr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((c: string) => (out.push(String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => (out.push(String(c)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), out: out.join('') };
  } finally {
    [process.stdout.write, process.stderr.write] = [stdout, stderr];
  }
}

/** What the send pipeline makes of a vendor message: accepted, or the rejection. */
async function sendPipelineVerdict(profileName: string, options: Record<string, unknown>, organId: string, message: VendorMessage): Promise<'accepted' | Rejection> {
  const spool = await Spool.open();
  let verdict: 'accepted' | Rejection | undefined;
  const handler = makeSendHandler({
    organId,
    limits: withDefaults(),
    profile: profileByName(profileName),
    profileOptions: options,
    producer: { send: async () => undefined, sendFile: async () => undefined, topicExists: async () => true },
    spool,
    log: createLogger({ level: 'silent' }),
  });
  try {
    await handler(message, {
      accepted: async () => void (verdict = 'accepted'),
      rejected: async (r) => void (verdict = r),
      retryLater: async (e) => assert.fail(`retryLater: ${e.message}`),
    });
  } finally {
    await spool.close();
  }
  return verdict!;
}

const EXAMPLES = [
  {
    name: 'json (G22)',
    heading: '### `json`',
    lang: 'json',
    profileFile: 'g22-json.yaml',
    organId: '000.00.00.H41',
    message: (text: string): VendorMessage => ({ body: Buffer.from(text), fileName: 'cv42.json', contentType: 'application/json', sideFiles: [] }),
    withoutTypeName: (text: string) => text.replace(/"documentTypeName": "[^"]*",\s*/, ''),
  },
  {
    name: 'flat-xml',
    heading: '### `flat-xml`',
    lang: 'xml',
    profileFile: 'vendor-flat-xml.yaml',
    organId: '000.00.00.H41',
    message: (text: string): VendorMessage => ({ body: Buffer.from(text), fileName: 'cv42.xml', contentType: 'application/xml', sideFiles: [{ name: 'cv42.pdf', bytes: PDF }] }),
    withoutTypeName: (text: string) => text.replace(/\s*<TenLoaiVanBan>[^<]*<\/TenLoaiVanBan>/, ''),
  },
  {
    name: 'legacy-csv (H41)',
    heading: '### `legacy-csv`',
    lang: 'csv',
    profileFile: 'h41-legacy-csv.yaml',
    organId: '000.00.00.H41',
    message: (text: string): VendorMessage => ({ body: Buffer.from(text), fileName: 'cv42.csv', contentType: 'text/csv', sideFiles: [{ name: 'cv42.pdf', bytes: PDF }] }),
    withoutTypeName: (text: string) => text.replace('ten_loai_van_ban,', '').replace('CV,Công văn,', 'CV,'),
  },
];

describe('the vendor guide examples and the one rule set (issue 16 point 10)', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-guide-'));
  });

  for (const example of EXAMPLES) {
    it(`${example.name}: the guide's document converts, vdxp validate calls it acceptable and the ingest sends it`, async () => {
      const [text] = blocksUnder(GUIDE, example.heading, example.lang);
      assert.ok(text, `the guide has a ${example.lang} example under ${example.heading}`);
      const setting = profileFile(example.profileFile);
      const edxml = profileByName(setting.profile).toEdxml(example.message(text), { ownOrganId: example.organId, options: setting.profileOptions });
      const verdict = await validatePackageDeep(edxml);
      assert.deepEqual(verdict.problems, [], 'vdxp validate finds no problem');
      assert.equal(await sendPipelineVerdict(setting.profile, setting.profileOptions, example.organId, example.message(text)), 'accepted');
    });

    it(`${example.name}: without TypeName, vdxp validate and the ingest both refuse it, naming the same element`, async () => {
      const [text] = blocksUnder(GUIDE, example.heading, example.lang);
      const broken = example.withoutTypeName(text!);
      assert.notEqual(broken, text, 'the example had a type name to remove');
      const setting = profileFile(example.profileFile);
      const edxml = profileByName(setting.profile).toEdxml(example.message(broken), { ownOrganId: example.organId, options: setting.profileOptions });
      const file = path.join(dir, `${setting.profile}.edxml`);
      fs.writeFileSync(file, edxml);
      const validate = await cli(['validate', file]);
      assert.equal(validate.code, 1);
      assert.match(validate.out, /NOT ACCEPTABLE[\s\S]*problem {2}\/edXML\/edXMLEnvelope\/edXMLHeader\/MessageHeader\/DocumentType\/TypeName {2}\[required\]/);
      const refused = await sendPipelineVerdict(setting.profile, setting.profileOptions, example.organId, example.message(broken));
      assert.notEqual(refused, 'accepted', 'the ingest refuses what validate refuses');
      assert.equal((refused as Rejection).reason, 'invalid-edxml');
      assert.match((refused as Rejection).detail, /1 problem \(the rules of vdxp validate\): \/edXML\/edXMLEnvelope\/edXMLHeader\/MessageHeader\/DocumentType\/TypeName \[required\] TypeName is required/);
    });
  }
});
