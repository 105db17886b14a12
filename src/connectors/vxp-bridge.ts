/**
 * The VXP bridge: this connector as a *client* of an existing VXP endpoint (the national axis, a
 * provincial hub, or another connector's `vxp` side), speaking to it exactly as the Government
 * Office's SDK does (./vxp-bridge/client.ts). The endpoint stands where a legacy system stands for
 * the other transports: what it holds for the bridge's systemId comes into the backbone, and what
 * the backbone brings for this agency goes to it. docs/OPERATIONS.md "The VXP bridge" has the
 * configuration and the deployment it serves.
 *
 * Source: the SDK's receive loop. Every `pollIntervalMs`, getReceivedEdocList (edoc, then status),
 * then for each docId getEdoc, and the package goes through the send pipeline like a file from a
 * drop folder. updateStatus(done) is called only once Kafka holds every copy; a package the
 * pipeline refuses for good (not edXML, From not this agency, unknown recipient, over a limit) is
 * confirmed `fail`, which the endpoint reports to its sender as refused. A package that should be
 * tried again (Kafka unreachable) is left unconfirmed: the endpoint lists it again at the next
 * poll. A confirmation the endpoint did not take is repeated before anything is fetched again, so a
 * package Kafka holds is not written twice because of it (and if the process dies in between, the
 * second copy carries the same bytes, hence the same idempotency key downstream).
 *
 * Sink: sendEdoc (messagetype edoc or status, `from` = the package's sender), resolved only when
 * the endpoint answered OK. Failures are classified by the client: transient ones go through the
 * sink's circuit breaker and are retried; permanent ones (the endpoint answered FAIL) are
 * dead-lettered by the receive pipeline, with status 02 to the sender.
 *
 * Outbound route: a source with `outbound` also sends this agency's own packages for the
 * recipients it names to the same account, through a VxpBridgeSink of its options named
 * `<name>/outbound` (src/connectors/index.ts createOutboundSink), fed by the agency's outbox
 * (src/pipeline/outbox.ts; the routing decision is src/pipeline/outbound-routes.ts).
 */
import { createHash } from 'node:crypto';
import { DeliveryError, type DeliveryContext, type VendorMessage, type Sink, type Source, type SourceHandler, type SourceServices } from './types';
import { VxpCallError, VxpClient, type MessageType, type VxpEndpointOptions } from './vxp-bridge/client';
import type { Logger } from '../observability/log';
import type { Rejection } from '../errors';
import { sleep } from '../sleep';

export type { VxpEndpointOptions } from './vxp-bridge/client';

export interface VxpBridgeSourceOptions extends VxpEndpointOptions {
  /** Time between two rounds of the receive loop. */
  pollIntervalMs?: number;
  /** Which lists are polled: documents, statuses, or both (the default). */
  messageTypes?: MessageType[];
}

export type VxpBridgeSinkOptions = VxpEndpointOptions;

const DEFAULT_POLL_MS = 5_000;

/**
 * What this process's bridge sinks handed to each endpoint account lately (SHA-256 of the package),
 * so that its bridge source recognises a package coming back: an endpoint that lists to the
 * bridge's account what the sink sent (the sink pointed at an account that receives for this very
 * agency) would otherwise make a loop, backbone → endpoint → backbone. Such a package is already in
 * Kafka: it is confirmed done and not taken again.
 */
const SENT_LATELY = new Map<string, Set<string>>();
const SENT_LATELY_MAX = 10_000;
const accountKey = (o: VxpEndpointOptions) => `${o.endpoint.replace(/\/+$/, '')}\n${o.systemId}`;

function rememberSent(options: VxpEndpointOptions, sha256: string): void {
  const key = accountKey(options);
  const sent = SENT_LATELY.get(key) ?? new Set<string>();
  SENT_LATELY.set(key, sent);
  sent.add(sha256);
  if (sent.size > SENT_LATELY_MAX) sent.delete(sent.values().next().value!);
}

function sentLately(options: VxpEndpointOptions, sha256: string): boolean {
  return SENT_LATELY.get(accountKey(options))?.has(sha256) ?? false;
}

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A refusal as the endpoint's sender will read it in the status the endpoint returns. */
function refusalText(rejection: Rejection): string {
  return `${rejection.reason}: ${rejection.detail}`;
}

export class VxpBridgeSource implements Source {
  private client: VxpClient | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: AbortController | undefined;
  /** Confirmations the endpoint has not taken yet, by docId: repeated before anything else. */
  private readonly unconfirmed = new Map<string, 'done' | 'fail'>();
  private readonly log: Logger | undefined;

