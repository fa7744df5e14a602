import { createServer } from 'node:net';

// Ports handed out recently in this process. The kernel may hand the same ephemeral port to two
// back-to-back probes (we close each probe socket before the server binds it), and a server that
// needs two ports must not get the same one twice.
const recentlyHanded: number[] = [];
const REMEMBERED = 64;

function probePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe socket'));
      });
    });
  });
}

/**
 * A TCP port on `host` that nothing listens on right now (bind to port 0, read it, close).
 * Another process may still take it before you bind it: retry on EADDRINUSE.
 *
 * @example
 * ```ts
 * const port = await freePort(); // e.g. 41873
 * ```
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await probePort(host, 0);
    if (recentlyHanded.includes(port)) continue;
    recentlyHanded.push(port);
    if (recentlyHanded.length > REMEMBERED) recentlyHanded.shift();
    return port;
  }
  throw new Error(`could not find a free port on ${host}`);
}

/** Distinct free ports. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort(host));
  return ports;
}

/** Whether `port` on `host` can be bound right now. */
export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    await probePort(host, port);
    return true;
  } catch {
    return false;
  }
}
