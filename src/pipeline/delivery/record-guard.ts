/**
 * The first check every record from the backbone passes, before anything reads its headers or
 * bytes (issue 14): its key and headers are bounded (limits.maxRecordMetadataBytes), so that its
 * dead letter, which carries them losslessly, always fits one Kafka message. A record over the
 * bound is dead-lettered at once without them (their size is noted; the original stays at its
 * source offset until retention).
 */
import type { RecordHandler } from '../../broker/consumer';
import { metadataBytes } from '../../broker/record-metadata';
import { Rejection } from '../../errors';
import type { Limits } from '../../limits';
import { deadLetter, type DeadLetterDependencies } from './dead-letter';

export function guardRecords(deps: DeadLetterDependencies & { limits: Pick<Limits, 'maxRecordMetadataBytes'> }, next: RecordHandler): RecordHandler {
  return async (record, signal, control) => {
    const bytes = metadataBytes(record);
    const limit = deps.limits.maxRecordMetadataBytes;
    if (bytes <= limit) return next(record, signal, control);
    const at = deps.now?.() ?? new Date();
    const rejection = new Rejection('limit-exceeded', `key and headers of ${bytes} bytes, more than ${limit}`, 'limits.maxRecordMetadataBytes');
    await deadLetter(
      deps,
      record,
      { reason: rejection.reason, detail: rejection.detail, limit: rejection.limit, history: { attempts: 1, firstFailure: at, lastFailure: at } },
      undefined,
      { omitMetadata: true },
    );
  };
}
