import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { Exclude, Expose, plainToInstance, Transform, Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, MaxLength } from 'class-validator';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StepError } from '../protocol/index.js';
import { FlatDtoTransform } from './flat-dto-transform.js';
import { stepValidationPipe } from './step-validation.pipe.js';

class KeyDto {
  @IsOptional()
  @MaxLength(8, { message: 'key too long' })
  @IsString({ message: 'key not a string' })
  key?: string;

  @IsOptional()
  @IsInt({ message: 'block_index not an integer' })
  block_index?: number;
}

/** Has what class-transformer treats specially even without decorators: defaults, a method, accessors. */
class ShapedDto extends KeyDto {
  note = 'default';
  private hidden = 0;

  describe(): string {
    return `${this.key}:${this.hidden}`;
  }

  get readOnly(): number {
    return this.hidden;
  }

  get writable(): number {
    return this.hidden;
  }

  set writable(value: number) {
    this.hidden = value;
  }
}

class TypedDto extends KeyDto {
  @Type(() => Number)
  size?: number;
}

class TransformedDto extends KeyDto {
  @Transform(({ value }) => String(value).toUpperCase())
  name?: string;
}

class ExposedDto extends KeyDto {
  @Expose({ name: 'renamed' })
  original?: string;
}

class ExcludedDto extends KeyDto {
  @Exclude()
  secret?: string;
}

const KEYS = [
  'key',
  'block_index',
  'token',
  'note',
  'describe',
  'readOnly',
  'writable',
  'size',
  'name',
  'renamed',
  'secret',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__proto__',
  'constructor',
  'prototype',
  'x',
];
const VALUES: unknown[] = ['a', 'a-much-longer-key', '', 0, 7, 1.5, -3, true, false, null, { nested: 1 }, ['list'], []];

/** A deterministic pseudo-random generator (mulberry32), so a failure names a payload that can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Payloads as the frame decoder produces them: JSON text parsed, so `__proto__` is an own key. */
function payloads(count: number, seed: number): string[] {
  const next = random(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  return Array.from({ length: count }, () => {
    const fields = Array.from({ length: Math.floor(next() * 5) }, () => `${JSON.stringify(pick(KEYS))}:${JSON.stringify(pick(VALUES))}`);
    return `{${fields.join(',')}}`;
  });
}

/** Everything observable of an outcome: the DTO's class and own properties, or the refusal; and the value afterwards. */
async function outcome(pipe: ValidationPipe, text: string, metatype: ArgumentMetadata['metatype']): Promise<unknown> {
  const value = JSON.parse(text) as object;
  const seen = (dto: object) => ({
    instance: dto.constructor.name,
    own: Object.getOwnPropertyNames(dto).map((k) => [k, (dto as never)[k]]),
  });
  try {
    const dto = (await pipe.transform(value, { type: 'body', metatype })) as object;
    return { dto: seen(dto), value: Object.getOwnPropertyNames(value) };
  } catch (err) {
    expect(err).toBeInstanceOf(StepError);
    return { refused: (err as StepError).message, value: Object.getOwnPropertyNames(value) };
  }
}

describe('FlatDtoTransform', () => {
  afterEach(() => vi.restoreAllMocks());

  it('builds exactly what plainToInstance builds, or declines', () => {
    const flat = new FlatDtoTransform({ enableImplicitConversion: false });
    let built = 0;
    for (const metatype of [KeyDto, ShapedDto]) {
      for (const text of payloads(400, 17)) {
        const instance = flat.toInstance(JSON.parse(text), metatype);
        if (!instance) continue;
        built++;
        const reference = plainToInstance(metatype, JSON.parse(text) as object, { enableImplicitConversion: false });
        expect(instance, text).toBeInstanceOf(metatype);
        expect(Object.getOwnPropertyNames(instance), text).toEqual(Object.getOwnPropertyNames(reference));
        expect({ ...instance }, text).toEqual({ ...reference });
      }
    }
    expect(built).toBeGreaterThan(100);
  });

  it('declines nested values, stripped keys, decorated classes and properties, and other options', () => {
    const flat = new FlatDtoTransform({ enableImplicitConversion: false });
    expect(flat.toInstance({ key: 'a', x: { y: 1 } }, KeyDto)).toBeNull();
    expect(flat.toInstance({ key: ['a'] }, KeyDto)).toBeNull();
    expect(flat.toInstance(JSON.parse('{"__proto__":1}'), KeyDto)).toBeNull();
    expect(flat.toInstance({ constructor: 1 }, KeyDto)).toBeNull();
    expect(flat.toInstance({ prototype: 1 }, KeyDto)).toBeNull();
    expect(flat.toInstance({ size: '5' }, TypedDto)).toBeNull();
    expect(flat.toInstance({ key: 'a' }, TypedDto)).toBeInstanceOf(TypedDto);
    expect(flat.toInstance({ name: 'x' }, TransformedDto)).toBeNull();
    expect(flat.toInstance({ key: 'a' }, ExposedDto)).toBeNull();
    expect(flat.toInstance({ key: 'a' }, ExcludedDto)).toBeNull();
    expect(flat.toInstance(null, KeyDto)).toBeNull();
    expect(flat.toInstance(Object.assign(Object.create(null) as object, { key: 'a' }), KeyDto)).toBeNull();
    expect(new FlatDtoTransform({ enableImplicitConversion: true }).toInstance({ key: 'a' }, KeyDto)).toBeNull();
    expect(new FlatDtoTransform({ excludeExtraneousValues: true }).toInstance({ key: 'a' }, KeyDto)).toBeNull();
    expect(new FlatDtoTransform(null).toInstance({ key: 'a' }, KeyDto)).toBeNull();
  });
});

describe('stepValidationPipe on flat requests', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answers every payload, and leaves the value, exactly as ValidationPipe does', async () => {
    const reference = new ValidationPipe({
      ...stepValidationPipe['validatorOptions'],
      transform: true,
      transformOptions: stepValidationPipe['transformOptions'],
      exceptionFactory: stepValidationPipe['exceptionFactory'],
    });
    for (const metatype of [KeyDto, ShapedDto, TypedDto, TransformedDto, ExposedDto, ExcludedDto]) {
      for (const text of payloads(150, 29)) {
        expect(await outcome(stepValidationPipe, text, metatype), `${metatype.name} ${text}`).toEqual(
          await outcome(reference, text, metatype),
        );
      }
    }
  });

  it("skips ValidationPipe's own transform for a flat valid request, and uses it for anything else", async () => {
    const full = vi.spyOn(ValidationPipe.prototype, 'transform');
    const dto = await stepValidationPipe.transform({ key: 'k', block_index: 2, token: 't' }, { type: 'body', metatype: KeyDto });
    expect(dto).toEqual(Object.assign(new KeyDto(), { key: 'k', block_index: 2, token: 't' }));
    expect(full).not.toHaveBeenCalled();
    await expect(stepValidationPipe.transform({ key: 5 }, { type: 'body', metatype: KeyDto })).rejects.toThrow('key not a string');
    await stepValidationPipe.transform({ key: 'k', extra: { a: 1 } }, { type: 'body', metatype: KeyDto });
    await stepValidationPipe.transform('text', { type: 'custom', metatype: String });
    expect(full).toHaveBeenCalledTimes(3);
  });
});
