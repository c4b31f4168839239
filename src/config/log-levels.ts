import type { LogLevel } from '@nestjs/common';
import { LOG_LEVELS } from './environment.variables.js';
import type { StepConfig } from './step.config.js';

/** Levels at or above LOG_LEVEL, in Nest's vocabulary. */
export function logLevels(level: StepConfig['log']['level']): LogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1) as LogLevel[];
}
