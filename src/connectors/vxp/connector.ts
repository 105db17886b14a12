/**
 * The `vxp` connector: the national axis's own API (SPEC §12.1), so that a legacy system using the
 * Government Office's VXP SDK plugs in by setting `service.endpoint` to this connector and keeping
 * its systemId and secret (docs/VXP.md). One listener serves every operation:
 *
 *   sendEdoc                    a document or status into the send pipeline; OK with a DocId only
 *                               after Kafka holds every copy
 *   getReceivedEdocList         the agency's mailbox in Kafka (src/broker/vxp-mailbox.ts)
 *   getEdoc                     streams one package from Kafka as base64 in `data`
 *   updateStatus                done: confirmed in Kafka, never listed again; fail: also status 02
 *                               to the sender
 *   countReceiveEdoc/Status     the mailbox's counts
 *   getSentEdocList             the trail's read model
 *   getAgenciesList(QD20), getSynchronizeUnit   the backbone's agency directory
 *
 * Every request is checked with the XroadVnpt-* signature as the real SDK computes it
 * (./xroad-hmac.ts): wrong secret, stale timestamp (read in `timeZone`), changed header or body
 * are refused. Every answer is HTTP 200 JSON in the SDK's shapes (./answers.ts); a refusal is
 * FAIL with its typed reason in ErrorCode and what is wrong in ErrorDesc.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { DEFAULT_REQUEST_TIMEOUT_SECONDS, LARGE_BODY_BYTES, requestTimeoutOptions, type Source, type SourceHandler, type SourceServices, type VendorMessage } from '../types';
import { MemoryReplayGuard, type ReplayGuard } from '../replay-guard';
import { ScratchFolder } from '../../scratch-folder';
import { checkTimeZone, DEFAULT_SDK_TIME_ZONE, HASH_HEADER, matchHashFile, SendBodyHasher, verifyXroadHeaders, type HeaderLookup } from './xroad-hmac';
import { fail, listTime, ok, type VxpAnswer } from './answers';
import type { MailboxEntry, VxpKind, VxpMailbox } from '../../broker/vxp-mailbox';
import type { AgencyDirectory } from '../../broker/agency-directory';
import type { SentDocumentsQuery } from '../../trail/read-model';

export interface VxpClient {
  systemId: string;
  secretFile: string;
  /** The From/OrganIds this system may send as; without it, the agency's own OrganId only. */
  organIds?: string[];
}

export interface VxpOptions {
  host?: string;
  port: number;
  tls?: { certFile: string; keyFile: string };
  /** As the HTTP ingest: signed requests over plain HTTP only where TLS ends in front on the same host. */
  allowPlainHttp?: boolean;
  clients: VxpClient[];
  /** The zone the clients' clocks are in; their timestamps carry none (default Asia/Ho_Chi_Minh). */
  timeZone?: string;
  maxSkewSeconds?: number;
  maxBodyBytes?: number;
  /** The longest a whole request may take to arrive (default DEFAULT_REQUEST_TIMEOUT_SECONDS in ../types). */
  requestTimeoutSeconds?: number;
}

/** What the agency lends the VXP connector beyond SourceServices. */
export interface VxpServices extends SourceServices {
  mailbox?: VxpMailbox;
  directory?: AgencyDirectory;
  sentDocuments?: SentDocumentsQuery;
  /** Sends status 02 to the sender of a package the legacy system refused with updateStatus(fail). */
  refuse?: (entry: MailboxEntry, description: string) => Promise<void>;
  now?: () => Date;
}

const DEFAULT_MAX_BODY = 256 * 1024 * 1024;
const DRAIN_MS = 30_000;
const OPERATIONS = new Set(['sendEdoc', 'getReceivedEdocList', 'getEdoc', 'updateStatus', 'getSentEdocList', 'countReceiveEdoc', 'countReceiveStatus', 'getAgenciesList', 'getAgenciesListQD20', 'getSynchronizeUnit']);
/** Signed parameters each operation needs (names in lower case). */
const REQUIRED: Record<string, string[]> = { sendEdoc: ['hash-file', 'from'], getEdoc: ['docid'], updateStatus: ['docid', 'status'] };

