import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createStepApp } from './app.factory.js';
import { insecureLegacyRefusal, legacyExposureWarning } from './auth/exposure-warning.js';
import { ExitCode } from './common/exit-code.js';
import { packageVersion } from './common/package-version.js';
import { REFERENCE_TOKEN_SECRET } from './config/environment.variables.js';
import type { StepConfig } from './config/step.config.js';

/**
 * Runs stepd until SIGTERM/SIGINT (`npm start`, `stepd serve`): refuses an insecure legacy setup,
 * boots the app, logs where it listens, and drains requests in flight on the way out.
 */
export async function serve(config: StepConfig): Promise<void> {
  const logger = new Logger('stepd');
  const refusal = insecureLegacyRefusal(config);
  if (refusal) {
    logger.error(refusal);
    process.exit(ExitCode.USAGE);
  }
  const stepd = await createStepApp(config);
  // Handlers before the 'listening' lines: whoever waits for those may signal at once, and a
  // signal without a handler would kill the process instead of draining.
  const shutdown = (signal: string) => {
    logger.log(`${signal}: draining requests in flight, then stopping`);
    stepd.close().then(
      () => process.exit(ExitCode.OK),
      (err: unknown) => {
        logger.error('shutdown failed', (err as Error)?.stack);
        process.exit(ExitCode.FAILED);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  const { stepAddress, httpAddress } = stepd;
  const scheme = config.step.tlsCertPath ? 'STEP over TLS' : 'STEP';
  logger.log(`stepd ${packageVersion()}: ${scheme} listening on ${stepAddress.address}:${stepAddress.port}`);
  logger.log(`HTTP listening on http://${httpAddress.address}:${httpAddress.port}`);
  logger.log(`data directory ${config.storage.dataDir}`);
  logger.log(`auth mode ${config.auth.mode}`);
  if (config.auth.allowInsecureLegacy && config.auth.mode === 'legacy' && config.auth.tokenSecret === REFERENCE_TOKEN_SECRET) {
    logger.warn('STEP_ALLOW_INSECURE_LEGACY=1: legacy auth with the reference STEP_TOKEN_SECRET is served as asked');
  }
  const exposure = legacyExposureWarning(config, stepAddress.address);
  if (exposure) logger.warn(exposure);
}
