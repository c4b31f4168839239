import { Global, Module } from '@nestjs/common';
import { Clock } from './clock.js';

/** Cross-cutting side-effect providers (the clock) shared by every feature module. */
@Global()
@Module({ providers: [Clock], exports: [Clock] })
export class CommonModule {}
