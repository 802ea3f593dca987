import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IdemqApp } from '../src/index.ts';
import { CliError } from './command.ts';

/** The app of a process that runs none: the core's endpoints and the forward routes alone. */
export const NO_APP: IdemqApp = { operations: [] };

const isApp = (value: unknown): value is IdemqApp =>
  typeof value === 'object' && value !== null && Array.isArray((value as IdemqApp).operations);

/**
 * Loads the app of `--app <module>`: a file resolved against the current directory, whose default
 * export, or export named `app`, or else its one export shaped as an app, is an IdemqApp
 * (`{ operations, migrations?, routes? }`). No module: NO_APP. Throws a CliError that says what is
 * wrong and what the module must export.
 */
export async function loadApp(module: string | undefined): Promise<IdemqApp> {
  if (module === undefined) return NO_APP;
  const path = resolve(module);
  if (!existsSync(path))
    throw new CliError(`--app ${module}: no such file (${path}). Give the path of your app's module, relative to the current directory.`);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`--app ${module}: the module failed to load: ${(err as Error).message}`, { cause: err });
  }
  const candidates = [exports.default, exports.app].filter(isApp);
  if (candidates.length > 0) return candidates[0]!;
  const shaped = Object.values(exports).filter(isApp);
  if (shaped.length === 1) return shaped[0]!;
  throw new CliError(
    `--app ${module}: ${shaped.length > 1 ? 'exports several apps' : 'exports no app'}. ` +
      'Export your IdemqApp ({ operations, migrations, routes }) as the default export or as `app`.',
  );
}
