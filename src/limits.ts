/**
 * Explicit limits (DESIGN.md §4 rule 7). Every limit lives under `limits.` in the agency config
 * with the safe default below; exceeding one raises Rejection('limit-exceeded', …, 'limits.<key>').
 */
export interface Limits {
  /** Bytes of one package as it arrives (the whole edXML file). */
  maxPackageBytes: number;
  /**
   * Bytes of a large package outside its long attachment texts (markup, header text): what a
   * spooled package holds in memory (src/edxml/spooled-package.ts).
   */
  maxMarkupBytes: number;
  /** Decoded bytes of one attachment. */
  maxAttachmentBytes: number;
  /** Decoded bytes of all attachments of one package together. */
  maxTotalAttachmentBytes: number;
  /** Uncompressed/compressed ratio allowed for a zipped attachment. */
  maxZipExpansionRatio: number;
  /** Uncompressed bytes allowed for one zipped attachment's entries together. */
  maxZipUncompressedBytes: number;
  /** Entries in one zipped attachment's central directory. */
  maxZipEntries: number;
  maxXmlDepth: number;
  maxXmlElements: number;
  maxXmlAttributesPerElement: number;
  /** Characters of one text node other than attachment base64 (Subject, Content, …). */
  maxTextLength: number;
  maxSignatureReferences: number;
  maxSignatureTransforms: number;

  // The budget of what arrives from the backbone (issue 14, docs/DELIVERY.md "Budgets").
  /** Bytes of one record's key and headers together (names and values). */
  maxRecordMetadataBytes: number;
  /** Failed attempts at one record (transient backbone failures do not count) before it is dead-lettered. */
  maxRecordAttempts: number;
  /** Time one record may be worked on (not counting time consumption is held by a breaker or the backbone) before it is dead-lettered. */
  maxRecordMs: number;
  /** Chunked packages being reassembled at once (they hold no in-flight slot). */
  maxOpenPackages: number;
  /** Chunked packages of one sender (the `vdxp-from` header) being reassembled at once. */
  maxOpenPackagesPerSender: number;
  /** Time from a package's chunk 0 to its last chunk (not counting time consumption is held by a breaker). */
  maxPackageAgeMs: number;
  /** Chunks one package may declare. */
  maxChunksPerPackage: number;
  /** Scratch bytes reserved by every package being reassembled together; at most the scratch volume (Helm `scratch.sizeLimit`). */
  maxScratchBytes: number;
  /** Scratch bytes reserved by the packages of one sender together. */
  maxScratchBytesPerSender: number;
  /** Age of a status (its Timestamp) beyond which it is refused as a replay. */
  maxStatusAgeSeconds: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxPackageBytes: 256 * 1024 * 1024,
  maxMarkupBytes: 32 * 1024 * 1024,
  maxAttachmentBytes: 200 * 1024 * 1024,
  maxTotalAttachmentBytes: 200 * 1024 * 1024,
  maxZipExpansionRatio: 100,
  maxZipUncompressedBytes: 200 * 1024 * 1024,
  maxZipEntries: 1000,
  maxXmlDepth: 64,
  maxXmlElements: 100_000,
  maxXmlAttributesPerElement: 32,
  maxTextLength: 1024 * 1024,
  maxSignatureReferences: 1,
  maxSignatureTransforms: 2,
  maxRecordMetadataBytes: 64 * 1024,
  maxRecordAttempts: 10,
  maxRecordMs: 30 * 60_000,
  maxOpenPackages: 16,
  maxOpenPackagesPerSender: 4,
  maxPackageAgeMs: 15 * 60_000,
  maxChunksPerPackage: 1024,
  maxScratchBytes: 1024 * 1024 * 1024,
  maxScratchBytesPerSender: 512 * 1024 * 1024,
  maxStatusAgeSeconds: 30 * 24 * 3600,
});

export function withDefaults(partial: Partial<Limits> = {}): Limits {
  return { ...DEFAULT_LIMITS, ...partial };
}
