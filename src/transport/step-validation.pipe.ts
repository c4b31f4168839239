import { ValidationError, ValidationPipe } from '@nestjs/common';
import { StepError } from '../protocol/index.js';

function firstMessage(errors: ValidationError[]): string {
  for (const error of errors) {
    const constraint = error.constraints && Object.values(error.constraints)[0];
    if (constraint) return constraint;
    if (error.children?.length) return firstMessage(error.children);
  }
  return 'The request is not valid.';
}

/**
 * Validates the JSON section of STEP requests against their DTOs. Types only: the presence
 * checks stay in the services, because docs/protocol.md §2 fixes their order and status codes. A wrong
 * type is answered with 400 and the first violated rule (the old server went silent).
 */
export const stepValidationPipe = new ValidationPipe({
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  whitelist: false,
  forbidUnknownValues: false,
  stopAtFirstError: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => StepError.badField(firstMessage(errors)),
});
