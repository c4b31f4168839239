import { isIP } from 'node:net';
import { REFERENCE_TOKEN_SECRET } from '../config/environment.variables.js';
import type { StepConfig } from '../config/step.config.js';

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * The startup warning for legacy auth on a reachable address, or null. In legacy mode the
 * password is the MD5 of the user name, so anyone who can connect can log in as anyone.
 */
export function legacyExposureWarning(config: StepConfig, listenHost: string): string | null {
  if (config.auth.mode !== 'legacy' || isLoopbackHost(listenHost)) return null;
  return (
    `STEP_AUTH_MODE=legacy on ${listenHost}: the legacy password is the MD5 of the user name, so anyone ` +
    'who can reach this port can log in as any user. Use STEP_AUTH_MODE=accounts (and TLS) on shared networks.'
  );
}

/**
 * Why stepd must not start, or null: legacy auth with the reference token secret on an address
 * other machines can reach, unless STEP_ALLOW_INSECURE_LEGACY=1 says the operator means it.
 * Anyone can mint that secret's tokens and anyone can compute the legacy passwords.
 */
export function insecureLegacyRefusal(config: StepConfig): string | null {
  if (config.auth.mode !== 'legacy' || config.auth.tokenSecret !== REFERENCE_TOKEN_SECRET || isLoopbackHost(config.step.host)) return null;
  if (config.auth.allowInsecureLegacy) return null;
  return (
    `refusing to serve legacy auth with the reference STEP_TOKEN_SECRET on ${config.step.host}: anyone who can reach it ` +
    'can log in as anyone. Set STEP_AUTH_MODE=accounts (see stepd users), or STEP_HOST=127.0.0.1, or set ' +
    'STEP_ALLOW_INSECURE_LEGACY=1 to accept this.'
  );
}
