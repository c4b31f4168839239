import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/step.config.js';
import { ExitCode } from './common/exit-code.js';
import { serve } from './serve.js';

// `node dist/src/main.js` (npm start, the Docker image): the server with the environment's config.
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      // A configuration the server cannot run with is a usage error, as for `stepd serve`.
      process.exit(ExitCode.USAGE);
    }
    throw err;
  }
  await serve(config);
}

main().catch((err: unknown) => {
  console.error('stepd failed to start:', (err as Error)?.message ?? err);
  process.exit(ExitCode.FAILED);
});
