/** The vendor side of AMQP tests: queues and exchanges with unique names, and credentials as files. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as amqp from 'amqplib';

export const TEST_AMQP_URL = process.env.VDXP_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';

/** Connector options for the test broker (or another): URL without credentials, password in a file. */
export function amqpConnectionOptions(dir: string, brokerUrl = TEST_AMQP_URL): { url: string; username: string; passwordFile: string } {
  const url = new URL(brokerUrl);
  const passwordFile = path.join(dir, 'amqp.password');
  fs.writeFileSync(passwordFile, decodeURIComponent(url.password) + '\n', { mode: 0o600 });
  const username = decodeURIComponent(url.username);
  url.username = '';
  url.password = '';
  return { url: url.toString(), username, passwordFile };
}

export async function openVendorChannel(): Promise<{ connection: amqp.ChannelModel; channel: amqp.ConfirmChannel }> {
  const connection = await amqp.connect(TEST_AMQP_URL);
  const channel = await connection.createConfirmChannel();
  return { connection, channel };
}

/** Waits for the next message on a queue (polling basic.get), or fails after timeoutMs. */
export async function nextMessage(channel: amqp.Channel, queue: string, timeoutMs: number): Promise<amqp.GetMessage> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const msg = await channel.get(queue, { noAck: false });
    if (msg) return msg;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no message on ${queue} within ${timeoutMs} ms`);
}
