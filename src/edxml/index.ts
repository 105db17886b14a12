/** edXML (QCVN 102:2016): model, tolerant reader, strict writer, validation, safe parsing. */
export * from './model';
export { readPackage, readParsedPackage, deriveDocumentId, normalizeContentId } from './reader';
export { writeEdoc, writeStatus, buildStatus, type WriteOptions, type BuildStatusInput } from './writer';
export { validatePackage, validatePackageDeep, validateRead, validateReadDeep, unacceptable, rejectionProblem, type ValidationResult } from './validate';
export {
  openAttachment,
  attachmentZipDirectory,
  readAll,
  drain,
  type OpenAttachmentOptions,
  type ZipDirectory,
  type ZipEntry,
} from './attachments';
export { assertXmlWithinLimits, parseXmlDocument, parseXml, type ParsedXml } from './safe-xml';
export * from './dates';
export * from './organ-id';
