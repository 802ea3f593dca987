import { StartupError } from './startup-error.ts';

/** Where a server listens, and the variables that set it: what an operator changes. */
export interface ListenTarget {
  hostVariable: string;
  portVariable: string;
  host: string;
  port: number;
}

/**
 * Runs `listen`; a failure the environment causes (the port taken, a privileged port, an address
 * this machine lacks) becomes a StartupError naming the variables to change, with the original as
 * `cause`. Anything else is rethrown as it is.
 */
export async function listenOrExplain<T>(listen: () => Promise<T>, target: ListenTarget): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const problem = describeListenFailure((err as { code?: string }).code, target);
    if (problem) throw new StartupError([problem], { cause: err });
    throw err;
  }
}

function describeListenFailure(code: string | undefined, t: ListenTarget): string | undefined {
  const at = `${t.host}:${t.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return `${t.portVariable}: ${at} is already in use (another idemq process, or another program): stop that process, or set ${t.portVariable} to a free port`;
    case 'EACCES':
      return `${t.portVariable}: listening on ${at} is not permitted to this user (ports below 1024 need privileges): set ${t.portVariable} to 1024 or above`;
    case 'EADDRNOTAVAIL':
      return `${t.hostVariable}: ${t.host} is not an address of this machine: set ${t.hostVariable} to one of its addresses, 127.0.0.1, or 0.0.0.0 for all`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${t.hostVariable}: the name ${t.host} does not resolve: set ${t.hostVariable} to an address of this machine`;
    default:
      return undefined;
  }
}
