/** The VXP answers' list time: `dd/MM/yyyy HH:mm:ss` in the configured zone (SPEC §12.1). */
import { strict as assert } from 'node:assert';
import { listTime } from '../../../src/connectors/vxp/answers';

describe('VXP list time', () => {
  const at = Date.UTC(2026, 11, 1, 17, 5, 9); // 2026-12-01 17:05:09 UTC

  it('is the wall-clock time in the zone, day first, 24-hour', () => {
    assert.equal(listTime(at, 'Asia/Ho_Chi_Minh'), '02/12/2026 00:05:09');
    assert.equal(listTime(new Date(at), 'UTC'), '01/12/2026 17:05:09');
  });

  it('keeps each zone apart when formatters are reused', () => {
    for (let i = 0; i < 3; i++) {
      assert.equal(listTime(at, 'UTC'), '01/12/2026 17:05:09');
      assert.equal(listTime(at, 'Asia/Tokyo'), '02/12/2026 02:05:09');
    }
  });
});
