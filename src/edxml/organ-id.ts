/**
 * Organization identifiers (mã định danh), SPEC §11. Both forms are recognised and reported;
 * neither is enforced. What is enforced is a sane character set, because OrganIds become Kafka
 * topic names (`vdxp.docs.<OrganId>`) and file names.
 */

/** QCVN 102:2016: `DDD.DD.DD.Xnn`, most specific group first, e.g. `000.00.00.G22`. */
export const QCVN102_ORGAN_ID = /^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$/;
/** Decision 20/2020/QĐ-TTg: top level first, variable groups, e.g. `G09.20`, `H37.02.02`, `H01.151.01`. */
export const QD20_ORGAN_ID = /^[A-Z]\d{2}(?:\.\d{2,3}){0,4}$/;
/** Kafka topic-name characters, a letter or digit first, at most 64. */
export const SANE_ORGAN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type OrganIdForm = 'qcvn102' | 'qd20' | 'other';

export interface OrganIdReport {
  /** Where it was found, e.g. `/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId`. */
  path: string;
  value: string;
  form: OrganIdForm;
  sane: boolean;
}

export function organIdForm(id: string): OrganIdForm {
  if (QCVN102_ORGAN_ID.test(id)) return 'qcvn102';
  if (QD20_ORGAN_ID.test(id)) return 'qd20';
  return 'other';
}

export function isSaneOrganId(id: string): boolean {
  return SANE_ORGAN_ID.test(id);
}
