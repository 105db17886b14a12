/**
 * The backbone CA (config.kafka.tls.caFile) as a metric: vdxp_certificate_expiry_timestamp_seconds
 * {kind="backbone_ca"} is the earliest notAfter in that file, so VdxpCertificateExpiringSoon warns
 * before the brokers' certificates can no longer be verified. During a CA change the file holds
 * old and new CA together (docs/OPERATIONS.md); the old one's date shows until it is removed.
 */
import * as fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { AgencyConfig } from '../config/types';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export function reportBackboneCaExpiry(config: AgencyConfig, metrics: Metrics, log: Logger): void {
  const caFile = config.kafka.tls?.enabled ? config.kafka.tls.caFile : undefined;
  if (!caFile) return;
  try {
    const notAfter = (fs.readFileSync(caFile, 'utf8').match(PEM_CERTIFICATE) ?? []).map((pem) => new Date(new X509Certificate(pem).validTo).getTime());
    if (notAfter.length > 0) metrics.setCertificateExpiry('backbone_ca', new Date(Math.min(...notAfter)));
  } catch (err) {
    // librdkafka reports an unusable CA file itself (on /readyz); the metric is only missing.
    log.warn({ step: 'startup', err }, `cannot read the backbone CA in ${caFile} for its expiry metric`);
  }
}
