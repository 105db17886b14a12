import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, SAMPLES_DIR } from '../../support/paths';
import { readPackage } from '../../../src/edxml/reader';
import type { EdocPackage } from '../../../src/edxml/model';
import { decodeText, encodeText } from '../../../src/transform/encodings';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const H41_PROFILE = path.join(REPO_ROOT, 'config', 'profiles', 'h41-legacy-csv.yaml');

function vdxp(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('offline tools for vendors: vdxp convert / export / conformance', function () {
  this.timeout(30_000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-offline-'));
  });

  it('convert: a TCVN3 CSV with its PDF becomes an edXML package', () => {
    const csv = 'so_ky_hieu,ngay_ban_hanh,noi_nhan,loai_van_ban,do_khan,trich_yeu,tep_dinh_kem\r\n42/UBND-VP,23/11/2026,VPCP,CV,KHAN,Trục liên thông văn bản quốc gia,cv42.pdf\r\n';
    fs.mkdirSync(path.join(dir, 'in'));
    fs.writeFileSync(path.join(dir, 'in', 'cv42.csv'), encodeText(csv, 'tcvn3'));
    fs.writeFileSync(path.join(dir, 'in', 'cv42.pdf'), '%PDF-1.4 cv42');
    const out = path.join(dir, 'cv42.edxml');
    const r = vdxp('convert', '--profile', H41_PROFILE, path.join(dir, 'in', 'cv42.csv'), '-o', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /converted with .*edoc, DocumentId 000\.00\.00\.H41,2026\/11\/23,42\/UBND-VP/);
    const pkg = readPackage(fs.readFileSync(out)) as EdocPackage;
    assert.equal(pkg.header.subject, 'Trục liên thông văn bản quốc gia');
    assert.deepEqual(pkg.to.map((t) => t.organId), ['000.00.00.G22']);
    assert.equal(pkg.header.otherInfo?.priority, 1);
    assert.equal(pkg.attachments[0]?.attachmentName, 'cv42.pdf');
  });

  it('convert: a value that does not fit exits 1 naming field, rule and input', () => {
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'so_ky_hieu,ngay_ban_hanh,noi_nhan,do_khan\r\n1/VP,23/11/2026,VPCP,RAT_GAP\r\n');
    const r = vdxp('convert', '--profile', H41_PROFILE, bad);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NOT CONVERTED — mapping-failed: field priority \(vendor path do_khan\), rule codeTables\.priority: not in the table .*input "RAT_GAP"/);
  });

  it('export: a field sample becomes TCVN3 CSV with its attachment in the folder named after it', () => {
    const out = path.join(dir, 'export');
    const sample = path.join(SAMPLES_DIR, 'vxp-sdk-example__edoc_new.edxml');
    const r = vdxp('export', '--profile', H41_PROFILE, sample, '-o', `${out}/`);
    assert.equal(r.code, 0, r.stderr);
    const files = fs.readdirSync(out);
    const csv = files.find((f) => f.endsWith('.csv'))!;
    const text = decodeText(fs.readFileSync(path.join(out, csv)), 'tcvn3');
    const pkg = readPackage(fs.readFileSync(sample)) as EdocPackage;
    assert.ok(text.includes(pkg.header.subject!.normalize('NFC')), 'subject in the CSV');
    const sideFiles = fs.readdirSync(path.join(out, path.basename(csv, '.csv')));
    for (const a of pkg.attachments) assert.ok(sideFiles.includes(a.attachmentName!), `${a.attachmentName} in the CSV's folder`);
  });

  it('conformance: exit 0 when everything survives, 1 listing what a profile loses', () => {
    const ok = vdxp('conformance', '--config', 'json');
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /json: 10 packages, 10 intact/);
    const lossy = vdxp('conformance', '--config', H41_PROFILE, '--samples', SAMPLES_DIR, '--json');
    assert.equal(lossy.code, 1);
    const report = JSON.parse(lossy.stdout) as { ok: boolean; report: Array<{ results: Array<{ name: string; differences: Array<{ change: string; path: string }> }> }> };
    const reference = report.report[0]!.results.find((x) => x.name.startsWith('reference document'))!;
    assert.ok(reference.differences.some((d) => d.change === 'lost' && d.path === 'header.content'), 'content: null in the profile is reported as lost');
    assert.equal(report.report[0]!.results.length, 10 + fs.readdirSync(SAMPLES_DIR).filter((f) => /\.(edxml|xml)$/.test(f)).length);
  });

  it('a profile that is neither shipped nor a readable file is a usage error', () => {
    assert.equal(vdxp('convert', '--profile', 'no-such-profile', path.join(dir, 'bad.csv')).code, 2);
  });
});
