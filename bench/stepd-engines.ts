import { CliProcessEngine, type StepdClientEngine } from './stepd-engine.js';

/**
 * The stepd client the bench drives: the CLI's transfer engine in-process once it exists,
 * otherwise the built `step` CLI as a child process; null when neither is built.
 */
export async function findStepdEngine(): Promise<StepdClientEngine | null> {
  return CliProcessEngine.find();
}
