/** xmlsec1 (Debian `xmlsec1`) as the independent XMLDSig implementation the signature tests compare with. */

/** The signature template xmlsec1 fills in, as the last child of edXMLHeader (optionally with a `ds:` prefix). */
export function xmlsecTemplate(c14n: string, prefix = ''): string {
  const unprefixed =
    `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>` +
    `<CanonicalizationMethod Algorithm="${c14n}"/>` +
    `<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
    `<Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
    `<Transform Algorithm="${c14n}"/></Transforms>` +
    `<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo>` +
    `<SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature>`;
  if (!prefix) return unprefixed;
  return unprefixed.replace(/<(\/?)([A-Z])/g, `<$1${prefix}:$2`).replace('xmlns=', `xmlns:${prefix}=`);
}

/** Every `Signature` element taken out, the SDK placeholder and an XMLDSig-namespaced one alike. */
export function withoutAnySignature(xml: string): string {
  return xml.replace(/\s*<Signature[\s>][\s\S]*?<\/Signature>/g, '');
}
