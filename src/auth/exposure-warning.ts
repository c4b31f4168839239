import { isIP } from 'node:net';
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
