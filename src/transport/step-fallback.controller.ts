import { Controller } from '@nestjs/common';
import { Ctx } from '@nestjs/microservices';
import type { StepContext } from './step.context.js';
import { StepError, StepStatus } from '../protocol/index.js';
import { StepFallbackPattern } from './step-pattern.decorator.js';

/**
 * Answers valid operations sent with a type that does not support them (AUTH SAVE, DATA
 * UPLOAD, ...). It sits behind the auth guard, so the token is checked first as A3.6 requires.
 */
@Controller()
export class StepFallbackController {
  /** 408 for an operation this type does not have. */
  @StepFallbackPattern()
  unsupported(@Ctx() context: StepContext): never {
    const { operation, type } = context.getRequest();
    throw new StepError(StepStatus.OPERATION_NOT_ALLOWED, `Operation ${String(operation)} is not allowed for type ${String(type)}`);
  }
}
