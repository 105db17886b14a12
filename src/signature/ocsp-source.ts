/**
 * OCSP where configured (DESIGN.md §5, `trust.ocsp`): the responder of a certificate is the one
 * `trust.ocsp.responders` names for its issuing CA, else the first http(s) OCSP URL of its
 * authorityInfoAccess. Answers are cached in memory, bounded, for `cacheSeconds` at most (and
 * never past the response's nextUpdate or maxAgeSeconds): the connector keeps no state on disk.
 *
 * Verification is synchronous, the network is not: `OcspClient.refresh` fetches what the path
 * needs before the checks (chain.ts `fetchRevocationStatus`), and `OcspRevocationSource` answers
 * the synchronous `RevocationSource` question from the cache, falling back to the CRLs when OCSP
 * cannot answer and `fallbackToCrl` allows it. A CRL that lists the certificate wins either way.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { OCSP_OUTCOMES, buildOcspRequest, judgeOcspResponse, ocspUrlsOf, staleness, type Freshness, type NonceMode, type OcspOutcome, type OcspStatus } from './ocsp';
import type { CertificateFacts } from './certificate-facts';
import type { RevocationGapReason, RevocationSource, RevocationStatus } from './revocation';

export { OCSP_OUTCOMES, type OcspOutcome };

/** Exactly `trust.ocsp` of the agency config. */
export interface OcspSettings {
  /** Issuing CA certificate SHA-256 fingerprint → responder URL; replaces the AIA URL of the certificates that CA issued. */
  responders?: Record<string, string>;
  /** When OCSP cannot give a status, a current CRL of the issuer may (default true). */
  fallbackToCrl?: boolean;
  /** `if-supported` (default): send a nonce, refuse a response echoing another; `required`: refuse one without it; `off`: send none. */
  nonce?: NonceMode;
  timeoutMs?: number;
  /** A response whose thisUpdate is older than this is stale, whatever its nextUpdate says. */
  maxAgeSeconds?: number;
  clockSkewSeconds?: number;
  /** How long a status is reused before the responder is asked again (never past nextUpdate). */
  cacheSeconds?: number;
  /** Statuses kept at most (oldest dropped first). */
  cacheEntries?: number;
  /** After a failed request, the responder is not asked again about that certificate for this long. */
  retryAfterFailureSeconds?: number;
}

export const OCSP_DEFAULTS: Required<Omit<OcspSettings, 'responders'>> = {
  fallbackToCrl: true,
  nonce: 'if-supported',
  timeoutMs: 5000,
  maxAgeSeconds: 7 * 24 * 3600,
  clockSkewSeconds: 300,
  cacheSeconds: 300,
  cacheEntries: 10_000,
  retryAfterFailureSeconds: 10,
};

/** Responses larger than this are not read (a responder answers in a few KB). */
const MAX_RESPONSE_BYTES = 256 * 1024;

/** What the metrics see: each request with its outcome and duration. */
export interface OcspObserver {
  request(outcome: OcspOutcome, seconds: number): void;
}

type Failure = Exclude<OcspOutcome, 'good' | 'revoked' | 'unknown'>;

interface CacheEntry {
  url: string;
  certificate: string;
  /** When it was fetched, on the verification clock (ms). */
  fetchedAt: number;
  /** Reused until then (ms); a failure is remembered for retryAfterFailureSeconds. */
  reuseUntil: number;
  answer: ({ ok: true } & OcspStatus) | { ok: false; outcome: Failure; detail: string };
}

/** Per responder URL: what readiness reports. */
export interface ResponderHealth {
  url: string;
  lastSuccess?: Date;
  lastFailure?: Date;
  /** Requests in a row that got no usable answer (network, HTTP, tryLater). */
  consecutiveFailures: number;
  lastFailureDetail?: string;
  /** The subject of the CA whose certificate the last failed request was about (may a CRL of it stand in?). */
  lastFailureIssuer?: CertificateFacts['subject'];
}

interface HealthRecord extends ResponderHealth {
  /** What the last failed request asked about, to ask again from `recheckFailing`. */
  lastFailed?: { cert: CertificateFacts; issuer: CertificateFacts };
}

export class OcspClient {
  readonly settings: Required<Omit<OcspSettings, 'responders'>> & { responders: ReadonlyMap<string, string> };
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly health = new Map<string, HealthRecord>();
  observer: OcspObserver | undefined;

  /** `responders` keys must already be normalized fingerprints (lowercase hex). */
  constructor(settings: OcspSettings, observer?: OcspObserver) {
    this.settings = { ...OCSP_DEFAULTS, ...stripUndefined(settings), responders: new Map(Object.entries(settings.responders ?? {})) };
    this.observer = observer;
  }

