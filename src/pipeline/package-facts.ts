/**
 * What the pipeline needs to route and account for a package, read once through the edXML
 * reader (which enforces the limits and validates the structure).
 */
import type { Limits } from '../limits';
import { readPackage } from '../edxml/reader';
import type { EdxmlPackage } from '../edxml/model';

export interface PackageFacts {
  kind: 'edoc' | 'status';
  documentId: string;
  fromOrganId: string;
  /** edoc: every To/OrganId; status: the counterpart in ResponseFor/OrganId. */
  recipients: string[];
  statusCode?: string;
  package: EdxmlPackage;
}

export function readPackageFacts(bytes: Buffer, limits: Limits): PackageFacts {
  const pkg = readPackage(bytes, limits);
  const recipients = pkg.kind === 'edoc' ? [...new Set(pkg.to.map((t) => t.organId))] : [pkg.responseFor.organId];
  return {
    kind: pkg.kind,
    documentId: pkg.documentId,
    fromOrganId: pkg.from.organId,
    recipients,
    statusCode: pkg.kind === 'status' ? pkg.statusCode : undefined,
    package: pkg,
  };
}
