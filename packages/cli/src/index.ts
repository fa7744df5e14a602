// The public surface of @roster/cli: run the `roster` command in-process, and parse backend URLs.
export { type BackendKind, type BackendTarget, parseBackendUrl, redactUrl } from './backend-url.js';
export { CliError, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, UsageError } from './cli-error.js';
export type { ModuleLoader } from './module-loader.js';
export { type RunCliOptions, runCli, VERSION } from './run-cli.js';
export type { OutputStream } from './terminal.js';
