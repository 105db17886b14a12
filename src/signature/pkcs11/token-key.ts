/**
 * The agency's signing key in a PKCS#11 token (issue 17 point 1). The private key never leaves the
 * token: the connector hands it the canonical SignedInfo (src/signature/sign.ts makes it) and the
 * token hashes and signs it with CKM_SHA256_RSA_PKCS, which is exactly XML-DSig's rsa-sha256.
 *
 * A key that the token would let out (CKA_SENSITIVE false, CKA_EXTRACTABLE true) is refused.
 *
 * Logging in is the one thing that can lock a token, so it is done once per PIN: after the token
 * refused a login, the connector does not call C_Login again until the PIN file holds another PIN
 * (or the process restarts). Finding the token again after it went away costs no login attempt,
 * and is retried at most once per `retryIntervalMs`, from a signing attempt or a readiness probe.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as pkcs11js from 'pkcs11js';
import { acquireModule, reinitializeModule, releaseModule, type LoadedModule } from './loaded-modules';
import { ckrOf, tokenFailureOf } from './ckr';
import { isTokenError, TokenError, type TokenFailure } from './token-failure';

export interface Pkcs11Settings {
  /** Path of the module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** The token by its label or its serial number (exactly one). */
  token: { label?: string; serial?: string };
  /** The private key by its CKA_LABEL or its CKA_ID in hex (exactly one). */
  key: { label?: string; id?: string };
  /** File holding the user PIN (a trailing newline is ignored). */
  pinFile: string;
}

export interface TokenEvents {
  /** C_Login was called, with this outcome. */
  login?(outcome: 'ok' | TokenFailure): void;
  /** The key became unusable, or unusable for another reason than before. */
  failed?(error: TokenError): void;
  /** Usable again after a failure. */
  recovered?(): void;
}

export interface TokenKeyOptions {
  /** Read the certificate from the token (the certificate object with the key's CKA_ID or label). */
  certificateFromToken: boolean;
  /** Least time between two attempts to find the token again after a failure (default 10 s). */
  retryIntervalMs?: number;
  events?: TokenEvents;
  now?: () => number;
}

interface OpenToken {
  module: LoadedModule;
  generation: number;
  slot: Buffer;
  session: Buffer;
  key: Buffer;
  signatureBytes: number;
  publicKey: KeyObject;
  certificateDer?: Buffer;
}

const DEFAULT_RETRY_INTERVAL_MS = 10_000;

export class TokenKey {
  private open: OpenToken | undefined;
  private module: LoadedModule | undefined;
  private failure: TokenError | undefined;
  private nextAttemptAt = 0;
  /** SHA-256 of the PIN the token refused: no login with it again. */
  private refusedPin: string | undefined;
  private readonly retryIntervalMs: number;
  private readonly now: () => number;

