/**
 * RFC 5280 §4.2.1.10 name constraints, checked the way §6.1.3(b)(c) and OpenSSL do: each CA's
 * constraints on their own (which is the intersection the RFC describes), every name of a
 * constrained form must fall in one of that CA's permitted subtrees of the form and in none of
 * its excluded ones. Forms a certificate does not carry are not restricted.
 */
import type * as asn1 from '@peculiar/asn1-x509';
import { attributeValues, canonicalName, OID, type CanonicalRdn, type CertificateFacts } from './certificate-facts';

type Form = 'directoryName' | 'rfc822Name' | 'dNSName' | 'uniformResourceIdentifier' | 'iPAddress' | 'otherName' | 'x400Address' | 'ediPartyName' | 'registeredID';
const FORMS: readonly Form[] = ['directoryName', 'rfc822Name', 'dNSName', 'uniformResourceIdentifier', 'iPAddress', 'otherName', 'x400Address', 'ediPartyName', 'registeredID'];
/** Forms whose matching is implemented; a constrained name of another form refuses the path. */
const MATCHED: ReadonlySet<Form> = new Set(['directoryName', 'rfc822Name', 'dNSName', 'uniformResourceIdentifier']);

interface Name {
  form: Form;
  value: string | readonly CanonicalRdn[];
}

function formOf(name: asn1.GeneralName): Form | undefined {
  return FORMS.find((f) => name[f] !== undefined);
}

/** The names of a certificate that constraints apply to: the subject DN, its emailAddress attributes, the subjectAltNames. */
function namesOf(cert: CertificateFacts): Name[] {
  const names: Name[] = [];
  if (cert.subject.length > 0) names.push({ form: 'directoryName', value: cert.subject });
  for (const email of attributeValues(cert.subjectName, OID.emailAddress)) names.push({ form: 'rfc822Name', value: email });
  for (const alt of cert.subjectAltNames) {
    const form = formOf(alt);
    if (!form) continue;
    const value = alt[form];
    names.push({ form, value: form === 'directoryName' ? canonicalName(value as asn1.Name) : typeof value === 'string' ? value : '' });
  }
  return names;
}

/** Why `cert` violates the constraints of `issuerOfConstraints`, or undefined when it does not. */
export function nameConstraintViolation(cert: CertificateFacts, constraints: asn1.NameConstraints, from: string): string | undefined {
  const permitted = [...(constraints.permittedSubtrees ?? [])];
  const excluded = [...(constraints.excludedSubtrees ?? [])];
  for (const subtree of [...permitted, ...excluded]) {
    if (subtree.minimum !== 0 || subtree.maximum !== undefined) return `${from} uses minimum/maximum in a name constraint (RFC 5280 forbids it)`;
  }
  for (const name of namesOf(cert)) {
    const ofForm = (list: asn1.GeneralSubtree[]) => list.filter((s) => formOf(s.base) === name.form);
    const allowed = ofForm(permitted);
    const forbidden = ofForm(excluded);
    if (allowed.length === 0 && forbidden.length === 0) continue;
    if (!MATCHED.has(name.form)) return `${from} constrains ${name.form} names, which this validator cannot match, and ${cert.description} has one`;
    const shown = typeof name.value === 'string' ? name.value : 'its subject';
    if (allowed.length > 0 && !allowed.some((s) => matches(name, s.base))) {
      return `${name.form} ${shown} of ${cert.description} is outside the permitted subtrees of ${from}`;
    }
    if (forbidden.some((s) => matches(name, s.base))) return `${name.form} ${shown} of ${cert.description} is in an excluded subtree of ${from}`;
  }
  return undefined;
}

function matches(name: Name, base: asn1.GeneralName): boolean {
  switch (name.form) {
    case 'directoryName':
      return dnWithin(name.value as readonly CanonicalRdn[], canonicalName(base.directoryName!));
    case 'dNSName':
      return dnsWithin(name.value as string, base.dNSName!);
    case 'rfc822Name':
      return emailWithin(name.value as string, base.rfc822Name!);
    case 'uniformResourceIdentifier':
      return uriWithin(name.value as string, base.uniformResourceIdentifier!);
    default:
      return false;
  }
}

/** The constraint's RDNs are the first RDNs of the name. */
function dnWithin(name: readonly CanonicalRdn[], base: readonly CanonicalRdn[]): boolean {
  if (base.length > name.length) return false;
  return base.every((rdn, i) => rdn.length === name[i]!.length && rdn.every((v, j) => v === name[i]![j]));
}

const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** `example.gov.vn` covers itself and every name with labels added on the left; `.gov.vn` only names under it. */
function dnsWithin(dns: string, base: string): boolean {
  if (base.length === 0) return true;
  if (dns.length < base.length) return false;
  const tail = dns.slice(dns.length - base.length);
  if (dns.length > base.length && !base.startsWith('.') && dns[dns.length - base.length - 1] !== '.') return false;
  return lower(tail) === lower(base);
}

/** `a@host` one mailbox (local part case-sensitive), `host` every mailbox there, `.host` every mailbox below it. */
function emailWithin(email: string, base: string): boolean {
  const at = email.lastIndexOf('@');
  if (at < 0) return false;
  const baseAt = base.lastIndexOf('@');
  if (baseAt < 0 && base.startsWith('.')) return email.length > base.length && lower(email.slice(email.length - base.length)) === lower(base);
  let baseHost = base;
  if (baseAt >= 0) {
    if (baseAt > 0 && base.slice(0, baseAt) !== email.slice(0, at)) return false;
    baseHost = base.slice(baseAt + 1);
  }
  return lower(email.slice(at + 1)) === lower(baseHost);
}

/** The URI's host: `.host` covers hosts below it, `host` that host exactly. */
function uriWithin(uri: string, base: string): boolean {
  const match = /^[^:/?#]+:\/\/([^:/?#]*)/.exec(uri);
  if (!match) return false;
  const host = match[1]!;
  if (base.startsWith('.')) return host.length > base.length && lower(host.slice(host.length - base.length)) === lower(base);
  return lower(host) === lower(base);
}
