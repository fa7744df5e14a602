import { spawn } from 'node:child_process';

/**
 * Opens `url` in the system browser, best effort: `open` on macOS, `start` on Windows, `xdg-open`
 * elsewhere. `BROWSER=none` (as create-react-app and others honour it) opens nothing. Resolves
 * with why it could not, or undefined; never throws.
 */
export function openBrowser(
  url: string,
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  if (env.BROWSER === 'none') return Promise.resolve('BROWSER=none');
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]];
  return new Promise((resolve) => {
    try {
      const child = spawn(command, args, { stdio: 'ignore', detached: true });
      child.once('error', (error) => resolve(`${command}: ${error.message}`));
      child.once('spawn', () => {
        child.unref();
        resolve(undefined);
      });
    } catch (error) {
      resolve(`${command}: ${(error as Error).message}`);
    }
  });
}
