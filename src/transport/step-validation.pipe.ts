import { ValidationError, ValidationPipe, type ArgumentMetadata, type ValidationPipeOptions } from '@nestjs/common';
import type { ValidatorOptions } from 'class-validator';
import { StepError } from '../protocol/index.js';
import { DtoFastCheck } from './dto-fast-check.js';
import { FlatDtoTransform } from './flat-dto-transform.js';

function firstMessage(errors: ValidationError[]): string {
  for (const error of errors) {
    const constraint = error.constraints && Object.values(error.constraints)[0];
    if (constraint) return constraint;
    if (error.children?.length) return firstMessage(error.children);
  }
  return 'The request is not valid.';
}

/** Metatypes ValidationPipe does not validate (it hands their values on as they are). */
const UNVALIDATED_TYPES = new Set<unknown>([String, Boolean, Number, Array, Object, Buffer, Date]);

/**
 * Nest's ValidationPipe, with class-validator's rules of each DTO read once instead of on every
 * request (DtoFastCheck): a DTO that passes skips class-validator; one that does not goes
 * through it, so a refusal carries class-validator's own first message. A flat request (the
 * usual STEP request) is also turned into its DTO without class-transformer's per-call work
 * (FlatDtoTransform); anything else takes ValidationPipe's own path.
 */
export class StepValidationPipe extends ValidationPipe {
  private readonly fastCheck = new DtoFastCheck();
  private readonly flat: FlatDtoTransform;

  constructor(options: ValidationPipeOptions) {
    super(options);
    this.flat = new FlatDtoTransform(this.isTransformEnabled && !this.expectedType ? this.transformOptions : null);
  }

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const dto = this.flatDto(value, metadata);
    return dto ? Promise.resolve(dto) : super.transform(value, metadata);
  }

  protected override validate(object: object, validatorOptions?: ValidatorOptions): Promise<ValidationError[]> | ValidationError[] {
    if (validatorOptions && this.fastCheck.passes(object, validatorOptions)) return [];
    return super.validate(object, validatorOptions);
  }

  /**
   * The DTO ValidationPipe would hand on, when the value is flat and passes every rule: what
   * ValidationPipe does for it besides plainToInstance and validate (stripping prototype keys,
   * closing array gaps, looking for nested binary values) finds nothing to do in a flat object
   * without such keys. Null otherwise, and nothing has been changed.
   */
  private flatDto(value: unknown, metadata: ArgumentMetadata): object | null {
    const metatype = metadata.metatype as (new () => object) | undefined;
    if (typeof metatype !== 'function' || metadata.type === 'custom' || UNVALIDATED_TYPES.has(metatype)) return null;
    const dto = this.flat.toInstance(value, metatype);
    return dto && this.fastCheck.passes(dto, this.validatorOptions) ? dto : null;
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