/** The DocId sendEdoc answers: stable for the same file, so a re-send is recognised. */
export function senderDocId(fileSha256Hex: string): string {
  return fileSha256Hex.slice(0, 40);
}

export class VxpConnector implements Source {
  private server: http.Server | undefined;
  private readonly secrets = new Map<string, VxpClient & { secret: string }>();
  private scratch: ScratchFolder | undefined;
  private readonly replayGuard: ReplayGuard;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    readonly name: string,
    private readonly options: VxpOptions,
    private readonly services: VxpServices = {},
    private readonly organId = '',
  ) {
    this.replayGuard = services.replayGuard ?? new MemoryReplayGuard();
  }

  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  private get timeZone(): string {
    return this.options.timeZone ?? DEFAULT_SDK_TIME_ZONE;
  }

  private get requestTimeoutSeconds(): number {
    return this.options.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS;
  }

  private now(): Date {
    return this.services.now?.() ?? new Date();
  }

  async start(handler: SourceHandler): Promise<void> {
    if (!this.options.tls && !this.options.allowPlainHttp) {
      throw new Error(`connector ${this.name}: the VXP API signs headers only and over plain HTTP anyone on the path can read and replay them: configure tls (certFile, keyFile), or allowPlainHttp: true where TLS ends in front of it on the same host`);
    }
    checkTimeZone(this.timeZone);
    for (const c of this.options.clients) this.secrets.set(c.systemId, { ...c, secret: fs.readFileSync(c.secretFile, 'utf8').trim() });
    this.scratch = await ScratchFolder.open('vdxp-vxp-');
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const work = this.handle(req, res, handler).catch((err: Error) => {
        this.services.log?.error({ step: 'receive', connector: this.name, err: err.message }, 'VXP request failed');
        if (!res.headersSent) send(res, fail('internal-error', `the connector failed: ${err.message}`));
        else res.destroy();
      });
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    };
    const { tls } = this.options;
    const timeouts = requestTimeoutOptions(this.requestTimeoutSeconds);
    this.server = tls ? https.createServer({ cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile), ...timeouts }, listener) : http.createServer(timeouts, listener);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, this.options.host ?? '127.0.0.1', () => resolve());
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await Promise.allSettled([...this.inFlight]);
    await this.scratch?.close();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, handler: SourceHandler): Promise<void> {
    const receivedAt = this.now();
    const op = (req.url ?? '/').split('?')[0]!.replace(/^\/+/, '');
    // The SDK reads its call's own fields even from a FAIL (sendEdoc reads DocId and throws on a
    // missing one): every answer carries them, empty on a refusal.
    (res as ResponseWithDefaults).vxpDefaults = FAIL_DEFAULTS[op] ?? {};
    if (!OPERATIONS.has(op)) return this.refuse(req, res, fail('unknown-operation', `no VXP operation /${op}; this connector serves ${[...OPERATIONS].join(', ')}`));
    const header: HeaderLookup = (name) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    };
    const verdict = verifyXroadHeaders(header, (id) => this.secrets.get(id)?.secret, { now: receivedAt, maxSkewMs: (this.options.maxSkewSeconds ?? 300) * 1000, timeZone: this.timeZone, required: REQUIRED[op] });
    if (!verdict.ok) {
      this.services.metrics?.ingestUnauthorized(this.name, verdict.code);
      this.services.log?.warn({ step: 'receive', connector: this.name, op, reason: verdict.code, detail: verdict.reason, systemId: verdict.systemId }, `VXP ${op} refused: ${verdict.reason}`);
      return this.refuse(req, res, fail(verdict.code, verdict.reason));
    }
    const client = this.secrets.get(verdict.systemId)!;
    const p = verdict.params;
    if (op === 'sendEdoc') return this.sendEdoc(req, res, handler, client, p, header(HASH_HEADER) ?? '');
    req.resume();
    switch (op) {
      case 'getReceivedEdocList':
        return send(res, await this.list(kindOf(p.messagetype)));
      case 'countReceiveEdoc':
        return send(res, ok({ count: (await this.mailbox().waitingNow('edoc')).length }));
      case 'countReceiveStatus':
        return send(res, ok({ count: (await this.mailbox().waitingNow('status')).length }));
      case 'getEdoc':
        return this.getEdoc(res, p.docid!);
      case 'updateStatus':
        return send(res, await this.updateStatus(p.docid!, p.status!));
      case 'getSentEdocList':
        return send(res, this.sentList());
      default:
        return send(res, await this.agencies(op));
    }
  }

  private mailbox(): VxpMailbox {
    if (!this.services.mailbox) throw new Error('the pull side needs the mailbox (the agency starts it for a vxp connector)');
    return this.services.mailbox;
  }

  /**
   * Answers a refusal once the body is read and thrown away: the SDK's sendEdoc writes the whole
   * body before it reads any answer, so an answer sent early is lost with the connection and the
   * SDK reports nothing. After DRAIN_MS the connection is closed instead.
   */
  private async refuse(req: http.IncomingMessage, res: http.ServerResponse, answer: VxpAnswer): Promise<void> {
    if (!req.readableEnded) {
      req.resume();
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), DRAIN_MS);
        req.once('end', () => (clearTimeout(timer), resolve(true)));
        req.once('error', () => (clearTimeout(timer), resolve(false)));
      });
      if (!drained) return void req.socket.destroy();
    }
    send(res, answer);
  }

  private async sendEdoc(req: http.IncomingMessage, res: http.ServerResponse, handler: SourceHandler, client: VxpClient, p: Record<string, string>, signature: string): Promise<void> {
    const from = p.from!;
    const mayActAs = client.organIds ?? [this.organId];
    if (!mayActAs.includes(from)) return this.refuse(req, res, fail('sender-not-allowed', `systemid ${client.systemId} may not send as ${from} (it may send as ${mayActAs.join(', ')})`));
    const max = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max + 2) return this.refuse(req, res, fail('limit-exceeded', `package of ${declared} bytes, the limit is ${max}`));
    const body = await this.receive(req, max + 2);
    if ('tooLarge' in body) return this.refuse(req, res, fail('limit-exceeded', `package over the limit of ${max} bytes`));
    try {
      const match = matchHashFile(p['hash-file']!, body.digests);
      if (!match) return send(res, fail('body-mismatch', 'hash-file does not match the body: the package was changed after it was signed'));
      const length = match === 'file-and-crlf' ? body.digests.length - 2 : body.digests.length;
      let message: VendorMessage;
      if (body.file) {
        if (match === 'file-and-crlf') await fsp.truncate(body.file, length);
        message = { body: Buffer.alloc(0), bodyFile: { path: body.file, length }, contentType: 'application/xml', fileName: 'document.edxml', sideFiles: [] };
      } else {
        message = { body: body.bytes!.subarray(0, length), contentType: 'application/xml', fileName: 'document.edxml', sideFiles: [] };
      }
      const docId = senderDocId(match === 'file-and-crlf' ? body.digests.withoutTrailer!.toString('hex') : body.digests.whole.toString('hex'));
      message.sender = { id: client.systemId, mayActAs };
      // One signed send is handled once; its copy gets the same DocId and sends nothing again.
      const key = createHash('sha256').update(`${client.systemId}\n${signature.trim().toLowerCase()}`).digest('hex');
      let claim;
      try {
        claim = await this.replayGuard.claim(key, this.now().getTime() + (this.options.maxSkewSeconds ?? 300) * 1000);
      } catch (err) {
        return send(res, fail('retry-later', `cannot check for replays now: ${(err as Error).message}; send again`));
      }
      if (claim.verdict === 'accepted') return send(res, ok({ DocId: docId, replay: true }));
      if (claim.verdict === 'in-flight') return send(res, fail('retry-later', 'this signed request is being handled now; send again for its answer'));
      let answer: VxpAnswer | undefined;
      const settle = async (outcome: 'accepted' | 'released', a: VxpAnswer) => {
        if (answer) throw new Error('request settled twice');
        answer = a;
        await claim.settle(outcome).catch(() => undefined);
      };
      await handler(message, {
        accepted: () => settle('accepted', ok({ DocId: docId })),
        rejected: (r) => settle('released', fail(r.reason, r.detail ?? r.reason)),
        retryLater: (err) => settle('released', fail('retry-later', `${err.message}; send again later`)),
      });
      if (!answer) await settle('released', fail('internal-error', 'the package was not settled'));
      send(res, answer!);
    } finally {
      if (body.file) await fsp.rm(body.file, { force: true });
    }
  }

  /** The body, hashed as it arrives; spooled to the scratch folder once over LARGE_BODY_BYTES. */
  private async receive(req: http.IncomingMessage, max: number): Promise<{ digests: ReturnType<SendBodyHasher['digest']>; bytes?: Buffer; file?: string } | { tooLarge: true }> {
    const startedAt = Date.now();
    const hasher = new SendBodyHasher();
    const chunks: Buffer[] = [];
    let file: string | undefined;
    let out: fs.WriteStream | undefined;
    try {
      let tooLarge = false;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        // Over the limit the rest is read and thrown away, so that the SDK gets to read the answer.
        if (tooLarge) continue;
        hasher.update(chunk);
        if (hasher.length > max) {
          tooLarge = true;
          chunks.length = 0;
          out?.destroy();
          if (file) await fsp.rm(file, { force: true });
          continue;
        }
        if (!out && hasher.length > LARGE_BODY_BYTES) {
          file = this.scratch!.newPath('body');
          out = fs.createWriteStream(file);
          for (const c of chunks.splice(0)) if (!out.write(c)) await new Promise<void>((r) => out!.once('drain', () => r()));
        }
        if (out) {
          if (!out.write(chunk)) await new Promise<void>((r) => out!.once('drain', () => r()));
        } else chunks.push(chunk);
      }
      if (tooLarge) return { tooLarge: true };
      if (out) await new Promise<void>((resolve, reject) => out!.end((err?: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      out?.destroy();
      if (file) await fsp.rm(file, { force: true });
      const elapsedMs = Date.now() - startedAt;
      if (elapsedMs >= this.requestTimeoutSeconds * 1000 - 1000) {
        throw new Error(`the request was not complete within requestTimeoutSeconds (${this.requestTimeoutSeconds} s): ${hasher.length} bytes arrived in ${Math.round(elapsedMs / 1000)} s; nothing was sent`);
      }
      throw err;
    }
    return { digests: hasher.digest(), ...(file ? { file } : { bytes: Buffer.concat(chunks) }) };
  }

  private async list(kind: VxpKind): Promise<VxpAnswer> {
    const data = (await this.mailbox().waitingNow(kind)).map((e) => {
      const created = listTime(e.createdAt, this.timeZone);
      return { docId: e.docId, serviceType: 'eDoc', messageType: e.kind, created_time: created, updated_time: created, from: e.from, to: e.to, status: 'initial', status_desc: 'waiting for the receiving system' };
    });
    return ok({ data });
  }

  private async getEdoc(res: http.ServerResponse, docId: string): Promise<void> {
    const { entry, confirmation } = await this.mailbox().find(docId);
    if (!entry) return send(res, fail('not-found', `no package ${docId} in this agency's mailbox`));
    if (confirmation) return send(res, fail('already-confirmed', `package ${docId} was confirmed (${confirmation.status}) at ${confirmation.at} and is no longer served`));
    // Streamed: the JSON around it, and the package as base64 chunk by chunk from Kafka.
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
    res.write('{"status":"OK","ErrorCode":"0","ErrorDesc":"Success","docId":' + JSON.stringify(docId) + ',"data":"');
    let carry = Buffer.alloc(0);
    for await (const chunk of this.mailbox().read(entry)) {
      const joined = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = joined.length - (joined.length % 3);
      if (!res.write(joined.subarray(0, whole).toString('base64'))) await new Promise((r) => res.once('drain', r));
      carry = Buffer.from(joined.subarray(whole));
    }
    res.end(carry.toString('base64') + '"}');
  }

  private async updateStatus(docId: string, status: string): Promise<VxpAnswer> {
    if (status !== 'done' && status !== 'fail') return fail('bad-status', `status ${JSON.stringify(status)} is not done or fail`);
    const mailbox = this.mailbox();
    const { entry, confirmation } = await mailbox.find(docId);
    if (!entry) return fail('not-found', `no package ${docId} in this agency's mailbox`);
    if (confirmation) {
      return confirmation.status === status ? ok() : fail('already-confirmed', `package ${docId} was already confirmed as ${confirmation.status} at ${confirmation.at}`);
    }
    if (status === 'fail' && entry.kind === 'edoc') await this.services.refuse?.(entry, 'refused by the receiving system (updateStatus fail)');
    await mailbox.confirm(docId, status, this.now());
    this.services.log?.info({ step: 'delivered', connector: this.name, docId, documentId: entry.documentId, fromOrganId: entry.from, status }, `VXP package ${docId} confirmed ${status}`);
    return ok();
  }

  private sentList(): VxpAnswer {
    const docs = this.services.sentDocuments?.sentDocuments({ limit: 1000 }) ?? [];
    const data = docs.flatMap((d) =>
      d.recipients.map((r) => ({
        serviceType: 'eDoc',
        senderDocId: d.documentId,
        receiverDocId: d.documentId,
        fromCode: this.organId,
        toCode: r.organId,
        title: d.subject ?? '',
        notation: d.code ?? '',
        messageType: 'edoc',
        sentTime: listTime(d.sentAt, this.timeZone),
        receivedTime: r.latestStatus ? listTime(r.latestStatus.at, this.timeZone) : '',
        sendStatus: r.writtenAt ? 'done' : 'initial',
        sendStatusDesc: String(r.stage),
        receiveStatus: r.latestStatus?.code ?? '',
        receiveStatusDesc: r.latestStatus ? `status ${r.latestStatus.code}` : 'no status yet',
      })),
    );
    return ok({ data });
  }

  private async agencies(op: string): Promise<VxpAnswer> {
    const list = (await this.services.directory?.list()) ?? [];
    if (op === 'getAgenciesListQD20') return ok({ data: list.map((a) => ({ id: a.code, code: a.code, name: a.name, mail: a.mail, code102: a.code })) });
    if (op === 'getSynchronizeUnit') {
      return ok({ data: list.map((a) => ({ id: a.code, code: a.code, name: a.name, mail: a.mail, pid: a.pid, version: 1, centerCode: '', deleted: false, modifyDate: a.updatedAt, isAgency: true })) });
    }
    return ok({ data: list.map((a) => ({ id: a.code, code: a.code, name: a.name, mail: a.mail, pid: a.pid, oldCode: '' })) });
  }
}

function kindOf(messagetype: string | undefined): VxpKind {
  return messagetype === 'status' ? 'status' : 'edoc';
}

type ResponseWithDefaults = http.ServerResponse & { vxpDefaults?: Record<string, unknown> };

const FAIL_DEFAULTS: Record<string, Record<string, unknown>> = {
  sendEdoc: { DocId: '' },
  getReceivedEdocList: { data: [] },
  getSentEdocList: { data: [] },
  getAgenciesList: { data: [] },
  getAgenciesListQD20: { data: [] },
  getSynchronizeUnit: { data: [] },
  countReceiveEdoc: { count: 0 },
  countReceiveStatus: { count: 0 },
  getEdoc: { data: '' },
};

function send(res: http.ServerResponse, answer: VxpAnswer, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const defaults = answer.status === 'FAIL' ? ((res as ResponseWithDefaults).vxpDefaults ?? {}) : {};
  const bytes = Buffer.from(JSON.stringify({ ...defaults, ...answer }));
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.length, ...headers });
  res.end(bytes);
}
