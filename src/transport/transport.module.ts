import { Module } from '@nestjs/common';
import { StepFallbackController } from './step-fallback.controller.js';
import { StepListenerStatus } from './step-listener-status.service.js';

/** Protocol-level handlers of the STEP transport (no business logic) and the listener's status. */
@Module({ controllers: [StepFallbackController], providers: [StepListenerStatus], exports: [StepListenerStatus] })
export class TransportModule {}
