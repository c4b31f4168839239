import { TransformationType, type ClassTransformOptions } from 'class-transformer';
import type { MetadataStorage } from 'class-transformer/types/MetadataStorage.js';
import { createRequire } from 'node:module';

/**
 * class-transformer's own metadata (what @Type, @Transform, @Expose and @Exclude registered). The
 * package exports it only from this path; it is the instance its plainToInstance reads.
 */
const { defaultMetadataStorage: transformerMetadata } = createRequire(import.meta.url)('class-transformer/cjs/storage.js') as {
  defaultMetadataStorage: MetadataStorage;
};

/** A DTO class as ValidationPipe builds it: `new metatype()`, no arguments. */
type DtoClass = new () => object;

/** Keys whose verdict (has class-transformer metadata or not) a class remembers; past this, asked each time. */
const KEY_VERDICTS_PER_CLASS = 1024;

/** Keys ValidationPipe deletes from the value itself before transforming it (prototype pollution). */
const STRIPPED_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/** What is known of a DTO class: null when class-transformer would do more than copy its properties. */
interface ClassPlan {
  prototype: object;
  /** Per payload key: true when class-transformer has a @Type or @Transform for it (then it is not copied as is). */
  keyHasMetadata: Map<string, boolean>;
}

/**
 * class-transformer's plainToInstance for the one case STEP requests are: a flat JSON object
 * (strings, numbers, booleans, nulls) into a DTO class without class-transformer decorators,
 * without implicit conversion. There it does no more than `new Dto()` and a copy of each key
 * (skipping keys the class has as methods or read-only accessors), which is what this does,
 * without its per-call metadata scans and allocations. Anything else (a nested value, a key
 * ValidationPipe strips, a decorated class or property, other options) is not attempted: the
 * caller gets null and runs the real thing.
 */
export class FlatDtoTransform {
  private readonly plans = new Map<DtoClass, ClassPlan | null>();
  private readonly enabled: boolean;

  /** @param options the pipe's transform options; null when it does not transform at all */
  constructor(options: ClassTransformOptions | undefined | null) {
    // Every option but a disabled implicit conversion changes what plainToInstance builds.
    this.enabled =
      options !== null &&
      Object.entries(options ?? {}).every(([key, value]) => value === undefined || (key === 'enableImplicitConversion' && !value));
  }

  /** The DTO instance plainToInstance would build from `value`, or null when this is not that simple case. */
  toInstance(value: unknown, metatype: DtoClass): object | null {
    if (!this.enabled || value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return null;
    let plan = this.plans.get(metatype);
    if (plan === undefined) {
      plan = planFor(metatype);
      this.plans.set(metatype, plan);
    }
    if (plan === null) return null;
    const source = value as Record<string, unknown>;
    const keys = Object.keys(source);
    for (const key of keys) {
      const item = source[key];
      if (item !== null && typeof item === 'object') return null;
      if (typeof item === 'function' || STRIPPED_KEYS.has(key) || hasMetadata(metatype, plan, key)) return null;
    }
    const instance = new metatype() as Record<string, unknown>;
    for (const key of keys) {
      // class-transformer's rule: a key the class has as a method, or as an accessor without a
      // setter, is not copied onto the instance.
      const descriptor = Object.getOwnPropertyDescriptor(plan.prototype, key);
      if ((descriptor && !descriptor.set) || instance[key] instanceof Function) continue;
      instance[key] = source[key];
    }
    return instance;
  }
}

function planFor(metatype: DtoClass): ClassPlan | null {
  const decorated =
    transformerMetadata.getStrategy(metatype) !== 'none' ||
    transformerMetadata.getExposedMetadatas(metatype).length > 0 ||
    transformerMetadata.getExcludedMetadatas(metatype).length > 0;
  return decorated ? null : { prototype: metatype.prototype as object, keyHasMetadata: new Map() };
}

function hasMetadata(metatype: DtoClass, plan: ClassPlan, key: string): boolean {
  const known = plan.keyHasMetadata.get(key);
  if (known !== undefined) return known;
  const found =
    transformerMetadata.findTypeMetadata(metatype, key) !== undefined ||
    transformerMetadata.findTransformMetadatas(metatype, key, TransformationType.PLAIN_TO_CLASS).length > 0;
  if (plan.keyHasMetadata.size < KEY_VERDICTS_PER_CLASS) plan.keyHasMetadata.set(key, found);
  return found;
}
