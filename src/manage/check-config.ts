import { insecureLegacyRefusal } from '../auth/exposure-warning.js';
import type { StepConfig } from '../config/step.config.js';

/** Shown instead of a secret's value. */
const MASK = '********';

/** What `stepd check-config` reports. */
export interface ConfigCheck {
  ok: boolean;
  /** The effective configuration as JSON, secrets masked. */
  effective: string;
  /** `configuration OK`, or why the server would refuse to start. */
  verdict: string;
}

/** `stepd check-config`: the effective configuration with secrets masked, and whether `serve` would accept it. */
export function checkConfig(config: StepConfig): ConfigCheck {
  const masked: StepConfig = {
    ...config,
    auth: { ...config.auth, tokenSecret: MASK },
    admin: { token: config.admin.token === undefined ? undefined : MASK },
    database: { url: maskUrlPassword(config.database.url) },
  };
  const refusal = insecureLegacyRefusal(config);
  return { ok: refusal === null, effective: JSON.stringify(masked, null, 2), verdict: refusal ?? 'configuration OK' };
}

/** The database URL with its password (if any) masked. */
function maskUrlPassword(url: string | null): string | null {
  if (url === null) return null;
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = MASK;
    return parsed.toString();
  } catch {
    return MASK;
  }
}
