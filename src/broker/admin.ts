/** Topic creation through the admin API: the connector creates its own topics, broker auto-creation is off. */
import { AdminClient, CODES } from 'node-rdkafka';
import type { RdKafkaConfig } from './client-config';
import { asError } from './producer';

export async function ensureTopics(
  config: RdKafkaConfig,
  topics: string[],
  settings: { partitions: number; replicationFactor: number; config?: Record<string, string> },
  timeoutMs = 15_000,
): Promise<void> {
  const admin = AdminClient.create({ ...config });
  try {
    for (const topic of topics) {
      await new Promise<void>((resolve, reject) => {
        admin.createTopic(
          { topic, num_partitions: settings.partitions, replication_factor: settings.replicationFactor, ...(settings.config ? { config: settings.config } : {}) },
          timeoutMs,
          (err) => {
            if (!err || err.code === CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) resolve();
            else reject(new Error(`creating topic ${topic}: ${asError(err).message}`));
          },
        );
      });
    }
  } finally {
    admin.disconnect();
  }
}
