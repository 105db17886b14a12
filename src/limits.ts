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
});

export function withDefaults(partial: Partial<Limits> = {}): Limits {
  return { ...DEFAULT_LIMITS, ...partial };
}
