/**
 * The hostile corpus (issues 4 and 13): packages an attacker, or a broken sender, could put on the
 * backbone, each with the outcome `verifyPackage` must give. Built at test time from a genuine
 * signed package, so that each case differs from an accepted one by the attack alone. The unit
 * test holds each case to its outcome (test/unit/signature/hostile-corpus.test.ts); the
 * differential test runs every case through xmlsec1 as well (test/integration/signature-differential.test.ts).
 */
import { DOMParser, XMLSerializer, type Element } from '@xmldom/xmldom';
import * as fs from 'node:fs';
import { Rejection } from '../../src/errors';
import { signPackage, verifyPackage, type TrustStore } from '../../src/signature';
import type { Limits } from '../../src/limits';
import { ORGAN_G22, ORGAN_H41, type TestPki } from './pki';
import { credentials, packageFrom, replaceOnce, signWithXmlCrypto, withAttachmentOf, withoutPlaceholder } from './signature-fixtures';

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const XLINK = 'http://www.w3.org/1999/xlink';
const ENVELOPE_XPATH = "/*/*[local-name()='edXMLEnvelope']";
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

export interface HostileCase {
  name: string;
  /** The area of docs/SECURITY.md the case belongs to. */
  group: string;
  bytes: Buffer;
  /** `verifyPackage`'s verdict: 'accepted' or the rejection reason. */
  expected: string;
  /** The signer's OrganId when accepted. */
  signer?: string;
  /** Limits for this case (default limits otherwise). */
  limits?: Partial<Limits>;
  /** The attack is cryptographically sound: xml-crypto alone, with this certificate pinned, accepts it. */
  xmlCryptoAcceptsWith?: string;
}

/** What `verifyPackage` says of a case: 'accepted' (and by whom) or the reason; never an untyped error. */
export function verdictOf(c: Pick<HostileCase, 'bytes' | 'limits'>, trust: TrustStore): { verdict: string; signer?: string; detail?: string } {
  try {
    const outcome = verifyPackage(c.bytes, trust, c.limits ? { limits: c.limits } : {});
    return outcome.status === 'valid' ? { verdict: 'accepted', signer: outcome.signer.organId } : { verdict: outcome.status };
  } catch (err) {
    if (err instanceof Rejection) return { verdict: err.reason, detail: err.detail };
    return { verdict: `untyped error: ${String(err)}` };
  }
}

/** A `+…` UTF-7 shift sequence holding `text` (modified base64 of UTF-16BE), left open for the next character to end it. */
export function utf7Shift(text: string): string {
  return `+${Buffer.from(text, 'utf16le').swap16().toString('base64').replace(/=+$/, '')}`;
}

/** Non-ASCII and `+` as character references, so that the text means the same read as UTF-8 or as UTF-7. */
function asciiOnly(xml: string): string {
  return xml.replace(/[^\x00-\x7f]|\+/gu, (c) => `&#${c.codePointAt(0)};`);
}

/**
 * Issue 13 hole 1, as reported: `signed`, a package G22 really signed, wrapped with the attacker's
 * package. Read as UTF-7 (as its declaration says) it is the signed package between two comments,
 * the attacker's markup inside the second; read as UTF-8 (as a legacy system may) it is the
 * attacker's package, the signed one hidden in UTF-7 shift sequences inside a comment.
 */
export function utf7Wrapped(signed: string, attacker: string): Buffer {
  const signedBody = signed.replace(/^<\?xml[^>]*\?>\s*/, '');
  const attackerBody = asciiOnly(attacker.replace(/^<\?xml[^>]*\?>\s*/, ''));
  if (attackerBody.includes('--')) throw new Error('fixture: the attacker package must not contain "--"');
  // UTF-7: `<!--` + `--> signed <!--` + `->` (the '-' after a shift sequence is absorbed) + attacker + `<?z ` + `--><?z ` + `?>`.
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-7"?>\n<!--${utf7Shift(`-->${signedBody}<!--`)}-->\n${attackerBody}\n<?z ${utf7Shift('--><?z ')}?>\n`,
    'latin1',
  );
}

/** The same text in UTF-16 with a byte-order mark, declared as UTF-16. */
export function asUtf16(xml: string, endian: 'LE' | 'BE'): Buffer {
  const text = xml.replace(DECLARATION, '<?xml version="1.0" encoding="UTF-16"?>');
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  return endian === 'LE' ? le : le.swap16();
}

