import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { StepClientOptions } from '../client/step-client.js';
import { UsageError } from './cli-errors.js';
import { loadProfile } from './cli-profile.js';
import { DEFAULT_SERVER, DEFAULT_TIMEOUT_SECONDS, parseServer } from './option-parsers.js';
import type { StepGlobalOptions } from './root.command.js';

/** Settings every command runs with, after options and environment are merged and checked. */
export interface CliSettings {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  /** Read the password from standard input (`--password-stdin`). */
  passwordStdin: boolean;
  json: boolean;
  /** Nothing on stderr but errors (no progress, no summaries of stdout downloads). */
  quiet: boolean;
  timeoutMs: number;
  tls: { ca?: Buffer } | undefined;
  /** Where `step login` keeps tokens (`$XDG_STATE_HOME`, default `~/.local/state`). */
  stateDir: string;
  /** Transfer defaults from the profile (flags override them). */
  connections?: number;
  blockSize?: number;
}

/**
 * Merges the global options (already parsed by the root command's `@Option` methods) with the
 * environment and a profile. The only place the CLI reads its environment: STEP_SERVER, STEP_USER, STEP_PASSWORD, STEP_TLS,
 * STEP_CA and STEP_PROFILE fill in options that were not given on the command line, and a profile
 * of `$XDG_CONFIG_HOME/step/config.json` fills in what neither gave (flags > environment > profile).
 */
export function resolveSettings(options: StepGlobalOptions, env: NodeJS.ProcessEnv = process.env): CliSettings {
  const home = env.HOME ?? homedir();
  const profileName = options.profile ?? env.STEP_PROFILE;
  const profile =
    profileName === undefined ? {} : loadProfile(join(env.XDG_CONFIG_HOME || join(home, '.config'), 'step', 'config.json'), profileName);
  const { host, port } = options.server ?? parseServer(env.STEP_SERVER ?? profile.server ?? DEFAULT_SERVER);
  const timeout = options.timeout ?? DEFAULT_TIMEOUT_SECONDS;
  const ca = options.ca ?? env.STEP_CA ?? profile.ca;
  const tls = options.tls === true || ca !== undefined || env.STEP_TLS === '1' || env.STEP_TLS === 'true' || profile.tls === true;
  if (options.passwordStdin && options.password !== undefined) throw new UsageError('--password and --password-stdin exclude each other');
  return {
    host,
    port,
    username: options.user ?? env.STEP_USER ?? profile.user,
    password: options.passwordStdin ? undefined : (options.password ?? env.STEP_PASSWORD),
    passwordStdin: options.passwordStdin === true,
    json: options.json === true,
    quiet: options.quiet === true,
    timeoutMs: Math.round(timeout * 1000),
    tls: tls ? { ca: ca === undefined ? undefined : readCa(ca) } : undefined,
    stateDir: env.XDG_STATE_HOME || join(home, '.local', 'state'),
    connections: profile.connections,
    blockSize: profile.blockSize,
  };
}

/** Client options for commands that talk to the server (they need a user name). */
export function clientOptions(settings: CliSettings): StepClientOptions {
  if (!settings.username) throw new UsageError('no user: pass --user NAME or set STEP_USER');
  return {
    host: settings.host,
    port: settings.port,
    username: settings.username,
    password: settings.password,
    timeoutMs: settings.timeoutMs,
    // Verification stays on: --ca adds a trust anchor, it never switches checking off.
    tls: settings.tls ? { ca: settings.tls.ca, rejectUnauthorized: true } : undefined,
  };
}

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read --ca ${path}: ${(err as Error).message}`);
  }
}