  constructor(
    readonly name: string,
    private readonly options: VxpBridgeSourceOptions,
    services: SourceServices = {},
  ) {
    this.log = services.log;
  }

  async start(handler: SourceHandler): Promise<void> {
    this.client = new VxpClient(this.name, this.options);
    this.loop = this.run(handler);
  }

  private async run(handler: SourceHandler): Promise<void> {
    const interval = this.options.pollIntervalMs ?? DEFAULT_POLL_MS;
    while (!this.stopped) {
      try {
        await this.round(handler);
      } catch (err) {
        this.log?.warn({ step: 'receive', source: this.name, err: (err as Error).message }, `vxp bridge ${this.name}: receive loop failed; trying again in ${interval} ms`);
      }
      if (this.stopped) break;
      this.wake = new AbortController();
      await sleep(interval, this.wake.signal).catch(() => undefined);
    }
  }

  /** One round of the receive loop: pending confirmations, then each list, each package in turn. */
  async round(handler: SourceHandler): Promise<void> {
    const client = this.client!;
    for (const [docId, status] of [...this.unconfirmed]) {
      await client.updateStatus(docId, status);
      this.unconfirmed.delete(docId);
    }
    for (const type of this.options.messageTypes ?? ['edoc', 'status']) {
      const entries = await client.getReceivedEdocList(type);
      for (const entry of entries) {
        if (this.stopped) return;
        if (this.unconfirmed.has(entry.docId)) continue;
        await this.take(client, entry.docId, type, handler);
      }
    }
  }

  private async take(client: VxpClient, docId: string, type: MessageType, handler: SourceHandler): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await client.getEdoc(docId);
    } catch (err) {
      // Left on the endpoint, unconfirmed: listed again next round.
      this.log?.warn({ step: 'receive', source: this.name, docId, err: (err as Error).message }, `vxp bridge ${this.name}: getEdoc ${docId} failed; it stays on the endpoint`);
      return;
    }
    if (sentLately(this.options, sha256Of(bytes))) {
      this.log?.error(
        { step: 'receive', source: this.name, docId },
        `vxp bridge ${this.name}: ${docId} is a package this connector's bridge sink sent to the same account: the endpoint routes it back (a loop); confirmed done, not taken again`,
      );
      await client.updateStatus(docId, 'done').catch(() => this.unconfirmed.set(docId, 'done'));
      return;
    }
    const confirm = async (status: 'done' | 'fail') => {
      try {
        await client.updateStatus(docId, status);
      } catch (err) {
        this.unconfirmed.set(docId, status);
        this.log?.warn({ step: 'receive', source: this.name, docId, status, err: (err as Error).message }, `vxp bridge ${this.name}: updateStatus(${status}) of ${docId} not taken; repeated next round`);
      }
    };
    let settled = false;
    const once = async (what: () => Promise<void>) => {
      if (settled) throw new Error(`vxp bridge ${this.name}: ${docId} settled twice`);
      settled = true;
      await what();
    };
    await handler(
      { body: bytes, fileName: `${safeName(docId)}.edxml`, contentType: 'application/xml', sideFiles: [] },
      {
        accepted: () => once(() => confirm('done')),
        rejected: (rejection) =>
          once(async () => {
            this.log?.warn({ step: 'receive', source: this.name, docId, messageType: type, reason: rejection.reason }, `vxp bridge ${this.name}: ${docId} refused (${refusalText(rejection)}); confirmed fail`);
            await confirm('fail');
          }),
        // Unconfirmed: the endpoint keeps it and lists it again.
        retryLater: () => once(async () => undefined),
      },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.abort();
    await this.loop;
  }
}

/** A docId as part of a file name: the pipeline only uses it in log lines and the trail. */
function safeName(docId: string): string {
  return docId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'package';
}

export class VxpBridgeSink implements Sink {
  private client: VxpClient | undefined;

  constructor(
    readonly name: string,
    private readonly options: VxpBridgeSinkOptions,
  ) {}

  async start(): Promise<void> {
    this.client = new VxpClient(this.name, this.options);
  }

  async deliver(message: VendorMessage, context: DeliveryContext): Promise<void> {
    const pkg = message.bodyFile ?? message.body;
    try {
      await this.client!.sendEdoc(context.fromOrganId, context.kind, pkg);
      if (!message.bodyFile) rememberSent(this.options, sha256Of(message.body));
    } catch (err) {
      if (err instanceof VxpCallError) throw new DeliveryError(err.message, err.transient);
      throw new DeliveryError(`vxp ${this.name}: ${(err as Error).message}`, true);
    }
  }

  async stop(): Promise<void> {}
}
