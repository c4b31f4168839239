import { CliProcessEngine, type StepdClientEngine } from './stepd-engine.js';
import { InProcessEngine } from './stepd-engine.in-process.js';

/**
 * The stepd client the bench drives: the CLI's transfer engines in-process when they are built,
 * otherwise the built `step` CLI as a child process; null when neither is there.
 */
export async function findStepdEngine(): Promise<StepdClientEngine | null> {
  return (await InProcessEngine.load()) ?? (await CliProcessEngine.find());
}