  constructor(
    readonly settings: Pkcs11Settings,
    private readonly options: TokenKeyOptions,
  ) {
    this.retryIntervalMs = options.retryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Which token and key, for messages: `the token labelled "vdxp-agency", key "agency-key" (module …)`.
   * (Worded so that the log scrubber, which redacts what follows `token:` or `token "`, leaves it.)
   */
  describe(): string {
    const { token, key, module } = this.settings;
    const which = token.serial !== undefined ? `the token with serial ${token.serial}` : `the token labelled "${token.label}"`;
    return `${which}, key ${key.id !== undefined ? `id ${key.id}` : `"${key.label}"`} (module ${module})`;
  }

  /**
   * For readiness: checks that the open token and key are still there (no login, no signature),
   * or tries to open them when that is due. undefined when the key can sign.
   */
  check(): TokenError | undefined {
    if (this.open && this.open.generation === this.open.module.generation) {
      const { lib } = this.open.module;
      try {
        lib.C_GetTokenInfo(this.open.slot);
        lib.C_GetAttributeValue(this.open.session, this.open.key, [{ type: pkcs11js.CKA_SIGN }]);
      } catch (err) {
        this.lose(tokenFailureOf(err, 'checking the open token'));
      }
    }
    try {
      this.ensureOpen();
      return undefined;
    } catch (err) {
      if (isTokenError(err)) return err;
      throw err;
    }
  }

  /** The public key of the token key; throws a TokenError when the token cannot be opened. */
  publicKey(): KeyObject {
    return this.ensureOpen().publicKey;
  }

  /** The certificate read from the token (options.certificateFromToken), DER. */
  certificateDer(): Buffer | undefined {
    return this.ensureOpen().certificateDer;
  }

  /** RSASSA-PKCS1-v1_5 with SHA-256 over `data`, computed by the token. */
  signRsaSha256(data: Buffer): Buffer {
    const open = this.ensureOpen();
    const { lib } = open.module;
    try {
      lib.C_SignInit(open.session, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, open.key);
      return Buffer.from(lib.C_Sign(open.session, data, Buffer.alloc(open.signatureBytes)));
    } catch (err) {
      const failure = tokenFailureOf(err, 'signing (C_Sign)');
      this.lose(failure);
      throw failure;
    }
  }

  /** Closes the session and releases the module. */
  close(): void {
    this.closeSession();
    if (this.module) releaseModule(this.module);
    this.module = undefined;
  }

  private ensureOpen(): OpenToken {
    if (this.open && this.open.generation === this.open.module.generation) return this.open;
    if (this.open) {
      // Another holder of the module initialised it again: our session is gone, the module is fresh.
      this.open = undefined;
      return this.attempt(false);
    }
    if (this.failure && this.now() < this.nextAttemptAt) throw this.failure;
    return this.attempt(this.module !== undefined);
  }

  private attempt(reload: boolean): OpenToken {
    try {
      const pin = this.readPin();
      if (this.refusedPin !== undefined && this.refusedPin === digest(pin) && this.failure) {
        throw this.failure; // no second login with a PIN the token refused
      }
      this.loadModule(reload);
      const open = this.openToken(this.module!, pin);
      this.open = open;
      if (this.failure) {
        this.failure = undefined;
        this.options.events?.recovered?.();
      }
      return open;
    } catch (err) {
      const failure = tokenFailureOf(err, 'opening the token');
      this.setFailure(failure);
      throw failure;
    }
  }

  private loadModule(reload: boolean): void {
    if (this.module && reload) {
      if (this.module.users === 1) {
        // Ours alone: unload it and load the file again (a module that was removed is noticed).
        releaseModule(this.module);
        this.module = undefined;
      } else {
        reinitializeModule(this.module);
      }
    }
    this.module ??= acquireModule(this.settings.module);
  }

  private openToken(module: LoadedModule, pin: string): OpenToken {
    const { lib } = module;
    const slot = this.findSlot(lib);
    const info = lib.C_GetTokenInfo(slot);
    if (info.flags & pkcs11js.CKF_USER_PIN_LOCKED) {
      this.refusedPin = digest(pin);
      throw new TokenError('pin-locked', `${this.describe()}: the token reports its user PIN locked (CKF_USER_PIN_LOCKED); its security officer must unlock it`);
    }
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    const generation = module.generation;
    try {
      if (info.flags & pkcs11js.CKF_LOGIN_REQUIRED) this.login(lib, session, pin);
      const key = this.findKey(lib, session);
      const found = this.keyFacts(lib, session, key);
      const certificateDer = this.options.certificateFromToken ? this.findCertificate(lib, session, found.id) : undefined;
      if (certificateDer) {
        const fromCert = new X509Certificate(certificateDer).publicKey.export({ format: 'der', type: 'spki' });
        if (!fromCert.equals(found.publicKey.export({ format: 'der', type: 'spki' }))) {
          throw new TokenError('key-certificate-mismatch', `${this.describe()}: the certificate on the token with the key's CKA_ID is for another key`);
        }
      }
      return { module, generation, slot, session, key, signatureBytes: found.signatureBytes, publicKey: found.publicKey, certificateDer };
    } catch (err) {
      try {
        lib.C_CloseSession(session);
      } catch {
        // the session may already be gone with the token
      }
      throw err;
    }
  }

  private findSlot(lib: pkcs11js.PKCS11): Buffer {
    const { label, serial } = this.settings.token;
    const seen: string[] = [];
    const matching: Buffer[] = [];
    for (const slot of lib.C_GetSlotList(true)) {
      let info: pkcs11js.TokenInfo;
      try {
        info = lib.C_GetTokenInfo(slot);
      } catch {
        continue; // a slot whose token cannot answer is not ours to use
      }
      const tokenLabel = info.label.trim();
      const tokenSerial = info.serialNumber.trim();
      if (!(info.flags & pkcs11js.CKF_TOKEN_INITIALIZED)) continue;
      seen.push(`"${tokenLabel}" (serial ${tokenSerial})`);
      if (serial !== undefined ? tokenSerial === serial : tokenLabel === label) matching.push(slot);
    }
    if (matching.length === 0) {
      throw new TokenError('token-not-found', `${this.describe()}: no such token present${seen.length > 0 ? `; present: ${seen.join(', ')}` : '; no initialised token is present'}`);
    }
    if (matching.length > 1) throw new TokenError('token-ambiguous', `${this.describe()}: ${matching.length} tokens carry this label; name the token by its serial instead`);
    return matching[0]!;
  }

  private login(lib: pkcs11js.PKCS11, session: Buffer, pin: string): void {
    try {
      lib.C_Login(session, pkcs11js.CKU_USER, pin);
      this.options.events?.login?.('ok');
    } catch (err) {
      if (ckrOf(err)?.code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) return;
      // Whatever the module answered, this PIN is not tried again: a module that reports a wrong
      // PIN under another code must not be able to lead us into a retry loop.
      this.refusedPin = digest(pin);
      const failure = tokenFailureOf(err, `logging in to ${this.describe()}`);
      this.options.events?.login?.(failure.failure);
      const hint = ' — not tried again until the PIN file changes (or the connector restarts)';
      throw new TokenError(failure.failure, failure.detail + hint, failure.ckr);
    }
  }

  private findKey(lib: pkcs11js.PKCS11, session: Buffer): Buffer {
    const { label, id } = this.settings.key;
    const template: pkcs11js.Template = [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }];
    template.push(id !== undefined ? { type: pkcs11js.CKA_ID, value: Buffer.from(id.replace(/:/g, ''), 'hex') } : { type: pkcs11js.CKA_LABEL, value: label! });
    const found = findObjects(lib, session, template);
    if (found.length === 0) throw new TokenError('key-not-found', `${this.describe()}: the token holds no private key with this ${id !== undefined ? 'id' : 'label'} (or the PIN does not give access to it)`);
    if (found.length > 1) throw new TokenError('key-ambiguous', `${this.describe()}: ${found.length} private keys match; name the key by its id`);
    return found[0]!;
  }

