import { strict as assert } from 'node:assert';
import { agencyAcls } from '../../../src/broker/acls';

describe('backbone ACLs of an agency with a vxp connector', () => {
  const names = (vxp: boolean) => agencyAcls('000.00.00.G22', { username: 'vdxp-g22', vxp }).map((a) => `${a.operation} ${a.name}`);

  it('grants its mailbox topics and the agency directory, and only with a vxp connector', () => {
    const withVxp = names(true);
    for (const topic of ['vdxp.vxp.inbox.000.00.00.G22', 'vdxp.vxp.confirmations.000.00.00.G22', 'vdxp.agencies']) {
      for (const op of ['Read', 'Write', 'Create']) assert.ok(withVxp.includes(`${op} ${topic}`), `${op} ${topic}`);
    }
    assert.ok(!names(false).some((n) => n.includes('vdxp.vxp.') || n.includes('vdxp.agencies')));
    // Literal names only: another agency's mailbox is never covered.
    assert.ok(agencyAcls('000.00.00.G22', { username: 'u', vxp: true }).filter((a) => a.name.includes('vxp')).every((a) => a.patternType === 'Literal'));
  });
});
