import { strict as assert } from 'node:assert';
import { commonClientConfig } from '../../../src/broker/client-config';
import { MAX_MESSAGE_BYTES, producerProperties } from '../../../src/broker/producer';

describe('producer properties', () => {
  it('batch briefly (linger 5 ms) and compress with lz4 unless the operator says otherwise', () => {
    const props = producerProperties(commonClientConfig({ brokers: ['k:9092'] }, 'vdxp'));
    assert.equal(props['linger.ms'], 5);
    assert.equal(props['compression.type'], 'lz4');
  });

  it('let kafka.librdkafka tune linger and compression', () => {
    const props = producerProperties(commonClientConfig({ brokers: ['k:9092'], librdkafka: { 'linger.ms': 20, 'compression.type': 'zstd' } }, 'vdxp'));
    assert.equal(props['linger.ms'], 20);
    assert.equal(props['compression.type'], 'zstd');
  });

  it('keep idempotence and the 1 MB record limit whatever kafka.librdkafka says', () => {
    const props = producerProperties(
      commonClientConfig({ brokers: ['k:9092'], librdkafka: { 'enable.idempotence': false, 'message.max.bytes': 10_000_000 } }, 'vdxp'),
    );
    assert.equal(props['enable.idempotence'], true);
    assert.equal(props['message.max.bytes'], MAX_MESSAGE_BYTES);
  });
});
