/**
 * Ports for the tests' private services. They stay below the kernel's ephemeral range (32768 and
 * up), where the outgoing connections of every client on the machine take their local ports: a
 * service on an ephemeral port can find it taken by a stranger's connection between runs.
 */
import * as net from 'node:net';

const LOWEST = 20_000;
const HIGHEST = 32_000;
const handedOut = new Set<number>();

/** A port below the ephemeral range that this process has not handed out yet (not checked for use). */
export function pickPort(): number {
  for (;;) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST));
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** A port below the ephemeral range that nothing listens on right now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = pickPort();
    const server = net.createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, host, () => resolve(true));
    });
    if (bound) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
  }
  throw new Error(`no free port between ${LOWEST} and ${HIGHEST}`);
}

/** Starts `server` listening on a free port below the ephemeral range; resolves with the port. */
export async function listenOnFreePort(server: net.Server, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = pickPort();
    const bound = await new Promise<boolean>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err));
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve(true);
      });
    });
    if (bound) return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${HIGHEST}`);
}
