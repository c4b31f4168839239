import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { statfs } from 'node:fs/promises';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';

/** Ready only while STEP_DATA_DIR's file system has more than STEP_MIN_FREE_BYTES available. */
@Injectable()
export class DiskSpaceHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectStepConfig() private readonly config: StepConfig,
  ) {}

  /** Checks the free space of the data directory's file system under `key`. */
  async isFree(key: string) {
    const indicator = this.indicators.check(key);
    const { dataDir, minFreeBytes } = this.config.storage;
    try {
      const { bavail, bsize } = await statfs(dataDir);
      // bavail, not bfree: blocks reserved for root are not ours to fill.
      const freeBytes = bavail * bsize;
      const details = { path: dataDir, freeBytes, minFreeBytes };
      return freeBytes > minFreeBytes ? indicator.up(details) : indicator.down(details);
    } catch (err) {
      return indicator.down({ path: dataDir, message: (err as Error).message });
    }
  }
}
