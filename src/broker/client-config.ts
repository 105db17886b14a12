/** Turns the `kafka:` section of the agency config into librdkafka properties (TLS and SASL pass through). */
import * as fs from 'node:fs';
import type { KafkaConfig } from '../config/types';

export type RdKafkaConfig = Record<string, string | number | boolean>;

export function commonClientConfig(kafka: KafkaConfig, defaultClientId: string): RdKafkaConfig {
  const tls = kafka.tls?.enabled === true;
  const sasl = kafka.sasl;
  const config: RdKafkaConfig = {
    'metadata.broker.list': kafka.brokers.join(','),
    'client.id': kafka.clientId ?? defaultClientId,
    'security.protocol': sasl ? (tls ? 'sasl_ssl' : 'sasl_plaintext') : tls ? 'ssl' : 'plaintext',
    'socket.keepalive.enable': true,
    // Surface an unreachable or misconfigured broker quickly instead of hanging (readiness reports it).
    'socket.connection.setup.timeout.ms': 10_000,
    'reconnect.backoff.max.ms': 5_000,
  };
  if (tls) {
    if (kafka.tls?.caFile) config['ssl.ca.location'] = kafka.tls.caFile;
    if (kafka.tls?.certFile) config['ssl.certificate.location'] = kafka.tls.certFile;
    if (kafka.tls?.keyFile) config['ssl.key.location'] = kafka.tls.keyFile;
    config['ssl.endpoint.identification.algorithm'] = kafka.tls?.verifyHostname === false ? 'none' : 'https';
  }
  if (sasl) {
    config['sasl.mechanisms'] = sasl.mechanism;
    config['sasl.username'] = sasl.username;
    config['sasl.password'] = fs.readFileSync(sasl.passwordFile, 'utf8').trim();
  }
  return { ...config, ...(kafka.librdkafka ?? {}) };
}
