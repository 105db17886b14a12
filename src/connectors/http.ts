/** HTTP transport: the ingest (source) in ./http/source.ts, delivery (sink) in ./http/sink.ts. */
export { HttpSource, type HttpSourceOptions, type HttpTlsFiles } from './http/source';
export { HttpSink, isTransientStatus, type HttpSinkOptions } from './http/sink';
