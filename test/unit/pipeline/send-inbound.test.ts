/**
 * The send pipeline for a source that also hands over packages *for* this agency (the VXP bridge:
 * what an endpoint holds for this agency's systemId). Such a package goes to this agency's own topic
 * only, as it came (never signed with this agency's key), and only if it names this agency; a
 * source without `acceptsInbound` still refuses any From but its own.
 */
import { strict as assert } from 'node:assert';
import { makeSendHandler } from '../../../src/pipeline/send';
import { docsTopic } from '../../../src/broker/topics';
import { Spool } from '../../../src/pipeline/spool';
import type { RenderedPiece } from '../../../src/signature/canonical';
import { makeEdoc } from '../../support/packages';
import { edxmlSendDependencies, MemoryBackbone, sendBody } from '../delivery/fakes';

const US = '000.00.00.H41';
const PARTNER = '000.00.00.G22';
const ELSEWHERE = '000.00.00.G99';

describe('send pipeline: packages for this agency from a VXP endpoint (acceptsInbound)', () => {
  let spool: Spool;
  before(async () => (spool = await Spool.open()));
  after(() => spool.close());

  async function send(body: Buffer, acceptsInbound: boolean) {
    const memory = new MemoryBackbone(new Set([docsTopic(US), docsTopic(PARTNER), docsTopic(ELSEWHERE)]));
    let signed = 0;
    const handler = makeSendHandler({
      ...edxmlSendDependencies(US, memory, spool),
      // A signer that marks what it signed: an inbound package must never reach it.
      sign: () => {
        signed += 1;
        return [Buffer.from('<signed-by-us/>')] as unknown as RenderedPiece[];
      },
      acceptsInbound,
    });
    const outcome = await sendBody(handler, body);
    return { memory, signed, outcome };
  }

  it('a package from a partner for this agency: written to this agency\'s own topic only, byte for byte, unsigned by us', async () => {
    const pkg = makeEdoc({ from: PARTNER, to: [US, ELSEWHERE], number: 7 });
    const { memory, signed, outcome } = await send(pkg, true);
    assert.equal(outcome.accepted, true);
    assert.deepEqual(memory.records.map((r) => r.topic), [docsTopic(US)], 'not to the other recipient: the endpoint delivers its copy');
    assert.ok(memory.records[0]!.value.equals(pkg));
    assert.equal(signed, 0);
  });

  it('a package neither from nor for this agency is refused (not-addressed-to-us), nothing written', async () => {
    const { memory, outcome } = await send(makeEdoc({ from: PARTNER, to: [ELSEWHERE], number: 8 }), true);
    assert.equal(outcome.rejected?.reason, 'not-addressed-to-us');
    assert.equal(memory.records.length, 0);
  });

  it('without acceptsInbound, a package from a partner is refused as before', async () => {
    const { memory, outcome } = await send(makeEdoc({ from: PARTNER, to: [US], number: 9 }), false);
    assert.equal(outcome.rejected?.reason, 'invalid-edxml');
    assert.equal(memory.records.length, 0);
  });
});