  private keyFacts(lib: pkcs11js.PKCS11, session: Buffer, key: Buffer): { id: Buffer; publicKey: KeyObject; signatureBytes: number } {
    const attrs = lib.C_GetAttributeValue(session, key, [
      { type: pkcs11js.CKA_KEY_TYPE },
      { type: pkcs11js.CKA_SIGN },
      { type: pkcs11js.CKA_SENSITIVE },
      { type: pkcs11js.CKA_EXTRACTABLE },
      { type: pkcs11js.CKA_ID },
    ]);
    const value = (type: number) => attrs.find((a) => a.type === type)?.value;
    const flag = (type: number) => (value(type)?.[0] ?? 0) !== 0;
    if (ulong(value(pkcs11js.CKA_KEY_TYPE)) !== pkcs11js.CKK_RSA) {
      throw new TokenError('key-unsuitable', `${this.describe()}: not an RSA key (the signature method is rsa-sha256)`);
    }
    if (!flag(pkcs11js.CKA_SIGN)) throw new TokenError('key-unsuitable', `${this.describe()}: the key may not sign (CKA_SIGN is false)`);
    if (!flag(pkcs11js.CKA_SENSITIVE) || flag(pkcs11js.CKA_EXTRACTABLE)) {
      throw new TokenError(
        'key-exportable',
        `${this.describe()}: the key can leave the token (CKA_SENSITIVE ${flag(pkcs11js.CKA_SENSITIVE)}, CKA_EXTRACTABLE ${flag(pkcs11js.CKA_EXTRACTABLE)}); generate it on the token as sensitive and not extractable`,
      );
    }
    const id = value(pkcs11js.CKA_ID) ?? Buffer.alloc(0);
    const publicKey = this.publicKeyOf(lib, session, key, id);
    const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 2048;
    return { id, publicKey, signatureBytes: Math.ceil(bits / 8) };
  }

