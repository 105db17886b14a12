/**
 * The native profile, for legacy systems that already speak QCVN 102 edXML: packages pass
 * through byte for byte (a signed package must never be re-serialised).
 */
import type { FormatProfile } from '../profile';
import { fileStem } from '../../pipeline/identity';

export const edxmlProfile: FormatProfile = {
  name: 'edxml',
  passesThrough: true,
  toEdxml: (message) => message.body,
  fromEdxml: (edxml, context) => {
    const delivery = context.delivery;
    const stem = delivery ? fileStem(delivery.documentId) : 'package';
    const kind = delivery?.kind === 'status' ? `.status-${delivery.statusCode ?? 'xx'}` : '';
    const hash = delivery ? `.${delivery.idempotencyKey.slice(-12)}` : '';
    return { body: edxml, fileName: `${stem}${kind}${hash}.edxml`, contentType: 'application/xml', sideFiles: [] };
  },
};
