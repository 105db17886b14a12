/** Public API of XML signatures (DESIGN.md §5). */
export { loadTrustStore, ocspClientFor, effectivePolicy, type TrustConfig, type TrustStore, type SignaturePolicy, type PartnerTrust } from './trust';
export { verifyPackage, verifyPackageAsync, verifyParsed, verifyParsedAsync, verifyDocument, type VerifyOptions, type VerifyOutcome } from './verify';
export { signPackage, signParsed, type SignerCredentials, type PemCredentials, type ExternalKeyCredentials, type ExternalSigningKey, type SignOptions } from './sign';
export { forEachRenderedBytes, renderedBytes, type RenderedPiece } from './canonical';
export type { SignerIdentity } from './chain';
