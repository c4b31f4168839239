import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createStepApp } from './app.factory.js';
import { legacyExposureWarning } from './auth/exposure-warning.js';
import { ConfigError, loadConfig } from './config/step.config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const stepd = await createStepApp(config);
  const logger = new Logger('stepd');
  const { stepAddress, httpAddress } = stepd;
  const scheme = config.step.tlsCertPath ? 'STEP over TLS' : 'STEP';
  logger.log(`${scheme} listening on ${stepAddress.address}:${stepAddress.port}`);
  logger.log(`HTTP listening on http://${httpAddress.address}:${httpAddress.port}`);
  logger.log(`data directory ${config.storage.dataDir}`);
  logger.log(`auth mode ${config.auth.mode}`);
  const exposure = legacyExposureWarning(config, stepAddress.address);
  if (exposure) logger.warn(exposure);
  const shutdown = (signal: string) => {
    logger.log(`${signal}: draining requests in flight, then stopping`);
    stepd.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', (err as Error)?.stack);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('stepd failed to start:', (err as Error)?.message ?? err);
  process.exit(1);
});
