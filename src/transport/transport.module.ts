import { Module } from '@nestjs/common';
import { StepFallbackController } from './step-fallback.controller.js';

/** Protocol-level handlers of the STEP transport (no business logic). */
@Module({ controllers: [StepFallbackController] })
export class TransportModule {}
