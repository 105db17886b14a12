/**
 * updateStatus(fail): B's legacy system refuses a package it fetched. The refusal is recorded in
 * Kafka (the package is not listed again) and the sender hears status 02 through its own SDK
 * receive loop.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeEdoc } from '../support/packages';
import { uniqueOrganId, useAgencyProcesses, waitFor } from '../support/agency';
import { prepareVxpAgency, sdkFor } from '../support/vxp-agency';
import type { VxpSdkClient } from '../support/vxp-sdk';

describe('VXP SDK 2.0.1: updateStatus(fail)', function () {
  this.timeout(300_000);
  const agencies = useAgencyProcesses('vxp-fail');
  const clients: VxpSdkClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('returns status 02 to the sender and never lists the package again', async () => {
    const a = prepareVxpAgency(agencies.base(), uniqueOrganId('A07'));
    const b = prepareVxpAgency(agencies.base(), uniqueOrganId('B07'));
    await agencies.start(a);
    await agencies.start(b);
    const sdkA = sdkFor(a, '2.0.1');
    const sdkB = sdkFor(b, '2.0.1');
    clients.push(sdkA, sdkB);
    const file = path.join(a.root, 'doc.edxml');
    fs.writeFileSync(file, makeEdoc({ from: a.organId, to: [b.organId], number: 401 }));
    assert.equal((await sdkA.sendEdoc(file, a.organId)).status, 'OK');
    await waitFor(async () => ((await sdkB.getReceivedEdocList('edoc')).knobsticks?.length ?? 0) === 1, 60_000, 'the package at B');
    const loop = await sdkB.receiveLoop('edoc', path.join(b.root, 'got'), 'fail');
    assert.equal(loop.items[0]?.update?.status, 'OK', JSON.stringify(loop.items[0]));
    assert.equal((await sdkB.getReceivedEdocList('edoc')).knobsticks?.length ?? 0, 0);
    // A different confirmation of the same package is refused: the first one stands.
    const changed = await sdkB.updateStatus(loop.items[0]!.id, 'done');
    assert.equal(changed.errorCode, 'already-confirmed');

    let bodies: string[] = [];
    await waitFor(
      async () => {
        await sdkA.renew();
        const statuses = await sdkA.receiveLoop('status', path.join(a.root, 'statuses'), 'done');
        bodies = bodies.concat(statuses.items.map((i) => fs.readFileSync(i.getEdoc!.filePath!, 'utf8')));
        return bodies.some((s) => /<edXML:StatusCode>02<\/edXML:StatusCode>/.test(s));
      },
      60_000,
      () => `status 02 at A (got ${bodies.length} statuses)`,
    );
    const refusal = bodies.find((s) => /<edXML:StatusCode>02<\/edXML:StatusCode>/.test(s))!;
    assert.match(refusal, /refused by the receiving system/);
  });
});
