import { readFileSync } from 'node:fs';
import { type ForwardRoute, findRouteCollisions, type ParsedRoutes, parseForwardRoutes } from './forward-route.ts';

/**
 * Reads and validates a forward routes file (FORWARD_ROUTES_FILE) at start. Never throws: a file
 * that cannot be read or parsed is one problem, and every invalid field of every route is listed.
 */
export function readForwardRoutesFile(path: string): ParsedRoutes {
  const where = `FORWARD_ROUTES_FILE (${path})`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : String((err as Error).message);
    return {
      routes: [],
      valid: [],
      problems: [
        `${where}: cannot be read (${why}); set FORWARD_ROUTES_FILE to the path of a JSON file of routes, or leave it empty for none`,
      ],
    };
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    return { routes: [], valid: [], problems: [`${where}: is not valid JSON (${(err as Error).message})`] };
  }
  return parseForwardRoutes(document, where);
}

/**
 * The routes of the forward routes file at `path` ('' for none), frozen, with their defaults, for
 * a process that runs `taken` otherwise (the app's operations). Never throws: `problems` lists every
 * problem of the file (readForwardRoutesFile), and every route valid on its own that reuses the name
 * or the route of one of `taken`, so one start lists them all; `routes` is empty unless there are none.
 */
export function loadForwardRoutes(
  path: string,
  taken: readonly { name: string; route: string }[],
): { routes: readonly ForwardRoute[]; problems: string[] } {
  if (!path) return { routes: [], problems: [] };
  const file = readForwardRoutesFile(path);
  const problems = [...file.problems, ...findRouteCollisions(file.valid, taken).map((p) => `FORWARD_ROUTES_FILE: ${p}`)];
  return { routes: problems.length > 0 ? [] : Object.freeze(file.routes.map((r) => Object.freeze(r))), problems };
}
