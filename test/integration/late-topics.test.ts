/**
 * Topics that appear after the consumer subscribed, on the real broker. librdkafka leaves a
 * subscribed topic that was missing at subscribe time unassigned until its next metadata refresh
 * (5 min by default): a connector that started while the backbone operator was still creating its
 * status topic, or that subscribed before the broker listed a topic it had just created, took no
 * status for minutes. The consumer refreshes every 15 s, and startup waits until its topics are listed.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { ensureTopics } from '../../src/broker/admin';
import { commonClientConfig } from '../../src/broker/client-config';
import { BackboneConsumer } from '../../src/broker/consumer';
import { BackboneProducer } from '../../src/broker/producer';
import { TEST_BROKERS, waitFor } from '../support/agency';

describe('topics created after the subscription (real Kafka)', function () {
  this.timeout(90_000);
  const config = commonClientConfig({ brokers: [TEST_BROKERS] }, 'vdxp-test-late-topics');
  const settings = { partitions: 1, replicationFactor: 1 };
  let producer: BackboneProducer;

  before(async () => {
    producer = new BackboneProducer(config);
    await producer.connect();
  });
  after(() => producer.disconnect());

  it('a topic created 2 s after the consumer subscribed is consumed within 30 s', async () => {
    const present = `vdxp.test.present.${randomUUID()}`;
    const late = `vdxp.test.late.${randomUUID()}`;
    await ensureTopics(config, [present], settings);
    const seen: string[] = [];
    const consumer = new BackboneConsumer(config, { groupId: `vdxp.test.late.${randomUUID()}`, topics: [present, late] });
    await consumer.connect();
    consumer.start(async (record) => void seen.push(`${record.topic} ${record.value.toString()}`));
    try {
      assert.ok(await consumer.waitForAssignment(20_000), 'the present topic is assigned');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await ensureTopics(config, [late], settings);
      await producer.untilTopicsListed([late]);
      await producer.send({ topic: late, key: 'k', value: Buffer.from('status 01'), headers: {} });
      await waitFor(() => seen.includes(`${late} status 01`), 30_000, () => `the record on the late topic (seen: ${JSON.stringify(seen)})`);
    } finally {
      await consumer.stop(5_000);
    }
  });

  it('untilTopicsListed names the topics the broker does not list when its time is up', async () => {
    const never = `vdxp.test.never.${randomUUID()}`;
    const started = Date.now();
    await assert.rejects(producer.untilTopicsListed([never], 1_000), (err: Error) => err.message.includes(never) && /not listed/.test(err.message));
    assert.ok(Date.now() - started < 10_000);
  });
});
