/**
 * Which agency a signer certificate may sign for (DESIGN.md §5: the certificate must be bound to
 * `From/OrganId`). The national PKI names an agency by `UID=MST:<tax code>` or by name, almost
 * never by its edXML OrganId (../shared/national-ca/README.md), so the trust config maps
 * certificates to OrganIds with rules (`trust.identityRules`):
 *
 * - `fingerprint`: exactly one certificate (its SHA-256);
 * - `subject: UID=MST:0301519977-029`: every certificate whose subject carries that attribute
 *   value (compared as names are: trimmed, white space folded, ASCII case folded), optionally only
 *   those issued by `issuer` (the issuing CA's distinguished name);
 * - `issuer` + `serialNumber`: the one certificate that CA issued under that serial.
 *
 * A rule may name several OrganIds (one certificate for the agencies of a shared server). The
 * legacy `trust.organBindings` (OrganId → fingerprints) becomes fingerprint rules. Without any rule
 * for a certificate and its OrganId, the default rule binds a certificate to the OrganId its UID
 * attribute carries (test and demo PKIs; `trust.uidIsOrganId: false` turns it off).
 *
 * Rules that match the same thing twice are refused when the config is loaded, naming both; a
 * certificate that two rules with different OrganIds match is refused when it is used, naming both.
 */
import { canonicalText, OID, sameName, type CanonicalRdn, type CertificateFacts } from './certificate-facts';

export type IdentityRuleKind = 'fingerprint' | 'issuer-serial' | 'subject-attribute' | 'uid-is-organid';

/** One item of `trust.identityRules` as written in the config. */
export interface IdentityRuleConfig {
  /** A label for logs and `vdxp verify --json`; the rule's config path is used otherwise. */
  name?: string;
  organId: string | string[];
  fingerprint?: string;
  /** `ATTRIBUTE=value`, e.g. `UID=MST:0301519977-029`; the attribute by short name or dotted OID. */
  subject?: string;
  /** The issuing CA's distinguished name, e.g. `C=VN, O=Ban Cơ yếu Chính phủ, CN=CA phục vụ các cơ quan Nhà nước G2`. */
  issuer?: string;
  /** Hex, with or without colons (as `openssl x509 -serial` prints it). */
  serialNumber?: string;
}

/** What `vdxp verify --json` and the trail report: the rule that bound the signer. */
export interface BoundBy {
  /** Where the rule is configured: `trust.identityRules[2]`, `trust.organBindings.<OrganId>[0]`, or `default`. */
  rule: string;
  name?: string;
  kind: IdentityRuleKind;
  /** What it matched, e.g. `UID=MST:0301519977-029` or `SHA-256 ab12…`. */
  match: string;
}

export interface IdentityRule {
  source: string;
  name?: string;
  kind: Exclude<IdentityRuleKind, 'uid-is-organid'>;
  organIds: readonly string[];
  match: string;
  /** Equal keys match the same certificates. */
  key: string;
  /** For a subject rule restricted to an issuer: the key of the same rule without the restriction. */
  unscopedKey?: string;
  matches(cert: CertificateFacts): boolean;
}

export interface IdentityRules {
  rules: readonly IdentityRule[];
  uidIsOrganId: boolean;
  /** OrganIds some rule names: the UID default does not bind them. */
  ruledOrganIds: ReadonlySet<string>;
}

export const DEFAULT_IDENTITY_RULES: IdentityRules = { rules: [], uidIsOrganId: true, ruledOrganIds: new Set() };

