import { CliError } from './cli-error.js';

/**
 * Loads a backend package by name. The default is a dynamic `import()`; tests pass their own
 * to simulate a package that is not installed.
 */
export type ModuleLoader = (specifier: string) => Promise<Record<string, unknown>>;

export const importModule: ModuleLoader = (specifier) => import(specifier);

/** The package a scheme needs, loaded, or one clear line saying what to add. */
export async function loadBackendPackage(
  load: ModuleLoader,
  packageName: string,
  scheme: string,
): Promise<Record<string, unknown>> {
  try {
    return await load(packageName);
  } catch (error) {
    if (isMissing(error, packageName))
      throw new CliError(`the ${scheme}: backend needs the package ${packageName}, which is not installed`, {
        hint: `add it next to @roster/cli: npm install ${packageName}  (or pnpm add / yarn add)`,
        cause: error,
      });
    throw new CliError(`could not load ${packageName}: ${(error as Error)?.message ?? String(error)}`, {
      hint: `reinstall ${packageName}, or run with --verbose for the full error`,
      cause: error,
    });
  }
}

function isMissing(error: unknown, packageName: string): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = String((error as { message?: unknown } | undefined)?.message ?? '');
  // Only the package itself missing counts: a missing dependency *of* the package is another problem.
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    (message.includes(`'${packageName}'`) || message.includes(`"${packageName}"`))
  );
}
