/**
 * Documents the connector holds but has not yet delivered, so that the age of the oldest one
 * per counterpart can be computed when Prometheus scrapes, not when the pipeline happens to
 * report. Keyed by DocumentId internally; only the counterpart ever becomes a label.
 */
export interface PendingEntry {
  counterpart: string;
  sinceMs: number;
}

export interface PendingSummary {
  count: number;
  oldestSinceMs: number;
}

export class PendingDocuments {
  private readonly entries = new Map<string, PendingEntry>();

  /** Starting to track a document already tracked keeps the earlier start time. */
  add(documentId: string, counterpart: string, sinceMs: number): void {
    const existing = this.entries.get(documentId);
    if (existing && existing.sinceMs <= sinceMs) return;
    this.entries.set(documentId, { counterpart, sinceMs });
  }

  /** Forgetting a document that is not tracked is harmless (e.g. after a restart). */
  remove(documentId: string): void {
    this.entries.delete(documentId);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Count and oldest start time, grouped by the label `labelOf(counterpart)`. */
  summarize(labelOf: (counterpart: string) => string): Map<string, PendingSummary> {
    const byLabel = new Map<string, PendingSummary>();
    for (const { counterpart, sinceMs } of this.entries.values()) {
      const label = labelOf(counterpart);
      const summary = byLabel.get(label);
      if (!summary) byLabel.set(label, { count: 1, oldestSinceMs: sinceMs });
      else {
        summary.count += 1;
        summary.oldestSinceMs = Math.min(summary.oldestSinceMs, sinceMs);
      }
    }
    return byLabel;
  }
}
