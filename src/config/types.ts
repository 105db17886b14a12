import type { Limits } from '../limits';
import type { OcspSettings } from '../signature/ocsp-source';

export type SignaturePolicy = 'required' | 'accept-unsigned';

export interface KafkaConfig {
  brokers: string[];
  clientId?: string;
  consumerGroup?: string;
  tls?: { enabled: boolean; caFile?: string; certFile?: string; keyFile?: string; verifyHostname?: boolean };
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; passwordFile: string };
  topics?: { partitions?: number; replicationFactor?: number };
  librdkafka?: Record<string, string | number | boolean>;
}

export type RevocationMode = 'required' | 'best-effort';

/** Either the trust material, or `insecureSkipVerification: true` alone (test setups; see trust-section.ts). */
export interface TrustSection {
  /** PEM files and/or a shipped preset word (`national`, `national-public`). */
  anchors: string[] | 'national' | 'national-public';
  nationalCaDir?: string;
  intermediates?: string[];
  crls?: string[];
  revocation?: RevocationMode;
  /** Under `required`: what an unreachable OCSP responder does (hard-fail refuses, soft-fail accepts). */
  revocationFailure?: 'hard-fail' | 'soft-fail';
  /** OCSP where configured: src/signature/ocsp-source.ts `OcspSettings`. */
  ocsp?: OcspSettings;
  organBindings?: Record<string, string[]>;
  identityRules?: Array<{ name?: string; organId: string | string[]; fingerprint?: string; subject?: string; issuer?: string; serialNumber?: string }>;
  uidIsOrganId?: boolean;
  signingExtendedKeyUsages?: string[];
  defaultPolicy?: SignaturePolicy;
  partners?: Record<string, { policy?: SignaturePolicy; allowSha1?: boolean; revocation?: RevocationMode; revocationFailure?: 'hard-fail' | 'soft-fail' }>;
  insecureSkipVerification?: boolean;
}

export interface ConnectorConfig {
  name: string;
  type: 'file-drop' | 'http' | 'amqp' | 'vxp' | 'vxp-bridge';
  direction: 'source' | 'sink';
  profile: string;
  profileOptions: Record<string, unknown>;
  options: Record<string, unknown>;
}

export interface DeliveryConfig {
  maxInFlight: number;
  /** Records fetched and waiting for a slot, at most, and their bytes: within them a sender's record may start before another sender's older one. */
  maxWaitingRecords: number;
  maxWaitingBytes: number;
  drainTimeoutMs: number;
  breaker: { timeoutMs: number; errorThresholdPercentage: number; resetTimeoutMs: number; volumeThreshold: number };
  retry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
  /** /readyz fails while in-flight work stays at its limit longer than maxSaturatedMs, or a record has failed maxRecordFailures times. */
  readiness: { maxSaturatedMs: number; maxRecordFailures: number };
}

export interface StageLimitsConfig {
  arrivalWorkingMinutes: number;
  acceptanceWorkingMinutes: number;
}

export interface TrailConfig {
  enabled: boolean;
  retentionMs: number;
  checkpointIntervalMs: number;
  overdue: StageLimitsConfig & { counterparts: Record<string, Partial<StageLimitsConfig>> };
  calendar: {
    workingHours: Array<{ from: string; to: string }>;
    workingWeekdays: number[];
    vietnamHolidays: boolean;
    holidays: string[];
    notHolidays: string[];
    workingDays: string[];
  };
  web: {
    enabled: boolean;
    port: number;
    host: string;
    tokenFile?: string;
    tls?: { certFile: string; keyFile: string; clientCaFile?: string };
    refreshSeconds: number;
  };
}

export interface Pkcs11Config {
  module: string;
  token: { label?: string; serial?: string };
  key: { label?: string; id?: string };
  pinFile: string;
  retryIntervalSeconds?: number;
}

export interface SigningConfig {
  keyFile?: string;
  certFile?: string;
  chainFile?: string;
  pkcs11?: Pkcs11Config;
}

/** A validated agency config with every default filled in. */
export interface AgencyConfig {
  organId: string;
  organName?: string;
  kafka: KafkaConfig & { topics: { partitions: number; replicationFactor: number } };
  /** keyFile and certFile, or pkcs11 (with certFile optional: else the certificate is read from the token). */
  signing?: SigningConfig;
  /** Always present after validation: a config without it does not load. */
  trust: TrustSection;
  connectors: ConnectorConfig[];
  limits: Limits;
  trail: TrailConfig;
  ops: { port: number; host: string };
  delivery: DeliveryConfig;
}
