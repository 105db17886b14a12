import { REJECTION_REASONS, type RejectionReason } from '../../errors';

export function isRejectionReason(value: string): value is RejectionReason {
  return (REJECTION_REASONS as readonly string[]).includes(value);
}