/** A rule that cannot be used, or two that contradict each other; `path` is the config path of the (later) rule. */
export class IdentityRuleError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${path}: expected ${expected}, found ${found}`);
  }
}

/** Attribute short names, as OpenSSL and RFC 4514 write them. */
const ATTRIBUTE_OIDS: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  STREET: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  T: '2.5.4.12',
  TITLE: '2.5.4.12',
  GN: '2.5.4.42',
  DC: '0.9.2342.19200300.100.1.25',
  UID: OID.uid,
  E: OID.emailAddress,
  EMAILADDRESS: OID.emailAddress,
};
/** Short names for messages (the first name of each OID above). */
const OID_NAMES = new Map<string, string>();
for (const [name, oid] of Object.entries(ATTRIBUTE_OIDS)) {
  if (!OID_NAMES.has(oid)) OID_NAMES.set(oid, name === 'EMAILADDRESS' ? 'emailAddress' : name === 'SERIALNUMBER' ? 'serialNumber' : name);
}

function attributeOid(type: string): string | undefined {
  const t = type.trim();
  if (/^[0-9]+(\.[0-9]+)+$/.test(t)) return t;
  return ATTRIBUTE_OIDS[t.toUpperCase()];
}

/**
 * A distinguished name as written by people and tools: `C=VN, O=…, CN=…` (OpenSSL's order, with
 * or without spaces around `=`), RFC 4514 escapes (`\,`), `+` between the attributes of one RDN.
 */
export function parseDistinguishedName(text: string): CanonicalRdn[] | string {
  const rdns: string[][] = [[]];
  let current = '';
  const pieces: Array<{ text: string; endsRdn: boolean }> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
    } else if (c === ',' || c === '+') {
      pieces.push({ text: current, endsRdn: c === ',' });
      current = '';
    } else current += c;
  }
  pieces.push({ text: current, endsRdn: true });
  for (const piece of pieces) {
    const eq = piece.text.indexOf('=');
    if (eq <= 0) return `an attribute TYPE=value, not ${JSON.stringify(piece.text.trim())}`;
    const oid = attributeOid(piece.text.slice(0, eq));
    if (!oid) return `a known attribute type (C, O, OU, CN, L, ST, UID, serialNumber, emailAddress, DC) or a dotted OID, not ${JSON.stringify(piece.text.slice(0, eq).trim())}`;
    const value = canonicalText(piece.text.slice(eq + 1));
    if (value === '') return `a value for ${piece.text.slice(0, eq).trim()}`;
    rdns[rdns.length - 1]!.push(`${oid}=${value}`);
    if (piece.endsRdn) rdns.push([]);
  }
  return rdns.filter((r) => r.length > 0).map((r) => r.sort());
}

/** A name matches in the order written or reversed (RFC 4514 writes the last RDN first). */
function nameMatches(name: readonly CanonicalRdn[], wanted: readonly CanonicalRdn[]): boolean {
  return sameName(name, wanted) || sameName(name, [...wanted].reverse());
}

function nameKey(name: readonly CanonicalRdn[]): string {
  const forward = JSON.stringify(name);
  const reversed = JSON.stringify([...name].reverse());
  return forward < reversed ? forward : reversed;
}

function normalizeSerialText(text: string): string | undefined {
  const hex = text.replace(/[:\s]/g, '').toUpperCase();
  return /^[0-9A-F]+$/.test(hex) ? hex.replace(/^0+(?=.)/, '') : undefined;
}

function normalizeFingerprintText(text: string): string | undefined {
  const hex = text.replace(/[:\s]/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

function describeRule(rule: IdentityRule): string {
  return `${rule.source}${rule.name ? ` "${rule.name}"` : ''} (${rule.match} → ${rule.organIds.join(', ')})`;
}

export interface IdentityConfig {
  identityRules?: IdentityRuleConfig[];
  organBindings?: Record<string, string[]>;
  uidIsOrganId?: boolean;
}

/** The rules of a trust config; throws IdentityRuleError for an unusable rule or a conflict between two. */
export function compileIdentityRules(config: IdentityConfig, defaultUidIsOrganId = true): IdentityRules {
  const rules: IdentityRule[] = [];
  (config.identityRules ?? []).forEach((raw, i) => rules.push(compileRule(raw, `trust.identityRules[${i}]`)));
  // organBindings: one fingerprint rule per certificate, naming every OrganId that lists it.
  const byFingerprint = new Map<string, { source: string; organIds: string[] }>();
  for (const [organId, prints] of Object.entries(config.organBindings ?? {})) {
    prints.forEach((print, i) => {
      const source = `trust.organBindings.${organId}[${i}]`;
      const hex = normalizeFingerprintText(print);
      if (!hex) throw new IdentityRuleError(source, 'a SHA-256 fingerprint (64 hex digits, colons allowed)', `${JSON.stringify(print)}, which is not a SHA-256 fingerprint`);
      const entry = byFingerprint.get(hex);
      if (entry) {
        if (!entry.organIds.includes(organId)) entry.organIds.push(organId);
      } else byFingerprint.set(hex, { source, organIds: [organId] });
    });
  }
  for (const [hex, { source, organIds }] of byFingerprint) rules.push(fingerprintRule(hex, source, organIds));
  assertNoConflicts(rules);
  return {
    rules,
    uidIsOrganId: config.uidIsOrganId ?? defaultUidIsOrganId,
    ruledOrganIds: new Set(rules.flatMap((r) => r.organIds)),
  };
}

function fingerprintRule(hex: string, source: string, organIds: readonly string[], name?: string): IdentityRule {
  return { source, ...(name ? { name } : {}), kind: 'fingerprint', organIds, match: `SHA-256 ${hex}`, key: `fingerprint:${hex}`, matches: (c) => c.fingerprint === hex };
}

function compileRule(raw: IdentityRuleConfig, source: string): IdentityRule {
  const bad = (key: string, expected: string, found: string) => new IdentityRuleError(`${source}${key ? `.${key}` : ''}`, expected, found);
  const organIds = typeof raw.organId === 'string' ? [raw.organId] : Array.isArray(raw.organId) ? [...raw.organId] : [];
  if (organIds.length === 0 || !organIds.every((o) => typeof o === 'string' && o !== '')) throw bad('organId', 'the OrganId (or a list of OrganIds) the rule binds certificates to', 'nothing');
  if (new Set(organIds).size !== organIds.length) throw bad('organId', 'each OrganId once', JSON.stringify(organIds));
  const name = typeof raw.name === 'string' && raw.name !== '' ? raw.name : undefined;
  const given = (['fingerprint', 'subject', 'serialNumber'] as const).filter((k) => raw[k] !== undefined);
  if (given.length !== 1) {
    throw bad('', 'exactly one of fingerprint, subject (with an optional issuer) or serialNumber (with issuer)', given.length === 0 ? 'none' : given.join(' and '));
  }
  let issuer: CanonicalRdn[] | undefined;
  if (raw.issuer !== undefined) {
    const parsed = parseDistinguishedName(String(raw.issuer));
    if (typeof parsed === 'string') throw bad('issuer', `the issuing CA's distinguished name: ${parsed}`, JSON.stringify(raw.issuer));
    issuer = parsed;
  }
  if (raw.fingerprint !== undefined) {
    if (issuer) throw bad('issuer', 'no issuer beside a fingerprint (a fingerprint names one certificate already)', 'an issuer');
    const hex = normalizeFingerprintText(String(raw.fingerprint));
    if (!hex) throw bad('fingerprint', 'a SHA-256 fingerprint (64 hex digits, colons allowed)', `${JSON.stringify(raw.fingerprint)}, which is not a SHA-256 fingerprint`);
    return fingerprintRule(hex, source, organIds, name);
  }
  if (raw.serialNumber !== undefined) {
    if (!issuer) throw bad('issuer', 'the issuing CA\'s distinguished name: a serial number is unique only under its issuer', 'nothing');
    const serial = normalizeSerialText(String(raw.serialNumber));
    if (!serial) throw bad('serialNumber', 'a serial number in hex (as openssl x509 -noout -serial prints it)', JSON.stringify(raw.serialNumber));
    const wanted = issuer;
    return {
      source,
      ...(name ? { name } : {}),
      kind: 'issuer-serial',
      organIds,
      match: `issuer ${String(raw.issuer).trim()}, serial ${serial}`,
      key: `issuer-serial:${nameKey(wanted)}#${serial}`,
      matches: (c) => c.serial === serial && nameMatches(c.issuer, wanted),
    };
  }
  const text = String(raw.subject);
  const eq = text.indexOf('=');
  const oid = eq > 0 ? attributeOid(text.slice(0, eq)) : undefined;
  const value = eq > 0 ? canonicalText(text.slice(eq + 1)) : '';
  if (!oid || value === '') throw bad('subject', 'one subject attribute as TYPE=value, e.g. UID=MST:0301519977-029 (TYPE a short name such as UID, CN, O, serialNumber, or a dotted OID)', JSON.stringify(text));
  const attribute = `${oid}=${value}`;
  const shown = `${OID_NAMES.get(oid) ?? oid}=${text.slice(eq + 1).trim()}`;
  const wanted = issuer;
  const unscopedKey = `subject:${attribute}`;
  return {
    source,
    ...(name ? { name } : {}),
    kind: 'subject-attribute',
    organIds,
    match: wanted ? `${shown} issued by ${String(raw.issuer).trim()}` : shown,
    key: wanted ? `${unscopedKey}|issuer:${nameKey(wanted)}` : unscopedKey,
    ...(wanted ? { unscopedKey } : {}),
    matches: (c) => c.subject.some((rdn) => rdn.includes(attribute)) && (!wanted || nameMatches(c.issuer, wanted)),
  };
}

