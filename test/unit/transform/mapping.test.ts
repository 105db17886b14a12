import { strict as assert } from 'node:assert';
import {
  formatWithPattern,
  MappingError,
  parseMappingSpec,
  parseWithPattern,
  recordKind,
  valuesToVendor,
  vendorToValues,
  type MappingDefaults,
  type VendorRecord,
} from '../../../src/transform/mapping';
import { isRejection } from '../../../src/errors';

const DEFAULTS: MappingDefaults = {
  dateFormat: 'dd/MM/yyyy',
  timestampFormat: 'dd/MM/yyyy HH:mm:ss',
  fields: {
    to: 'NoiNhan',
    subject: 'TrichYeu',
    'promulgation.date': 'NgayBanHanh',
    'documentType.type': 'Loai',
    priority: 'DoKhan',
    'status.code': 'TrangThai',
    'status.timestamp': 'ThoiGian',
    'responseFor.organId': 'DonViGoc',
    'responseFor.documentId': 'MaGoc',
  },
};

function expectMappingError(fn: () => unknown, field: string, rule: string, input: unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MappingError, String(err));
    assert.ok(isRejection(err) && err.reason === 'mapping-failed');
    assert.equal(err.field, field);
    assert.equal(err.rule, rule);
    assert.deepEqual(err.input, input);
    assert.ok(err.message.includes(field) && err.message.includes(rule) && err.message.includes(JSON.stringify(input)), err.message);
    return true;
  });
}

