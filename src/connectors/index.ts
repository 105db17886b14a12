/** Builds the transport named in a connector's config. Add a line here when you add a transport. */
import type { ConnectorConfig } from '../config/types';
import { FileDropSink, FileDropSource, type FileDropOptions } from './file-drop';
import { HttpSink, HttpSource, type HttpSinkOptions, type HttpSourceOptions } from './http';
import { AmqpSink, AmqpSource, type AmqpSinkOptions, type AmqpSourceOptions } from './amqp';
import { VxpBridgeSink, VxpBridgeSource, type VxpBridgeSinkOptions, type VxpBridgeSourceOptions } from './vxp-bridge';
import type { Sink, Source, SourceServices } from './types';
import type { SentDocumentsQuery } from '../trail/read-model';
import { VxpConnector, type VxpOptions, type VxpServices } from './vxp/connector';

/** What the agency lends a connector that needs more than its options. */
export interface ConnectorServices extends SourceServices {
  /**
   * The trail's read model: documents this agency sent, with each recipient's latest status, by
   * time range (what the VXP API's getSentEdocList answers). Absent with `trail.enabled: false`.
   */
  sentDocuments?: SentDocumentsQuery;
}

export function createSource(config: ConnectorConfig, services: ConnectorServices & VxpServices & { organId?: string } = {}): Source {
  switch (config.type) {
    case 'vxp':
      return new VxpConnector(config.name, config.options as unknown as VxpOptions, services, services.organId);
    case 'file-drop':
      return new FileDropSource(config.name, config.options as unknown as FileDropOptions);
    case 'http':
      return new HttpSource(config.name, config.options as unknown as HttpSourceOptions, services);
    case 'amqp':
      return new AmqpSource(config.name, config.options as unknown as AmqpSourceOptions);
    case 'vxp-bridge':
      return new VxpBridgeSource(config.name, config.options as unknown as VxpBridgeSourceOptions, services);
    default:
      throw new Error(`connector ${config.name}: transport ${config.type} has no source side yet`);
  }
}

export function createSink(config: ConnectorConfig): Sink {
  switch (config.type) {
    case 'file-drop':
      return new FileDropSink(config.name, config.options as unknown as FileDropOptions);
    case 'http':
      return new HttpSink(config.name, config.options as unknown as HttpSinkOptions);
    case 'amqp':
      return new AmqpSink(config.name, config.options as unknown as AmqpSinkOptions);
    case 'vxp-bridge':
      return new VxpBridgeSink(config.name, config.options as unknown as VxpBridgeSinkOptions);
    default:
      throw new Error(`connector ${config.name}: transport ${config.type} has no sink side yet`);
  }
}

/**
 * The endpoint side of an outbound route (src/pipeline/outbound-routes.ts): a vxp-bridge source
 * with `outbound` sends this agency's own packages with sendEdoc to the endpoint it polls.
 */
export function createOutboundSink(config: ConnectorConfig): Sink {
  if (config.type !== 'vxp-bridge') throw new Error(`connector ${config.name}: transport ${config.type} has no outbound route`);
  return new VxpBridgeSink(`${config.name}/outbound`, config.options as unknown as VxpBridgeSinkOptions);
}
