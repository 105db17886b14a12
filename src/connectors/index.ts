/** Builds the transport named in a connector's config. Add a line here when you add a transport. */
import type { ConnectorConfig } from '../config/types';
import { FileDropSink, FileDropSource, type FileDropOptions } from './file-drop';
import type { Sink, Source } from './types';

export function createSource(config: ConnectorConfig): Source {
  switch (config.type) {
    case 'file-drop':
      return new FileDropSource(config.name, config.options as unknown as FileDropOptions);
    default:
      throw new Error(`connector ${config.name}: transport ${config.type} has no source side yet`);
  }
}

export function createSink(config: ConnectorConfig): Sink {
  switch (config.type) {
    case 'file-drop':
      return new FileDropSink(config.name, config.options as unknown as FileDropOptions);
    default:
      throw new Error(`connector ${config.name}: transport ${config.type} has no sink side yet`);
  }
}