  /** The responder asked about `cert`, or undefined when none is configured or named by the certificate. */
  responderFor(cert: CertificateFacts, issuer: CertificateFacts): string | undefined {
    return this.settings.responders.get(issuer.fingerprint) ?? ocspUrlsOf(cert)[0];
  }

  /** The cached answer about `cert` usable at `now`, if any. */
  cached(cert: CertificateFacts, issuer: CertificateFacts, now: Date): CacheEntry | undefined {
    const entry = this.cache.get(keyOf(cert, issuer));
    const at = now.getTime();
    if (!entry || at >= entry.reuseUntil || at < entry.fetchedAt - this.settings.clockSkewSeconds * 1000) return undefined;
    return entry;
  }

  /** Makes sure the cache holds an answer about `cert` usable at `now`: asks the responder when it does not. Never throws. */
  async refresh(cert: CertificateFacts, issuer: CertificateFacts, now: Date): Promise<void> {
    const url = this.responderFor(cert, issuer);
    if (!url || this.cached(cert, issuer, now)) return;
    const key = keyOf(cert, issuer);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetch(url, cert, issuer, now).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    await pending;
  }

  private async fetch(url: string, cert: CertificateFacts, issuer: CertificateFacts, now: Date): Promise<void> {
    const s = this.settings;
    const started = process.hrtime.bigint();
    const request = buildOcspRequest(cert, issuer, s.nonce !== 'off');
    let answer: CacheEntry['answer'];
    try {
      const body = await post(url, request.der, s.timeoutMs);
      answer = judgeOcspResponse(body, request, cert, issuer, now, s);
    } catch (err) {
      answer = { ok: false, outcome: 'unavailable', detail: (err as Error).message };
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.observer?.request(answer.ok ? answer.status : answer.outcome, seconds);
    this.recordHealth(url, answer, cert, issuer);
    const fetchedAt = now.getTime();
    let reuseUntil: number;
    if (answer.ok) {
      reuseUntil = Math.min(fetchedAt + s.cacheSeconds * 1000, answer.thisUpdate.getTime() + s.maxAgeSeconds * 1000);
      if (answer.nextUpdate) reuseUntil = Math.min(reuseUntil, answer.nextUpdate.getTime());
    } else {
      reuseUntil = fetchedAt + s.retryAfterFailureSeconds * 1000;
    }
    const key = keyOf(cert, issuer);
    this.cache.delete(key);
    // A status reused for 0 s still answers the verification that asked for it.
    this.cache.set(key, { url, certificate: cert.description, fetchedAt, reuseUntil: Math.max(reuseUntil, fetchedAt + 1), answer });
    while (this.cache.size > s.cacheEntries) this.cache.delete(this.cache.keys().next().value!);
  }

  private recordHealth(url: string, answer: CacheEntry['answer'], cert: CertificateFacts, issuer: CertificateFacts): void {
    const health = this.health.get(url) ?? { url, consecutiveFailures: 0 };
    this.health.set(url, health);
    if (!answer.ok && answer.outcome === 'unavailable') {
      health.consecutiveFailures += 1;
      health.lastFailure = new Date();
      health.lastFailureDetail = answer.detail;
      health.lastFailureIssuer = issuer.subject;
      health.lastFailed = { cert, issuer };
    } else {
      health.consecutiveFailures = 0;
      health.lastSuccess = new Date();
      delete health.lastFailed;
    }
  }

  /** The responders asked so far, with their last results. */
  responderHealth(): ResponderHealth[] {
    return [...this.health.values()].map(({ lastFailed: _, ...h }) => ({ ...h }));
  }

  /**
   * Asks each failing responder again, in the background, about what it last failed to answer
   * (at most once per retryAfterFailureSeconds): readiness then recovers when the responder
   * does, without waiting for a package to need it.
   */
  recheckFailing(): void {
    const now = new Date();
    for (const health of this.health.values()) {
      if (health.consecutiveFailures === 0 || !health.lastFailed) continue;
      if (now.getTime() - (health.lastFailure?.getTime() ?? 0) < this.settings.retryAfterFailureSeconds * 1000) continue;
      void this.refresh(health.lastFailed.cert, health.lastFailed.issuer, now);
    }
  }

  /** Statuses held, and the age (now − thisUpdate) of the oldest one still reusable, for the metrics. */
  cacheStats(now = new Date()): { entries: number; oldestStatusAgeSeconds: number } {
    let oldest = 0;
    let entries = 0;
    for (const entry of this.cache.values()) {
      if (!entry.answer.ok || now.getTime() >= entry.reuseUntil) continue;
      entries += 1;
      oldest = Math.max(oldest, (now.getTime() - entry.answer.thisUpdate.getTime()) / 1000);
    }
    return { entries, oldestStatusAgeSeconds: oldest };
  }
}

function keyOf(cert: CertificateFacts, issuer: CertificateFacts): string {
  return `${issuer.fingerprint}:${cert.serial}`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * POSTs an OCSP request (RFC 6960 appendix A.1) on a connection of its own (`Connection: close`:
 * a responder that restarted never meets a stale kept-alive socket); the response body, or an
 * Error saying why there is none.
 */
function post(url: string, der: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const fail = (why: string) => reject(new Error(`the responder ${url} ${why}`));
    const request = client.request(
      target,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response', 'content-length': der.length },
        timeout: timeoutMs,
      },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          fail(`answered HTTP ${response.statusCode}`);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            request.destroy();
            fail(`sent a response larger than ${MAX_RESPONSE_BYTES} bytes`);
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve(Buffer.concat(chunks)));
        response.on('error', (err) => fail(`broke off its response (${err.message})`));
      },
    );
    const deadline = setTimeout(() => {
      request.destroy();
      fail(`did not answer within ${timeoutMs} ms`);
    }, timeoutMs);
    request.on('close', () => clearTimeout(deadline));
    request.on('timeout', () => {
      request.destroy();
      fail(`did not answer within ${timeoutMs} ms`);
    });
    request.on('error', (err: NodeJS.ErrnoException) => fail(`cannot be reached (${err.code ?? err.message})`));
    request.end(der);
  });
}

