import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { IsBoolean, IsDefined, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StepError } from '../protocol/index.js';
import { DtoFastCheck } from './dto-fast-check.js';
import { stepValidationPipe } from './step-validation.pipe.js';

class PagingDto {
  @IsOptional()
  @Min(1, { message: 'limit too small' })
  @Max(10, { message: 'limit too large' })
  @IsInt({ message: 'limit not an integer' })
  limit?: number;
}

class BlockDto extends PagingDto {
  @IsOptional()
  @IsString({ message: 'key not a string' })
  key?: string;

  @IsOptional()
  @IsInt({ message: 'block_index not an integer' })
  block_index?: number;

  @IsOptional()
  @Matches(/^[0-9a-f]{4}$/, { message: 'md5 not hex' })
  md5?: string;

  @IsOptional()
  @IsBoolean({ message: 'incomplete not a boolean' })
  incomplete?: boolean;
}

class RequiredDto {
  @IsDefined({ message: 'name missing' })
  @IsString({ message: 'name not a string' })
  name?: string;
}

class NestedDto {
  @ValidateNested()
  inner?: PagingDto;
}

const payload = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'body', metatype });

/** What the pipe answers: the DTO it hands on, or the message of the StepError it throws. */
async function outcome(pipe: ValidationPipe, value: unknown, metatype: ArgumentMetadata['metatype']): Promise<unknown> {
  try {
    const dto = (await pipe.transform(value, payload(metatype))) as object;
    return { instance: dto.constructor.name, fields: { ...dto } };
  } catch (err) {
    expect(err).toBeInstanceOf(StepError);
    return { refused: (err as StepError).message };
  }
}

const valid: Array<[unknown, ArgumentMetadata['metatype']]> = [
  [{ key: 'a', block_index: 3, md5: 'beef', incomplete: true, limit: 10, extra: { any: ['thing'] } }, BlockDto],
  [{}, BlockDto],
  [{ key: null, limit: undefined }, BlockDto],
  [{ name: 'x' }, RequiredDto],
];
const invalid: Array<[unknown, ArgumentMetadata['metatype']]> = [
  [{ key: 5 }, BlockDto],
  [{ block_index: 1.5 }, BlockDto],
  [{ block_index: '1' }, BlockDto],
  [{ md5: 'BEEF' }, BlockDto],
  [{ incomplete: 'yes' }, BlockDto],
  [{ limit: 0 }, BlockDto],
  [{ limit: 11 }, BlockDto],
  [{ limit: 'many' }, BlockDto],
  [{ key: 'a', limit: 2.5, block_index: 'x' }, BlockDto],
  [{}, RequiredDto],
  [{ name: 7 }, RequiredDto],
];

describe('stepValidationPipe', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answers every payload exactly as class-validator does', async () => {
    const reference = new ValidationPipe({ ...stepValidationPipe['validatorOptions'], ...settingsOf(stepValidationPipe) });
    for (const [value, metatype] of [...valid, ...invalid]) {
      expect(await outcome(stepValidationPipe, structuredClone(value), metatype)).toEqual(
        await outcome(reference, structuredClone(value), metatype),
      );
    }
  });

  it('passes a valid DTO without running class-validator, and refuses an invalid one with its first message', async () => {
    const classValidator = vi.spyOn(ValidationPipe.prototype as unknown as { validate: () => unknown }, 'validate');
    for (const [value, metatype] of valid) await stepValidationPipe.transform(value, payload(metatype));
    expect(classValidator).not.toHaveBeenCalled();
    expect(await outcome(stepValidationPipe, { limit: 'many' }, BlockDto)).toEqual({ refused: 'limit not an integer' });
    expect(classValidator).toHaveBeenCalledOnce();
  });
});

describe('DtoFastCheck', () => {
  const options = { forbidUnknownValues: false, stopAtFirstError: true };

  it('says yes only to what passes every rule', () => {
    const check = new DtoFastCheck();
    for (const [value, metatype] of valid) expect(check.passes(Object.assign(new metatype!(), value), options)).toBe(true);
    for (const [value, metatype] of invalid) expect(check.passes(Object.assign(new metatype!(), value), options)).toBe(false);
  });

  it('leaves classes with rules it does not replay, unknown classes and other options to class-validator', () => {
    const check = new DtoFastCheck();
    expect(check.passes(Object.assign(new NestedDto(), { inner: { limit: 2 } }), options)).toBe(false);
    expect(check.passes(new (class Bare {})(), options)).toBe(false);
    expect(check.passes(new BlockDto(), { ...options, groups: ['admin'] })).toBe(false);
    expect(check.passes(new BlockDto(), { ...options, whitelist: true })).toBe(false);
  });
});

/** The pipe's own settings besides the validator options (transform, exception factory). */
function settingsOf(pipe: ValidationPipe): object {
  return { transform: pipe['isTransformEnabled'], exceptionFactory: pipe['exceptionFactory'] };
}
