import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

/** A TCP relay in front of a server whose connections a test can cut, as a network would. */
export interface CutProxy {
  /** Where clients connect, e.g. `http://127.0.0.1:1234`. */
  readonly url: string;
  /** Connections relayed so far. */
  readonly connections: number;
  /** Destroys every open connection, both sides, now. */
  cut(): void;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

/** Starts a relay to `port` on 127.0.0.1. */
export async function startCutProxy(port: number): Promise<CutProxy> {
  const open = new Set<Socket>();
  let connections = 0;
  const server = createServer((client) => {
    connections++;
    const upstream = connect(port, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  let closed: Promise<void> | undefined;
  const cut = (): void => {
    for (const socket of [...open]) socket.destroy();
    open.clear();
  };
  return {
    url: `http://127.0.0.1:${address.port}`,
    get connections() {
      return connections;
    },
    cut,
    close() {
      closed ??= new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}