export async function hostileCorpus(pki: TestPki): Promise<HostileCase[]> {
  const h41Cert = fs.readFileSync(pki.h41.certPath, 'utf8');
  const unsigned = withoutPlaceholder(packageFrom(ORGAN_H41));
  const genuine = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41)).toString('utf8');
  const signOurs = (xml: string) => signPackage(Buffer.from(xml), credentials(pki.h41)).toString('utf8');
  const signature = /<Signature xmlns=[\s\S]*<\/Signature>/.exec(genuine)![0];
  const cases: HostileCase[] = [];
  const add = (group: string, name: string, bytes: string | Buffer, expected: string, extra: Partial<HostileCase> = {}) =>
    cases.push({ group, name, bytes: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8'), expected, ...(expected === 'accepted' ? { signer: ORGAN_H41 } : {}), ...extra });

  add('genuine', 'the genuine package every case starts from', genuine, 'accepted');

  // Keys carried by the document (CVE-2024-32962 class).
  const keys = 'keys carried by the document';
  add(keys, 'an attacker re-signs with a self-signed certificate carrying the agency subject', signWithXmlCrypto(unsigned.replace('UBND Tỉnh Nghệ An', 'Attacker'), credentials(pki.attacker)), 'untrusted-chain', {
    xmlCryptoAcceptsWith: fs.readFileSync(pki.attacker.certPath, 'utf8'),
  });
  add(keys, 'an attacker signs and ships only a KeyValue', signWithXmlCrypto(unsigned, credentials(pki.attacker), { keyInfo: 'key-value' }), 'untrusted-chain');
  add(keys, 'an attacker signs with its key but ships the genuine certificate', signWithXmlCrypto(unsigned, credentials(pki.attacker), { keyInfoCertPem: h41Cert }), 'bad-signature');

  // Wrapping.
  const wrapping = 'wrapping';
  add(wrapping, 'two signatures (a copy of the genuine one inside the body)', replaceOnce(genuine, '</edXML:edXMLManifest>', `</edXML:edXMLManifest>${signature}`), 'multiple-signatures');
  const forgedSignedInfo = /<SignedInfo>[\s\S]*<\/SignedInfo>/.exec(signWithXmlCrypto(unsigned.replace('UBND Tỉnh Nghệ An', 'Attacker'), credentials(pki.attacker)))![0];
  add(wrapping, "a second SignedInfo with the attacker's references (CVE-2025-29774)", replaceOnce(genuine.replace('UBND Tỉnh Nghệ An', 'Attacker'), '</SignedInfo>', `</SignedInfo>${forgedSignedInfo}`), 'bad-signature');
  const envelopeOnly = signWithXmlCrypto(unsigned, credentials(pki.h41), { referenceXpath: ENVELOPE_XPATH });
  // The attachment is outside the envelope, so changing it keeps xml-crypto's own check happy.
  add(wrapping, 'an Id-based reference covering only the envelope (attachments left out)', envelopeOnly.replace(/(<edXML:ContentTransferEncoded[^>]*>)[^<]{8}/, '$1AAAAAAAA'), 'reference-not-whole-document', { xmlCryptoAcceptsWith: h41Cert });
  add(wrapping, 'the signed envelope hidden behind a forged one', hiddenEnvelope(envelopeOnly), 'reference-not-whole-document', { xmlCryptoAcceptsWith: h41Cert });
  add(wrapping, 'the signature moved out of edXMLHeader', replaceOnce(genuine.replace(signature, ''), '</edXML:edXMLManifest>', `</edXML:edXMLManifest>${signature}`), 'bad-signature');
  const reference = /<Reference URI="">[\s\S]*?<\/Reference>/.exec(genuine)![0];
  const extraReference = replaceOnce(genuine, '</SignedInfo>', `${reference.replace('URI=""', 'URI="#x"')}</SignedInfo>`);
  add(wrapping, 'an extra reference', extraReference, 'limit-exceeded');
  add(wrapping, 'an extra reference, where the limit allows two', extraReference, 'reference-not-whole-document', { limits: { maxSignatureReferences: 2 } });
  add(
    wrapping,
    'an XPath transform that narrows the reference',
    replaceOnce(genuine, '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>', '<Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><XPath>ancestor-or-self::*[local-name()="edXMLHeader"]</XPath></Transform>'),
    'reference-not-whole-document',
  );
  add(wrapping, 'more transforms than limits.maxSignatureTransforms', replaceOnce(genuine, '</Transforms>', '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>'), 'limit-exceeded');

  // Comments.
  const comments = 'comment injection';
  const forgedDigest = /<DigestValue>([^<]*)<\/DigestValue>/.exec(signOurs(unsigned.replace('UBND Tỉnh Nghệ An', 'Attacker')))![1];
  add(comments, 'a forged digest in a comment inside DigestValue (CVE-2025-29775)', genuine.replace('UBND Tỉnh Nghệ An', 'Attacker').replace(/<DigestValue>/, `<DigestValue><!--${forgedDigest}-->`), 'digest-mismatch');
  add(comments, 'a comment that hides changed text', replaceOnce(genuine, 'V/v kết nối, liên thông', 'V/v <!--kết nối, liên thông-->hủy bỏ'), 'digest-mismatch');
  add(comments, 'a comment splitting From/OrganId changes nothing signed', replaceOnce(genuine, `<edXML:OrganId>${ORGAN_H41}</edXML:OrganId>`, '<edXML:OrganId>000.00.<!--000.00.00.G22-->00.H41</edXML:OrganId>'), 'accepted');
  add(comments, 'a comment added before the root (XMLDSig: comments are not signed)', genuine.replace(DECLARATION, `${DECLARATION}\n<!-- forwarded by an LGSP -->`), 'accepted');

  // Tampering after signing.
  const tampering = 'tampering after signing';
  add(tampering, 'the subject', replaceOnce(genuine, /<edXML:Subject>[^<]*/, '<edXML:Subject>Công văn giả mạo'), 'digest-mismatch');
  add(tampering, 'a recipient', replaceOnce(genuine, '<edXML:OrganId>000.00.00.H14</edXML:OrganId>', '<edXML:OrganId>000.00.00.X99</edXML:OrganId>'), 'digest-mismatch');
  add(tampering, 'one base64 character of the attachment', genuine.replace(/(<edXML:ContentTransferEncoded[^>]*>[^<]{100})(.)/, (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A')), 'digest-mismatch');
  add(tampering, 'the sender', replaceOnce(genuine, `<edXML:OrganId>${ORGAN_H41}</edXML:OrganId>`, '<edXML:OrganId>000.00.00.G22</edXML:OrganId>'), 'digest-mismatch');

  // Hostile XML.
  const xml = 'hostile XML';
  add(xml, 'a DTD with an external entity (XXE)', genuine.replace(DECLARATION, `${DECLARATION}\n<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`).replace('UBND Tỉnh Nghệ An', '&xxe;'), 'dtd-forbidden');
  const lol = '<!DOCTYPE edXML [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>';
  add(xml, 'entity expansion (billion laughs)', genuine.replace(DECLARATION, `${DECLARATION}\n${lol}`).replace('UBND Tỉnh Nghệ An', '&c;'), 'dtd-forbidden');
  add(xml, 'a truncated package', Buffer.from(genuine).subarray(0, Math.floor(Buffer.byteLength(genuine) / 2)), 'malformed-xml');

  // Algorithms and the field placeholder.
  const algorithms = 'algorithms and the field placeholder';
  add(algorithms, 'SHA-1 under the default policy', signWithXmlCrypto(unsigned, credentials(pki.h41), { signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1' }), 'weak-algorithm');
  add(algorithms, 'an HMAC signature method (key confusion)', replaceOnce(genuine, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2000/09/xmldsig#hmac-sha1'), 'weak-algorithm');
  add(algorithms, 'canonicalization with comments', replaceOnce(genuine, '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>', '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>'), 'weak-algorithm');
  add(algorithms, 'the SDK placeholder', packageFrom(ORGAN_H41), 'placeholder-signature');
  add(algorithms, 'no signature at all', unsigned, 'unsigned');
  add(algorithms, 'a real signature beside the SDK placeholder', genuine.replace(signature, /<Signature>[\s\S]*?<\/Signature>/.exec(packageFrom(ORGAN_H41))![0] + signature), 'multiple-signatures');

  // Issue 13 hole 1: one package, two readings.
  const readings = 'one package, two readings';
  const g22Signed = signPackage(Buffer.from(packageFrom(ORGAN_G22)), credentials(pki.g22)).toString('utf8');
  const attacker = withAttachmentOf(withoutPlaceholder(packageFrom(ORGAN_G22)), 300)
    .replace(/<edXML:Subject>[^<]*/, '<edXML:Subject>Lệnh chuyển tiền khẩn')
    .replace(/<edXML:DocumentId>[^<]*/, '<edXML:DocumentId>000.00.00.G22,2026/11/23,999/ATTACKER');
  add(readings, 'a package G22 signed, wrapped so that its UTF-7 reading verifies and its UTF-8 reading is the attacker\'s', utf7Wrapped(g22Signed, attacker), 'unsupported-encoding');
  const pad = ' '.repeat(600);
  add(readings, 'an encoding declared past the first 512 bytes (ISO-8859-1)', genuine.replace(DECLARATION, `<?xml version="1.0"${pad}encoding="ISO-8859-1"?>`), 'unsupported-encoding');
  add(readings, 'an encoding declared past the first 512 bytes (UTF-7)', genuine.replace(DECLARATION, `<?xml version="1.0"${pad}encoding="UTF-7"?>`), 'unsupported-encoding');
  add(readings, 'a declaration of UTF-8 past the first 512 bytes', genuine.replace(DECLARATION, `<?xml version="1.0"${pad}encoding="UTF-8"?>`), 'accepted');
  add(readings, 'a declared legacy encoding (windows-1258)', genuine.replace(DECLARATION, '<?xml version="1.0" encoding="windows-1258"?>'), 'unsupported-encoding');
  add(readings, 'the genuine package in UTF-16LE with a byte-order mark', asUtf16(genuine, 'LE'), 'accepted');
  add(readings, 'the genuine package in UTF-16BE with a byte-order mark', asUtf16(genuine, 'BE'), 'accepted');
  add(readings, 'the genuine package in UTF-16 without a byte-order mark', asUtf16(genuine, 'LE').subarray(2), 'unsupported-encoding');
  add(readings, 'a UTF-8 byte-order mark with encoding="UTF-16" declared', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(genuine.replace(DECLARATION, '<?xml version="1.0" encoding="UTF-16"?>'))]), 'unsupported-encoding');
  add(readings, 'the genuine package with a UTF-8 byte-order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(genuine)]), 'accepted');
  add(readings, 'an XML 1.1 declaration (other characters and line ends)', genuine.replace(DECLARATION, '<?xml version="1.1" encoding="UTF-8"?>'), 'malformed-xml');
  const lineSeparated = signOurs(unsigned.replace(/(<edXML:Subject>[^<]*)/, '$1\nDòng hai'));
  add(readings, 'a signed newline turned into U+2028 after signing (XML 1.1 line ends)', replaceOnce(lineSeparated, '\nDòng hai', '\u2028Dòng hai'), 'digest-mismatch');

  // Issue 13 hole 3: the connector's own signature over a carriage return in text.
  add('the connector\'s own signatures', 'a Content with &#xD; before a newline (as .NET writes CRLF), signed by signPackage', signOurs(replaceOnce(unsigned, /(<edXML:Content>[^<]*)/, '$1&#xD;\r\nDòng hai&#xD;')), 'accepted');

  // Issue 13 hole 6: what Reference URI="" covers.
  const covered = 'what the signature covers';
  add(covered, 'an <?xml-stylesheet?> added before the root after signing', genuine.replace(DECLARATION, `${DECLARATION}\n<?xml-stylesheet type="text/xsl" href="http://attacker.example/show.xsl"?>`), 'digest-mismatch');
  add(covered, 'a processing instruction added after the root after signing', `${genuine.trimEnd()}\n<?vdxp-route to="000.00.00.X99"?>\n`, 'digest-mismatch');
  const withStylesheet = signOurs(unsigned.replace(DECLARATION, `${DECLARATION}\n<?xml-stylesheet type="text/xsl" href="edxml.xsl"?>`));
  add(covered, 'a package signed with an <?xml-stylesheet?> before the root', withStylesheet, 'accepted');
  add(covered, 'the signed <?xml-stylesheet?> taken out', withStylesheet.replace(/<\?xml-stylesheet[^>]*\?>\n?/, ''), 'digest-mismatch');
  const disagree = signOurs(unsigned.replace(/<edXML:Subject>[^<]*/, '<edXML:Subject>Không đồng ý'));
  add(covered, 'a word of the text moved into a processing instruction ("Không đồng ý" read as "đồng ý")', replaceOnce(disagree, '<edXML:Subject>Không đồng ý', '<edXML:Subject><?x Không?> đồng ý'), 'digest-mismatch');
  add(covered, 'an empty processing instruction inserted in the text', replaceOnce(genuine, '<edXML:Subject>', '<edXML:Subject><?empty?>'), 'digest-mismatch');
  add(covered, 'an attribute whose name starts with "xmlns" added after signing', replaceOnce(genuine, '<edXML:Subject>', '<edXML:Subject xmlnsNote="attacker">'), 'digest-mismatch');

  // Issue 13 hole 7: duplicate attributes by expanded name.
  const shadowed = signOurs(replaceOnce(unsigned, '<edXML:Reference>', `<edXML:Reference xmlns:xlink="${XLINK}" xlink:href="cid:signed">`));
  add('duplicate attributes', 'evil:href (bound to the xlink namespace) beside the signed xlink:href', replaceOnce(shadowed, 'xlink:href="cid:signed"', `xmlns:evil="${XLINK}" evil:href="cid:attacker" xlink:href="cid:signed"`), 'malformed-xml');
  add('duplicate attributes', 'evil:href beside the signed xlink:href, evil bound to the xlink namespace through a character reference', replaceOnce(shadowed, 'xlink:href="cid:signed"', `xmlns:evil="http://www.w3.org/1999/xlin&#x6B;" evil:href="cid:attacker" xlink:href="cid:signed"`), 'malformed-xml');

  // Issue 13 hole 8: xmlns="" under a default namespace.
  add('namespaces', 'an element with xmlns="" and children, signed by signPackage', signOurs(replaceOnce(unsigned, '</edXML:MessageHeader>', '<Extension xmlns=""><Note>ghi chú</Note><Note/></Extension></edXML:MessageHeader>')), 'accepted');
  add('namespaces', 'a prefix undeclared with xmlns:p=""', replaceOnce(genuine, '<edXML:Subject>', '<edXML:Subject xmlns:p="">'), 'malformed-xml');

  // Issue 13 "also weak" and issue 14 point 4: characters XML 1.0 forbids, signed by xml-crypto (which reads them).
  const chars = 'characters XML forbids';
  // xml-crypto signs the character as xmldom reads the reference; the package then carries the reference.
  for (const [label, char] of [['&#x1;', '\u0001'], ['&#xFFFF;', '\uffff'], ['&#xD800;', '\ud800'], ['&#0;', '\u0000'], ['a raw U+FFFF', '\uffff']] as const) {
    const signedWithChar = signWithXmlCrypto(unsigned.replace(/(<edXML:DocumentId>[^<]*)/, `$1${char}`), credentials(pki.h41));
    add(chars, `${label} in DocumentId, signed`, label.startsWith('&') ? replaceOnce(signedWithChar, char, label) : signedWithChar, 'malformed-xml');
  }
  /** Signed by xml-crypto as xmldom reads `written`, which then replaces `read` in the package. */
  const signedAsXmldomReads = (xmlWithRead: string, read: string, written: string) => replaceOnce(signWithXmlCrypto(xmlWithRead, credentials(pki.h41)), read, written);
  add(chars, '&#x1; in an attribute value, signed', signedAsXmldomReads(replaceOnce(unsigned, '<edXML:Subject>', '<edXML:Subject note="\u0001">'), '\u0001', '&#x1;'), 'malformed-xml');
  add(chars, '&#xB; in the attachment base64, signed', signedAsXmldomReads(unsigned.replace(/(<edXML:ContentTransferEncoded[^>]*>[^<]{100})/, '$1\u000b'), '\u000b', '&#xB;'), 'malformed-xml');
  add(chars, '&#; (not a reference; xmldom kept it as text), signed', signedAsXmldomReads(replaceOnce(unsigned, '<edXML:Subject>', '<edXML:Subject>&amp;#;'), '&amp;#;', '&#;'), 'malformed-xml');
  add(chars, 'a control character inside an element name (xmldom read it as a separator), signed', signedAsXmldomReads(replaceOnce(unsigned, '<edXML:Subject>', '<edXML:Subject x="y">'), ' x="y"', '\u0001x="y"'), 'malformed-xml');
  add(chars, 'a raw U+FFFE in a comment', replaceOnce(genuine, '<edXML:Subject>', '<!-- \ufffe --><edXML:Subject>'), 'malformed-xml');
  return cases;
}

function hiddenEnvelope(signed: string): string {
  const doc = new DOMParser().parseFromString(signed, 'text/xml');
  const envelope = doc.documentElement!.getElementsByTagNameNS('*', 'edXMLEnvelope').item(0)!;
  const hidden = envelope.cloneNode(true) as Element;
  const hiddenSignature = hidden.getElementsByTagNameNS(DSIG, 'Signature').item(0)!;
  hiddenSignature.parentNode!.removeChild(hiddenSignature);
  envelope.removeAttribute('Id');
  envelope.getElementsByTagNameNS('*', 'Subject').item(0)!.textContent = 'Forged subject';
  const object = doc.createElementNS(DSIG, 'Object');
  object.appendChild(hidden);
  envelope.getElementsByTagNameNS(DSIG, 'Signature').item(0)!.appendChild(object);
  return new XMLSerializer().serializeToString(doc);
}
