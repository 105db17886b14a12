/**
 * A format profile converts between a vendor's format and edXML, both ways, for documents and
 * statuses. Profiles are pure: no I/O, no clocks (the context carries what they need), so a
 * vendor can test a mapping offline (`vdxp convert`, `vdxp export`).
 */
import type { DeliveryContext, VendorMessage } from '../connectors/types';

export interface ProfileContext {
  /** The OrganId of the agency this connector serves. */
  ownOrganId: string;
  /** Options from the connector's `profileOptions` in the agency config. */
  options: Record<string, unknown>;
  /** On the way out (edXML → vendor): who the package is, for naming and idempotency. */
  delivery?: DeliveryContext;
}

export interface FormatProfile {
  readonly name: string;
  /**
   * The vendor body is the edXML package byte for byte (the edxml profile): a large package then
   * streams through as a file both ways. Other profiles convert in memory, so their memory grows
   * with the package.
   */
  readonly passesThrough?: boolean;
  /** Vendor message → edXML package bytes. Throws Rejection('mapping-failed' | …). */
  toEdxml(message: VendorMessage, context: ProfileContext): Buffer;
  /** edXML package bytes → vendor message. */
  fromEdxml(edxml: Buffer, context: ProfileContext): VendorMessage;
}