/**
 * The same match twice (whatever the OrganIds), or a subject rule restricted to an issuer beside
 * the unrestricted one with other OrganIds: one certificate would fall under both.
 */
function assertNoConflicts(rules: readonly IdentityRule[]): void {
  const byKey = new Map<string, IdentityRule>();
  for (const rule of rules) {
    const earlier = byKey.get(rule.key);
    if (earlier) {
      const same = sameSet(earlier.organIds, rule.organIds);
      throw new IdentityRuleError(
        rule.source,
        same
          ? `one rule per match: ${describeRule(earlier)} and ${describeRule(rule)} are the same rule; keep one`
          : `one rule per match: ${describeRule(earlier)} and ${describeRule(rule)} bind the same certificates to different agencies ` +
              '(a certificate that signs for several agencies, e.g. on a shared server, is one rule listing every OrganId)',
        same ? 'a duplicate rule' : 'a conflicting rule',
      );
    }
    byKey.set(rule.key, rule);
  }
  for (const rule of rules) {
    const unscoped = rule.unscopedKey ? byKey.get(rule.unscopedKey) : undefined;
    if (unscoped && !sameSet(unscoped.organIds, rule.organIds)) {
      const [first, second] = rules.indexOf(unscoped) < rules.indexOf(rule) ? [unscoped, rule] : [rule, unscoped];
      throw new IdentityRuleError(
        second.source,
        `rules that cannot both match one certificate: ${describeRule(first)} and ${describeRule(second)} both match a certificate of that issuer ` +
          'for different agencies (the binding would be ambiguous)',
        'an ambiguous rule',
      );
    }
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

const KIND_RANK: Record<IdentityRule['kind'], number> = { fingerprint: 0, 'issuer-serial': 1, 'subject-attribute': 2 };

export type Binding = { bound: true; by: BoundBy } | { bound: false; why: string };

/** Whether `cert` may sign for `organId`, and by which rule; or why not. */
export function bindingOf(cert: CertificateFacts, organId: string, identity: IdentityRules): Binding {
  const matching = identity.rules.filter((r) => r.matches(cert));
  if (matching.length > 0) {
    const conflicting = matching.find((r) => !sameSet(r.organIds, matching[0]!.organIds));
    if (conflicting) {
      return {
        bound: false,
        why: `the certificate matches ${describeRule(matching[0]!)} and ${describeRule(conflicting)}, which bind it to different agencies: the binding is ambiguous; fix the trust.identityRules`,
      };
    }
    const best = [...matching].sort((a, b) => KIND_RANK[a.kind] - KIND_RANK[b.kind] || (a.unscopedKey ? 0 : 1) - (b.unscopedKey ? 0 : 1))[0]!;
    if (best.organIds.includes(organId)) return { bound: true, by: boundBy(best) };
    return { bound: false, why: `${describeRule(best)} binds the certificate to ${best.organIds.join(', ')}, not to ${organId}` };
  }
  if (identity.ruledOrganIds.has(organId)) {
    const sources = identity.rules.filter((r) => r.organIds.includes(organId)).map((r) => r.source);
    return { bound: false, why: `${organId} is bound by ${sources.join(', ')}, and the certificate matches none of them` };
  }
  if (identity.uidIsOrganId && cert.uids.some((uid) => uid === organId)) {
    return { bound: true, by: { rule: 'default', kind: 'uid-is-organid', match: `UID=${organId}` } };
  }
  return {
    bound: false,
    why: identity.uidIsOrganId
      ? `no trust.identityRules entry binds the certificate, and its subject carries no UID=${organId}`
      : `no trust.identityRules entry binds the certificate (the UID=<OrganId> default is off)`,
  };
}

function boundBy(rule: IdentityRule): BoundBy {
  return { rule: rule.source, ...(rule.name ? { name: rule.name } : {}), kind: rule.kind, match: rule.match };
}
