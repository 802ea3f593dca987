import { readFileSync } from 'node:fs';
import { type ParsedRoutes, parseForwardRoutes } from './forward-route.ts';

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
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String((err as Error).message);
    return { routes: [], valid: [], problems: [`${where}: cannot be read (${why}); set FORWARD_ROUTES_FILE to the path of a JSON file of routes, or leave it empty for none`] };
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    return { routes: [], valid: [], problems: [`${where}: is not valid JSON (${(err as Error).message})`] };
  }
  return parseForwardRoutes(document, where);
}
