/**
 * Small network helpers of the local tools (demo, stack, test servers).
 */
import { createServer } from 'node:net';

/** A free TCP port on the loopback address (released before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port')),
      );
    });
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A free loopback port in [min, max]: for a port that must fit a narrower type than the kernel's
 * ephemeral range (Temporal stores membership ports in a PostgreSQL smallint).
 */
export async function freePortInRange(min: number, max: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = min + Math.floor(Math.random() * (max - min + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${min} and ${max}`);
}