describe('declarative mapping', () => {
  const spec = parseMappingSpec(
    {
      codeTables: { documentType: { CV: 1, QD: 2 }, priority: { THUONG: 0, KHAN: 1, HOA_TOC: 3 }, status: { DA_NHAN: '03', DANG_XU_LY: '05', TU_CHOI: '02' } },
      organIds: { 'VP-TINH': '000.00.00.H41', VPCP: '000.00.00.G22' },
    },
    DEFAULTS,
  );

  it('parses and formats vendor date patterns strictly', () => {
    assert.deepEqual(parseWithPattern('3/9/2025', 'dd/MM/yyyy'), { year: 2025, month: 9, day: 3, hour: 0, minute: 0, second: 0 });
    assert.equal(parseWithPattern('31/02/2025', 'dd/MM/yyyy'), undefined);
    assert.equal(parseWithPattern('2025-09-03', 'dd/MM/yyyy'), undefined);
    assert.equal(formatWithPattern({ year: 2025, month: 9, day: 3, hour: 7, minute: 5, second: 0 }, 'yyyyMMdd HH:mm'), '20250903 07:05');
  });

  it('maps a vendor record through code tables, OrganId lookups and date formats', () => {
    const { kind, values } = vendorToValues({ NoiNhan: 'VPCP;000.00.00.G09', TrichYeu: ' Về việc họp ', NgayBanHanh: '20/11/2026', Loai: 'QD', DoKhan: 'HOA_TOC' }, spec, '000.00.00.H41');
    assert.equal(kind, 'edoc');
    assert.deepEqual(values, {
      to: ['000.00.00.G22', '000.00.00.G09'],
      subject: 'Về việc họp',
      'promulgation.date': '2026-11-20',
      'documentType.type': '2',
      priority: '3',
      'from.organId': '000.00.00.H41',
    });
    const back = valuesToVendor(values, 'edoc', spec, { lists: 'joined', scalars: 'text' });
    assert.deepEqual(back, { NoiNhan: 'VPCP;000.00.00.G09', TrichYeu: 'Về việc họp', NgayBanHanh: '20/11/2026', Loai: 'QD', DoKhan: 'HOA_TOC' });
  });

  it('recognises a status by its status code and maps the vendor status values', () => {
    const record = { TrangThai: 'DANG_XU_LY', ThoiGian: '21/11/2026 08:30:00', DonViGoc: 'VPCP', MaGoc: 'X' };
    assert.equal(recordKind(record, spec), 'status');
    const { values } = vendorToValues(record, spec, '000.00.00.H41');
    assert.equal(values['status.code'], '05');
    assert.equal(values['status.timestamp'], '2026-11-21T08:30:00');
    assert.equal(values['responseFor.organId'], '000.00.00.G22');
    assert.equal(valuesToVendor(values, 'status', spec, { lists: 'array', scalars: 'text' }).TrangThai, 'DANG_XU_LY');
  });

  it('names field, rule and input value when a value does not fit', () => {
    expectMappingError(() => vendorToValues({ Loai: 'CT' }, spec, 'x'), 'documentType.type', 'codeTables.documentType', 'CT');
    expectMappingError(() => vendorToValues({ NgayBanHanh: '2026-11-20' }, spec, 'x'), 'promulgation.date', 'dateFormat', '2026-11-20');
    expectMappingError(() => vendorToValues({ NoiNhan: 'PHONG-KHAC' }, spec, 'x'), 'to', 'organIds', 'PHONG-KHAC');
    expectMappingError(() => vendorToValues({ TrangThai: 'XONG' }, spec, 'x'), 'status.code', 'codeTables.status', 'XONG');
    expectMappingError(() => valuesToVendor({ 'status.code': '06' }, 'status', spec, { lists: 'array', scalars: 'text' }), 'status.code', 'codeTables.status', '06');
    const plain = parseMappingSpec({}, DEFAULTS);
    expectMappingError(() => vendorToValues({ DoKhan: 'cao' }, plain, 'x'), 'priority', 'integer', 'cao');
    expectMappingError(() => vendorToValues({ TrangThai: '07' }, plain, 'x'), 'status.code', 'status.code', '07');
  });

  it('keeps recipient names aligned with their OrganIds, gaps included', () => {
    const names = parseMappingSpec({ fields: { to: { path: 'NoiNhan.DonVi', item: { id: 'Ma', name: 'Ten' } } } }, DEFAULTS);
    const record: VendorRecord = { NoiNhan: { DonVi: [{ Ma: '000.00.00.G22', Ten: 'Văn phòng Chính phủ' }, { Ma: '000.00.00.G09' }] } };
    const { values } = vendorToValues(record, names, 'x');
    assert.deepEqual(values.to, ['000.00.00.G22', '000.00.00.G09']);
    assert.deepEqual(values['to.organName'], ['Văn phòng Chính phủ', '']);
    assert.deepEqual(valuesToVendor(values, 'edoc', names, { lists: 'array', scalars: 'text' }).NoiNhan, record.NoiNhan);
    const joined = parseMappingSpec({ fields: { 'to.organName': 'TenNoiNhan' } }, DEFAULTS);
    const flat = valuesToVendor({ to: ['A.1', 'B.2', 'C.3'], 'to.organName': ['An', '', 'Cường'] }, 'edoc', joined, { lists: 'joined', scalars: 'text' });
    assert.equal(flat.TenNoiNhan, 'An;;Cường');
    assert.deepEqual(vendorToValues({ TenNoiNhan: 'An;;Cường' }, joined, 'x').values['to.organName'], ['An', '', 'Cường']);
  });

  it('uses a named hook where configuration cannot split one vendor field into two', () => {
    const withHook = parseMappingSpec({ hooks: [{ hook: 'number-notation', path: 'SoKyHieu' }] }, DEFAULTS);
    const { values } = vendorToValues({ SoKyHieu: '15/2025/NĐ-CP' }, withHook, 'x');
    assert.equal(values['code.number'], '15');
    assert.equal(values['code.notation'], '2025/NĐ-CP');
    assert.equal(valuesToVendor(values, 'edoc', withHook, { lists: 'array', scalars: 'text' }).SoKyHieu, '15/2025/NĐ-CP');
  });

  it('reports a wrong option with its exact path', () => {
    assert.throws(() => parseMappingSpec({ fields: { subjekt: 'X' } }, DEFAULTS), /profileOptions\.fields\.subjekt: unknown field/);
    assert.throws(() => parseMappingSpec({ fields: { priority: { path: 'P', table: 'nope' } } }, DEFAULTS), /profileOptions\.fields\.priority\.table: no code table nope/);
    assert.throws(() => parseMappingSpec({ hooks: [{ hook: 'magic', path: 'X' }] }, DEFAULTS), /profileOptions\.hooks\[0\]\.hook: no hook named magic/);
    assert.throws(() => parseMappingSpec({ codeTables: { priority: { A: [1] } } }, DEFAULTS), /profileOptions\.codeTables\.priority\.A: must be a string or a number/);
    assert.throws(() => parseMappingSpec({ encodingg: 'vni' }, DEFAULTS, ['encoding']), /profileOptions\.encodingg: unknown option/);
  });
});
