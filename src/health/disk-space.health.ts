import { Injectable, Logger } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { statfs } from 'node:fs/promises';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';

/** Ready only while STEP_DATA_DIR's file system has more than STEP_MIN_FREE_BYTES available. */
@Injectable()
export class DiskSpaceHealthIndicator {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectStepConfig() private readonly config: StepConfig,
  ) {}

  /**
   * Checks the free space of the data directory's file system under `key`. Only `detailed`
   * (the admin view) names the directory and the OS error: /health answers anyone who can reach
   * the HTTP port, and neither is theirs to know.
   */
  async isFree(key: string, detailed = false) {
    const indicator = this.indicators.check(key);
    const { dataDir, minFreeBytes } = this.config.storage;
    const where: { path?: string } = detailed ? { path: dataDir } : {};
    try {
      const { bavail, bsize } = await statfs(dataDir);
      // bavail, not bfree: blocks reserved for root are not ours to fill.
      const freeBytes = bavail * bsize;
      const details: Record<string, unknown> = { ...where, freeBytes, minFreeBytes };
      return freeBytes > minFreeBytes ? indicator.up(details) : indicator.down(details);
    } catch (err) {
      const message = (err as Error).message;
      if (!detailed) this.logger.warn(`disk check failed: ${message}`);
      return indicator.down(detailed ? { ...where, message } : { message: 'The data directory cannot be read.' });
    }
  }
}
