import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/** Where an operator command takes its configuration from, besides the process environment. */
export interface OperatorSources {
  /** A systemd-style `KEY=value` file (the unit's EnvironmentFile); its values win over the environment. */
  envFile?: string;
  /** `--data-dir`: wins over both. */
  dataDir?: string;
}

/** The environment file could not be read. */
export class EnvFileError extends Error {
  constructor(path: string, cause: Error) {
    super(`cannot read --env-file ${path}: ${cause.message}`);
    this.name = 'EnvFileError';
  }
}

/**
 * The environment an operator command (`stepd users`, `stepd check-config`) validates: the
 * process environment, then the service's env file, then `--data-dir`, so that a command run
 * from a shell sees the same settings as the service it administers.
 */
export function operatorEnvironment(sources: OperatorSources, env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  let fromFile: Record<string, string> = {};
  if (sources.envFile !== undefined) {
    try {
      fromFile = parseEnv(readFileSync(sources.envFile, 'utf8')) as Record<string, string>;
    } catch (err) {
      throw new EnvFileError(sources.envFile, err as Error);
    }
  }
  return { ...env, ...fromFile, ...(sources.dataDir === undefined ? {} : { STEP_DATA_DIR: sources.dataDir }) };
}
