import { Controller } from '@nestjs/common';
import { Ctx } from '@nestjs/microservices';
import type { StepContext } from './step.context.js';
import { StepError } from '../protocol/index.js';
import { StepFallbackPattern } from './step-pattern.decorator.js';

/**
 * Answers valid operations sent with a type that does not support them (AUTH SAVE, DATA
 * UPLOAD, ...). It sits behind the auth guard, so the token is checked first, as
 * docs/protocol.md §2 orders.
 */
@Controller()
export class StepFallbackController {
  /** 408 for an operation this type does not have. */
  @StepFallbackPattern()
  unsupported(@Ctx() context: StepContext): never {
    const { operation, type } = context.getRequest();
    throw StepError.notAllowedForType(operation, type);
  }
}
