/**
 * A partner agency that writes straight into another agency's topics (issue 14): what the
 * review's hostile writer did, as helpers for the integration tests. Records with UTF-8 headers
 * go through the project's own producer; records whose key or header values are arbitrary bytes
 * go through the Kafka Java client (node-rdkafka writes header values as UTF-8 strings only).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { KafkaConsumer } from 'node-rdkafka';
import { BackboneProducer } from '../../src/broker/producer';
import { commonClientConfig } from '../../src/broker/client-config';
import { TopicReader } from '../../src/broker/topic-reader';
import { deadLetterTopic, HEADERS } from '../../src/broker/topics';
import type { IncomingRecord } from '../../src/broker/consumer';
import { makeEdoc } from './packages';
import { REPO_ROOT } from './paths';
import { TEST_BROKERS } from './agency';

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export class HostilePartner {
  readonly producer = new BackboneProducer(commonClientConfig({ brokers: [TEST_BROKERS] }, `vdxp-test-hostile-${process.pid}`));

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /** `n` chunk 0s of packages that never complete: 7-byte values, each its own content hash, `vdxp-chunk: 0/2`. */
  async danglingChunkZeros(topic: string, n: number, sender: string, key = (i: number) => `dangling-${i}`): Promise<void> {
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        this.producer.send({
          topic,
          key: key(i),
          value: Buffer.from('7 bytes'),
          headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: sender, [HEADERS.chunk]: '0/2', [HEADERS.packageBytes]: '14', [HEADERS.contentSha256]: sha256(`dangling ${i} ${randomBytes(8).toString('hex')}`) },
        }),
      ),
    );
  }

  /** Documents from `from` to `to` whose DocumentId carries a character reference XML 1.0 forbids. */
  async forbiddenCharacterDocuments(topic: string, n: number, from: string, to: string, key = (i: number) => `forbidden-${i}`): Promise<void> {
    for (let i = 0; i < n; i++) {
      const doc = makeEdoc({ from, to: [to], number: 900 + i }).toString('utf8').replace(/<edXML:DocumentId>[^<]*</, `<edXML:DocumentId>${from},2026/11/23,${900 + i}&#x1;/UBND-VP<`);
      await this.producer.send({ topic, key: key(i), value: Buffer.from(doc), headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: from } });
    }
  }

  /** Records with arbitrary key and header bytes, through the Kafka Java client. */
  rawRecords(records: Array<{ topic: string; partition?: number; key?: Buffer; value: Buffer; headers: Array<[string, Buffer]> }>): void {
    const lines = records.map((r) =>
      JSON.stringify({ topic: r.topic, ...(r.partition === undefined ? {} : { partition: r.partition }), key: r.key ? r.key.toString('base64') : null, value: r.value.toString('base64'), headers: r.headers.map(([n, v]) => [n, v.toString('base64')]) }),
    );
    const result = spawnSync('java', ['-cp', `${kafkaLibs()}/*`, path.join(REPO_ROOT, 'test', 'support', 'java', 'RawRecordProducer.java'), TEST_BROKERS], {
      input: lines.join('\n') + '\n',
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (result.status !== 0 || !result.stdout.includes(`sent ${records.length}`)) {
      throw new Error(`RawRecordProducer failed (${result.status}): ${result.stdout}\n${result.stderr.slice(-2000)}`);
    }
  }
}

/** The Kafka jars setup.sh fetched (.tools/kafka-<version>/libs). */
function kafkaLibs(): string {
  const tools = path.join(REPO_ROOT, '.tools');
  const wanted = path.join(tools, `kafka-${process.env.KAFKA_VERSION ?? '4.1.1'}`, 'libs');
  if (fs.existsSync(wanted)) return wanted;
  const any = fs.readdirSync(tools).find((d) => d.startsWith('kafka-') && fs.existsSync(path.join(tools, d, 'libs')));
  if (!any) throw new Error(`no Kafka jars under ${tools}: run scripts/setup.sh`);
  return path.join(tools, any, 'libs');
}

/** Every record now in an agency's dead-letter topic (empty when the topic does not exist yet). */
export async function deadLetters(organId: string): Promise<IncomingRecord[]> {
  const reader = new TopicReader(commonClientConfig({ brokers: [TEST_BROKERS] }, `vdxp-test-dlq-reader-${process.pid}`));
  await reader.connect();
  try {
    return await reader.readAll(deadLetterTopic(organId)).catch((err: Error) => {
      if (/does not exist/.test(err.message)) return [];
      throw err;
    });
  } finally {
    await reader.disconnect();
  }
}

/**
 * Per partition of `topic`: the offset the agency's consumer group committed and the partition's
 * end. Read with the group's id but without joining it, so the running connector is not disturbed.
 */
export async function commitState(organId: string, topic: string): Promise<Array<{ partition: number; committed: number; end: number }>> {
  const consumer = new KafkaConsumer({ ...commonClientConfig({ brokers: [TEST_BROKERS] }, `vdxp-test-offsets-${process.pid}`), 'group.id': `vdxp.${organId}`, 'enable.auto.commit': false }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 15_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    const metadata = await new Promise<{ topics: Array<{ name: string; partitions: Array<{ id: number }> }> }>((resolve, reject) =>
      consumer.getMetadata({ topic, timeout: 10_000 }, (err, data) => (err ? reject(err) : resolve(data))),
    );
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    const committed = await new Promise<Array<{ partition: number; offset?: number }>>((resolve, reject) =>
      consumer.committed(partitions.map((partition) => ({ topic, partition })), 10_000, (err, tps) => (err ? reject(err) : resolve(tps))),
    );
    const out = [];
    for (const partition of partitions) {
      const end = await new Promise<number>((resolve, reject) => consumer.queryWatermarkOffsets(topic, partition, 10_000, (err, o) => (err ? reject(err) : resolve(o.highOffset))));
      const offset = committed.find((c) => c.partition === partition)?.offset ?? -1;
      out.push({ partition, committed: offset, end });
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** True once the group committed every record of every partition of `topic`. */
export async function fullyCommitted(organId: string, topic: string): Promise<boolean> {
  return (await commitState(organId, topic)).every((p) => p.end === 0 || p.committed >= p.end);
}

export function getText(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** The value of one series in a /metrics exposition, or undefined if absent. */
export function metricValue(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Mounts a tmpfs of `megabytes` at `dir` when this process may (root); returns an unmount function, or undefined. */
export function mountSmallTmpfs(dir: string, megabytes: number): (() => void) | undefined {
  fs.mkdirSync(dir, { recursive: true });
  if (process.getuid?.() !== 0) return undefined;
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m,mode=0777`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) return undefined;
  return () => void spawnSync('umount', ['-l', dir]);
}
