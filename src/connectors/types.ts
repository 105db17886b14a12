/**
 * The seam between the connector and a vendor's legacy system. A transport (file drop, HTTP,
 * AMQP) is one file in this folder implementing Source, Sink or both. Transports move
 * VendorMessages; they never look inside them — format profiles (src/transform) do that.
 */
import type { Rejection } from '../errors';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import type { ReplayGuard } from './replay-guard';

/** A document or status as the legacy system sees it, in the vendor's own format. */
export interface VendorMessage {
  /** The main body: an edXML file, a flat XML export, a JSON document, CSV metadata… */
  body: Buffer;
  /** Name of the body as a file (file drop uses it; other transports may ignore it). */
  fileName: string;
  contentType: string;
  /** Files that travel beside the body, e.g. attachments of a flat XML export. */
  sideFiles: SideFile[];
  /**
   * A body too large to hold in memory (over LARGE_BODY_BYTES) lives in this file instead, and
   * `body` is empty. Sources set it for large inputs; every sink must honour it by streaming.
   * The file belongs to whoever produced the message: a sink reads it and never moves or deletes it.
   */
  bodyFile?: BodyFile;
  /**
   * Who handed the message over, where the source authenticates its clients (the HTTP ingest's
   * systemId). `mayActAs` lists the From/OrganIds that client may send as; without it, the
   * agency's own OrganId only. The send pipeline refuses any other From (`sender-not-allowed`).
   */
  sender?: { id: string; mayActAs?: string[] };
}

export interface BodyFile {
  path: string;
  /** Bytes in the file. */
  length: number;
}

/** Bodies larger than this travel as a BodyFile, so that memory does not grow with document size (DESIGN.md rule 6). */
export const LARGE_BODY_BYTES = 1024 * 1024;

/**
 * How long a listener (HTTP ingest, VXP API) waits for a whole request, body included, unless
 * `requestTimeoutSeconds` says otherwise. Node's own default (300 s) cuts off a 200 MB scan on a
 * link under 0.7 MB/s; an unauthenticated client is cut off long before, when its headers are refused.
 */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 1800;

/** The server options that make Node enforce `requestTimeoutSeconds` (it checks every 30 s by default). */
export function requestTimeoutOptions(requestTimeoutSeconds = DEFAULT_REQUEST_TIMEOUT_SECONDS): { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number } {
  const requestTimeout = requestTimeoutSeconds * 1000;
  // Node refuses a headersTimeout (60 s by default) longer than the requestTimeout.
  return { requestTimeout, headersTimeout: Math.min(60_000, requestTimeout), connectionsCheckingInterval: Math.min(30_000, Math.max(100, requestTimeout / 4)) };
}

export interface SideFile {
  name: string;
  bytes: Buffer;
}

/**
 * How the pipeline settles one item a Source handed over. Exactly one of these is called,
 * once. The source must keep the item until then (DESIGN.md §4 rule 1).
 */
export interface SourceSettlement {
  /** Kafka holds every copy: move the file to sent/, ack the message, answer 202. */
  accepted(): Promise<void>;
  /** The item can never be accepted: move it to rejected/ with the reason, answer 4xx, … */
  rejected(rejection: Rejection): Promise<void>;
  /** A transient failure (e.g. Kafka unreachable): leave the item to be offered again later. */
  retryLater(error: Error): Promise<void>;
}

export type SourceHandler = (message: VendorMessage, settle: SourceSettlement) => Promise<void>;

/** What the agency gives a source besides its options: where to log, count and guard against replays. */
export interface SourceServices {
  log?: Logger;
  metrics?: Metrics;
  /** Shared by the agency's replicas (src/broker/request-ledger.ts); a source without one guards only itself. */
  replayGuard?: ReplayGuard;
}

export interface Source {
  readonly name: string;
  /** Begin offering items to the handler. Resolves once the source is listening. */
  start(handler: SourceHandler): Promise<void>;
  /** Stop taking new items and wait for items in flight to be settled. */
  stop(): Promise<void>;
}

/** Identity of one delivery; the same package always yields the same idempotency key. */
export interface DeliveryContext {
  documentId: string;
  /** Stable across redeliveries: derived from DocumentId and the content hash (rule 2). */
  idempotencyKey: string;
  kind: 'edoc' | 'status';
  /** For a status: its two-digit StatusCode. */
  statusCode?: string;
  fromOrganId: string;
}

/** Failure classes a sink reports so the pipeline knows whether to retry (DESIGN.md §4 rule 4). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface Sink {
  readonly name: string;
  start(): Promise<void>;
  /**
   * Deliver to the legacy system. Resolves only when the legacy system confirmed it (file renamed
   * into place, HTTP 2xx, broker confirm). Throws DeliveryError; transient ones are retried.
   */
  deliver(message: VendorMessage, context: DeliveryContext): Promise<void>;
  stop(): Promise<void>;
}