const GAP_OF: Record<Failure | 'unknown', RevocationGapReason> = {
  unavailable: 'ocsp-unavailable',
  stale: 'ocsp-stale',
  'unauthorized-signer': 'ocsp-refused',
  'bad-response': 'ocsp-refused',
  unknown: 'ocsp-unknown',
};

/**
 * The OCSP answer for certificates that have a responder, the CRL answer for the others. A CRL
 * that lists the certificate wins; a current CRL stands in for OCSP when OCSP gives no status
 * and fallbackToCrl is on.
 */
export class OcspRevocationSource implements RevocationSource {
  constructor(
    private readonly client: OcspClient,
    private readonly crl: RevocationSource,
  ) {}

  status(cert: CertificateFacts, issuer: CertificateFacts, now: Date): RevocationStatus {
    const byCrl = this.crl.status(cert, issuer, now);
    if (byCrl.status === 'revoked') return byCrl;
    const url = this.client.responderFor(cert, issuer);
    if (!url) return byCrl;
    const byOcsp = this.answer(cert, issuer, url, now);
    if (byOcsp.status !== 'unknown') return byOcsp;
    if (!this.client.settings.fallbackToCrl) return { ...byOcsp, detail: `${byOcsp.detail} (trust.ocsp.fallbackToCrl is false: CRLs do not stand in)` };
    if (byCrl.status === 'good') return { status: 'good', source: 'crl' };
    return { ...byOcsp, detail: `${byOcsp.detail}; CRL fallback: ${byCrl.detail}` };
  }

  private answer(cert: CertificateFacts, issuer: CertificateFacts, url: string, now: Date): RevocationStatus {
    const entry = this.client.cached(cert, issuer, now);
    const prefix = `the revocation status of ${cert.description} is unknown: OCSP ${url}:`;
    if (!entry) return { status: 'unknown', reason: 'ocsp-not-fetched', detail: `${prefix} no response was fetched for this check` };
    const { answer } = entry;
    if (!answer.ok) return { status: 'unknown', reason: GAP_OF[answer.outcome], detail: `${prefix} ${answer.detail}` };
    const stale = staleness(answer, now, this.client.settings as Freshness);
    if (stale) return { status: 'unknown', reason: 'ocsp-stale', detail: `${prefix} ${stale}` };
    if (answer.status === 'revoked') {
      const reason = answer.revocationReason ? `, reason ${answer.revocationReason}` : '';
      return {
        status: 'revoked',
        detail: `${cert.description} (serial ${cert.serial}) is revoked according to the OCSP responder ${url} (since ${answer.revokedAt?.toISOString()}${reason}; signed by ${answer.signer})`,
      };
    }
    if (answer.status === 'unknown') return { status: 'unknown', reason: 'ocsp-unknown', detail: `${prefix} the responder does not know the certificate (certStatus unknown)` };
    return { status: 'good', source: 'ocsp' };
  }
}
