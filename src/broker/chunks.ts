/**
 * Packages larger than a Kafka message cross the backbone as chunks on one partition and are
 * reassembled into a spool file on the receiver (DESIGN.md §4 rule 6, docs/DELIVERY.md "Large documents").
 */
export { CHUNK_BYTES, needsChunking } from './chunk-format';
export { sendChunked, type ChunkSendOptions } from './chunk-sender';
export { ChunkAssembler, type ChunkAssemblerOptions, type ChunkLog, type IncomingPackage, type PackageHandler } from './chunk-assembler';