  /** From the private key's own modulus and exponent, else from the public key object with the same CKA_ID. */
  private publicKeyOf(lib: pkcs11js.PKCS11, session: Buffer, key: Buffer, id: Buffer): KeyObject {
    const rsa = (handle: Buffer) => lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
    let attrs: pkcs11js.TemplateResult;
    try {
      attrs = rsa(key);
    } catch {
      const pub = id.length > 0 ? findObjects(lib, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }, { type: pkcs11js.CKA_ID, value: id }]) : [];
      if (pub.length !== 1) throw new TokenError('key-unsuitable', `${this.describe()}: neither the key nor a public key with its id gives the modulus`);
      attrs = rsa(pub[0]!);
    }
    const [n, e] = attrs.map((a) => Buffer.from(a.value).toString('base64url'));
    return createPublicKey({ key: { kty: 'RSA', n: n!, e: e! }, format: 'jwk' });
  }

  private findCertificate(lib: pkcs11js.PKCS11, session: Buffer, id: Buffer): Buffer {
    const byId = id.length > 0 ? findObjects(lib, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE }, { type: pkcs11js.CKA_ID, value: id }]) : [];
    const label = this.settings.key.label;
    const found = byId.length > 0 || label === undefined ? byId : findObjects(lib, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE }, { type: pkcs11js.CKA_LABEL, value: label }]);
    if (found.length === 0) throw new TokenError('certificate-not-found', `${this.describe()}: no certificate on the token with the key's id${label !== undefined ? ' or label' : ''}; put it there or set signing.certFile`);
    const [cert] = lib.C_GetAttributeValue(session, found[0]!, [{ type: pkcs11js.CKA_VALUE }]);
    return Buffer.from(cert!.value);
  }

  private readPin(): string {
    let text: string;
    try {
      text = fs.readFileSync(this.settings.pinFile, 'utf8');
    } catch (err) {
      throw new TokenError('pin-unreadable', `the PIN file ${this.settings.pinFile} cannot be read: ${(err as Error).message}`);
    }
    const pin = text.replace(/[\r\n]+$/, '');
    if (pin === '') throw new TokenError('pin-unreadable', `the PIN file ${this.settings.pinFile} is empty`);
    return pin;
  }

  private lose(failure: TokenError): void {
    this.closeSession();
    this.setFailure(failure);
  }

  private setFailure(failure: TokenError): void {
    const changed = !this.failure || this.failure.failure !== failure.failure || this.failure.detail !== failure.detail;
    this.failure = failure;
    this.nextAttemptAt = this.now() + this.retryIntervalMs;
    if (changed) this.options.events?.failed?.(failure);
  }

  private closeSession(): void {
    const open = this.open;
    this.open = undefined;
    if (!open || open.generation !== open.module.generation) return;
    try {
      open.module.lib.C_CloseSession(open.session);
    } catch {
      // gone with the token
    }
  }
}

function findObjects(lib: pkcs11js.PKCS11, session: Buffer, template: pkcs11js.Template): Buffer[] {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, 2);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

/** A CK_ULONG attribute value (native byte order, 4 or 8 bytes). */
function ulong(value: Buffer | undefined): number | undefined {
  if (!value) return undefined;
  return value.length === 8 ? Number(value.readBigUInt64LE()) : value.readUInt32LE();
}

function digest(pin: string): string {
  return createHash('sha256').update(pin).digest('hex');
}
