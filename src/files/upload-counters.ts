import { Injectable } from '@nestjs/common';

/** Upload counts since start, as the metrics report them. */
export interface UploadStats {
  started: number;
  completed: number;
  failed: number;
}

/** The upload counters the services bump and GET /metrics reads; nothing else. */
@Injectable()
export class UploadCounters implements UploadStats {
  started = 0;
  completed = 0;
  failed = 0;
}
