import { Injectable } from '@nestjs/common';

/** The time source of stepd, injectable so rules that depend on time can be tested. */
@Injectable()
export class Clock {
  /** Milliseconds since the epoch. */
  now(): number {
    return Date.now();
  }
}
