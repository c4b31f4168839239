import { ValidationError, ValidationPipe } from '@nestjs/common';
import type { ValidatorOptions } from 'class-validator';
import { StepError } from '../protocol/index.js';
import { DtoFastCheck } from './dto-fast-check.js';

function firstMessage(errors: ValidationError[]): string {
  for (const error of errors) {
    const constraint = error.constraints && Object.values(error.constraints)[0];
    if (constraint) return constraint;
    if (error.children?.length) return firstMessage(error.children);
  }
  return 'The request is not valid.';
}

/**
 * Nest's ValidationPipe, with class-validator's rules of each DTO read once instead of on every
 * request (DtoFastCheck): a DTO that passes skips class-validator; one that does not goes
 * through it, so a refusal carries class-validator's own first message.
 */
export class StepValidationPipe extends ValidationPipe {
  private readonly fastCheck = new DtoFastCheck();

  protected override validate(object: object, validatorOptions?: ValidatorOptions): Promise<ValidationError[]> | ValidationError[] {
    if (validatorOptions && this.fastCheck.passes(object, validatorOptions)) return [];
    return super.validate(object, validatorOptions);
  }
}

/**
 * Validates the JSON section of STEP requests against their DTOs. Types only: the presence
 * checks stay in the services, because docs/protocol.md §2 fixes their order and status codes. A wrong
 * type is answered with 400 and the first violated rule (the old server went silent).
 */
export const stepValidationPipe = new StepValidationPipe({
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  whitelist: false,
  forbidUnknownValues: false,
  stopAtFirstError: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => StepError.badField(firstMessage(errors)),
});
